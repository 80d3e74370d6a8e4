/**
 * The calibration target (src/loadtest/hello-server.ts) as calibrate()
 * starts it, in a process of its own: it prints its URL once listening,
 * answers every request with the same small JSON body on kept-alive
 * connections, and exits cleanly when its parent closes stdin or sends
 * SIGTERM, even with a connection still open.
 */
import http from "node:http";
import { describe, expect, it } from "vitest";
import { spawnTs } from "../helpers/process.js";

function get(url: string, agent: http.Agent, method = "GET", body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("hello-server", { timeout: 60_000 }, () => {
  it.each(["stdin closed", "SIGTERM"] as const)("serves hello-world on loopback until %s", async (how) => {
    const server = spawnTs("src/loadtest/hello-server.ts", [], {});
    const url = (await server.waitFor(/^URL (http:\/\/127\.0\.0\.1:\d+)$/m))[1]!;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(`${url}/anything?x=1`, agent);
      const second = await get(`${url}/`, agent, "POST", JSON.stringify({ ignored: true }));
      for (const r of [first, second]) {
        expect(r.status).toBe(200);
        expect(r.headers["content-type"]).toBe("application/json");
        expect(JSON.parse(r.body)).toEqual({ hello: "world" });
        expect(Number(r.headers["content-length"])).toBe(Buffer.byteLength(r.body));
      }
      // One socket for both: the connection is kept alive, and stays open while it stops.
      expect(first.headers.connection).toBe("keep-alive");
      if (how === "SIGTERM") server.child.kill("SIGTERM");
      else server.child.stdin!.end();
      expect(await server.exit).toEqual({ code: 0, signal: null });
    } finally {
      agent.destroy();
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
    }
  });
});
