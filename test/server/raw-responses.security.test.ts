/**
 * Threat: answers written outside the routed pipeline — a URL the router
 * cannot decode, a request line or header Node's parser refuses, headers over
 * the size limit, a request that times out — leave as the framework's bare
 * JSON: no security headers (a browser may frame or sniff them), no trace id
 * (an operator cannot find them), and the raw path echoed back (reflection of
 * attacker-chosen bytes). Every answer must be the error envelope with the
 * security headers of routed answers, `x-request-id` equal to the body's
 * traceId, and nothing of the request in it. Driven over raw sockets, since
 * HTTP clients (and app.inject) refuse to send most of these requests.
 */
import { connect } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { buildAppWith, productionSettings, type BuiltApp } from "../http/helpers.js";

// The headers every routed answer carries (helmet's set, and no-store on JSON).
const SECURITY_HEADERS = [
  "content-security-policy",
  "cross-origin-opener-policy",
  "cross-origin-resource-policy",
  "origin-agent-cluster",
  "referrer-policy",
  "x-content-type-options",
  "x-dns-prefetch-control",
  "x-download-options",
  "x-frame-options",
  "x-permitted-cross-domain-policies",
  "x-xss-protection",
  "cache-control",
];

// Attacker-chosen text in every request; it must never come back.
const MARK = "zq7xmark";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/** Writes bytes on a fresh connection and reads until the server closes it. */
function rawExchange(port: number, request: string | Buffer, onSocket?: (s: Socket) => void): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(request);
      onSocket?.(socket);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer within 10 s"));
    }, 10_000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    // A server that closes while request bytes are still unread resets the connection; the answer already arrived.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString("latin1");
      const split = raw.indexOf("\r\n\r\n");
      if (split === -1) return reject(new Error(`no HTTP answer: ${JSON.stringify(raw)}`));
      const [statusLine, ...lines] = raw.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        expect(headers[name], `header ${name} written twice`).toBeUndefined();
        headers[name] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: raw.slice(split + 4), raw });
    });
  });
}

function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`;
}

function portOf(app: FastifyInstance): number {
  return (app.server.address() as AddressInfo).port;
}

/** The envelope contract, the routed answer's security headers, and no echo of the request. */
function expectEnvelope(res: RawResponse, status: number, code: string, reference: Record<string, string>): void {
  expect(res.status, res.raw).toBe(status);
  expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(["code", "message", "success", "traceId"]);
  expect(body).toMatchObject({ success: false, code });
  expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(res.headers["x-request-id"]).toBe(body.traceId);
  for (const name of SECURITY_HEADERS) expect(res.headers[name], name).toBe(reference[name]);
  expect(res.raw).not.toContain(MARK);
  expect(Number(res.headers["content-length"])).toBe(Buffer.byteLength(res.body));
}

describe.each(testModes())("raw responses (%s)", (mode) => {
  let t: TestApp;
  let port: number;
  // The security headers of an ordinary routed answer, read over the same socket path.
  let reference: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp(mode);
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    port = portOf(t.app);
    reference = (await rawExchange(port, get("/health/live"))).headers;
    for (const name of SECURITY_HEADERS) expect(reference[name], name).toBeDefined();
  });
  afterAll(() => t.close());

  it("answers a malformed percent-encoding or an over-long segment in the path with the envelope, not the framework's echo", async () => {
    // The last one: a path parameter over the router's length limit (Fastify's bare 414 before).
    for (const path of [`/v1/files/${MARK}%ff`, `/v1/${MARK}%`, `/v1/files/${MARK}%ED%A0%80`, `/${MARK}%zz`, `/v1/files/${MARK}${"a".repeat(300)}`]) {
      const res = await rawExchange(port, get(path));
      expectEnvelope(res, 400, "VALIDATION_FAILED", reference);
      expect(res.raw).not.toContain("FST_ERR");
    }
  });

  it("answers a malformed URL with problem+json when asked, without the path as instance", async () => {
    const res = await rawExchange(port, get(`/v1/files/${MARK}%ff`, "Accept: application/problem+json\r\n"));
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 400, code: "VALIDATION_FAILED", type: "urn:rampart:error:validation_failed" });
    expect(body.instance).toBeUndefined();
    expect(res.headers["x-request-id"]).toBe(body.traceId);
    for (const name of SECURITY_HEADERS) expect(res.headers[name], name).toBe(reference[name]);
    expect(res.raw).not.toContain(MARK);
  });

  it("answers a request line Node cannot parse (garbage, unknown method, bad version) with the envelope, then closes", async () => {
    for (const request of [`${MARK}\r\n\r\n`, `${MARK.toUpperCase()} /v1/me HTTP/1.1\r\nHost: localhost\r\n\r\n`, `GET /v1/me HTTP/9.${MARK}\r\nHost: localhost\r\n\r\n`, `GET /v1/me HTTP/1.1\r\nBad Header ${MARK}\r\n\r\n`]) {
      const res = await rawExchange(port, request);
      expectEnvelope(res, 400, "VALIDATION_FAILED", reference);
      expect(res.headers.connection).toBe("close");
    }
  });

  it("answers headers over Node's 16 KiB limit with 431 HEADERS_TOO_LARGE", async () => {
    const res = await rawExchange(port, get("/v1/me", `X-Filler: ${MARK}${"a".repeat(20 * 1024)}\r\n`));
    expectEnvelope(res, 431, "HEADERS_TOO_LARGE", reference);
    expect(res.headers.connection).toBe("close");
  });

  it("answers a request timeout from Node's HTTP layer with 408 REQUEST_TIMEOUT on that connection", async () => {
    // Node reports headers/request timeouts through the server's clientError event (checked every
    // 30 s by default); raise it on the server side of a real connection stuck mid-headers.
    const accepted = new Promise<Socket>((resolve) => t.app.server.once("connection", resolve));
    const res = await rawExchange(port, `GET /v1/me HTTP/1.1\r\nX-Partial: ${MARK}`, () => {
      void accepted.then((serverSide) => t.app.server.emit("clientError", Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" }), serverSide));
    });
    expectEnvelope(res, 408, "REQUEST_TIMEOUT", reference);
  });

  it("answers bad JSON and an unsupported content type with the envelope, not echoing the body", async () => {
    const json = `{"email": "${MARK}`;
    const bad = await rawExchange(port, `POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`);
    expectEnvelope(bad, 400, "VALIDATION_FAILED", reference);
    const xml = `<a>${MARK}</a>`;
    const unsupported = await rawExchange(port, `POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/xml\r\nContent-Length: ${xml.length}\r\nConnection: close\r\n\r\n${xml}`);
    expectEnvelope(unsupported, 415, "UNSUPPORTED_MEDIA_TYPE", reference);
  });

  it("answers methods no route serves (PROPFIND, TRACE) with the 404 envelope", async () => {
    for (const method of ["PROPFIND", "TRACE", "DELETE"]) {
      const res = await rawExchange(port, `${method} /v1/${MARK} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      expectEnvelope(res, 404, "NOT_FOUND", reference);
    }
  });
});

describe.each(testModes())("raw responses while closing (%s)", (mode) => {
  it("refuse a request that arrives during shutdown with the 503 envelope and the security headers", async () => {
    const t = await createTestApp(mode);
    try {
      await t.app.listen({ port: 0, host: "127.0.0.1" });
      const port = portOf(t.app);
      const reference = (await rawExchange(port, get("/health/live"))).headers;
      // A connection in the middle of its headers is not idle, so the shutdown leaves it open.
      let finish!: () => void;
      const started = new Promise<void>((resolve) => (finish = resolve));
      const accepted = new Promise<Socket>((resolve) => t.app.server.once("connection", resolve));
      const answer = rawExchange(port, `GET /v1/${MARK} HTTP/1.1\r\nHost: localhost\r\n`, (socket) => {
        void started.then(() => socket.write("Connection: keep-alive\r\n\r\n"));
      });
      // The server has read (and so parsed) the first half before the shutdown starts.
      const serverSide = await accepted;
      while (serverSide.bytesRead === 0) await new Promise((r) => setTimeout(r, 5));
      const closing = t.app.close();
      while (t.app.server.listening) await new Promise((r) => setTimeout(r, 5));
      finish();
      const res = await answer;
      expectEnvelope(res, 503, "SERVICE_UNAVAILABLE", reference);
      expect(res.headers.connection).toBe("close");
      await closing;
    } finally {
      await t.close();
    }
  });
});

describe.each(testModes())("raw responses in production (%s)", (mode) => {
  let built: BuiltApp;
  beforeAll(async () => {
    built = await buildAppWith(mode, productionSettings());
    await built.app.listen({ port: 0, host: "127.0.0.1" });
  });
  afterAll(() => built.close());

  it("carry HSTS like every routed answer", async () => {
    const port = portOf(built.app);
    const reference = (await rawExchange(port, get("/health/live"))).headers;
    expect(reference["strict-transport-security"]).toMatch(/^max-age=\d+/);
    for (const request of [get(`/v1/files/${MARK}%ff`), `${MARK}\r\n\r\n`]) {
      const res = await rawExchange(port, request);
      expectEnvelope(res, 400, "VALIDATION_FAILED", reference);
      expect(res.headers["strict-transport-security"]).toBe(reference["strict-transport-security"]);
    }
  });
});
