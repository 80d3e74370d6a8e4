/**
 * Scripted failures for the local HTTP stand-ins of upstreams (a flaky API,
 * the Vault fakes): let a request through, answer it with an error status,
 * reset its connection, or hang until released. Counts the requests that
 * reached the server and the hanging ones the client gave up on, so a test
 * can tell a call refused by a circuit breaker from one that was made.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export type Fault = "ok" | "hang" | "reset" | number;

export class Faults {
  /** What to do when the plan is empty. */
  mode: Fault = "ok";
  /** Faults for the next requests, in order. */
  readonly plan: Fault[] = [];
  /** Requests that reached the server. */
  hits = 0;
  /** Hanging requests whose client closed the connection. */
  abandoned = 0;
  private readonly hanging = new Set<ServerResponse>();

  /** Counts the request and applies the next fault; true when the fault handled it (the server must not answer). */
  intercept(req: IncomingMessage, res: ServerResponse): boolean {
    this.hits++;
    const fault = this.plan.shift() ?? this.mode;
    if (fault === "ok") return false;
    if (fault === "reset") {
      req.socket.destroy();
    } else if (fault === "hang") {
      this.hanging.add(res);
      res.on("close", () => {
        if (this.hanging.delete(res)) this.abandoned++;
      });
    } else {
      res.writeHead(fault, { "content-type": "application/json" }).end(JSON.stringify({ errors: [`injected HTTP ${fault}`] }));
    }
    return true;
  }

  /** Answers every hanging request with 200. */
  release(): void {
    for (const res of [...this.hanging]) {
      this.hanging.delete(res);
      res.end(JSON.stringify({ released: true }));
    }
  }

  /** Back to letting everything through, counters at zero. */
  reset(): void {
    this.release();
    this.mode = "ok";
    this.plan.length = 0;
    this.hits = 0;
    this.abandoned = 0;
  }

  /** Waits (up to 2 s) until `n` hanging requests were abandoned by their client. */
  async abandonedAtLeast(n: number): Promise<number> {
    for (let i = 0; i < 100 && this.abandoned < n; i++) await new Promise((r) => setTimeout(r, 20));
    return this.abandoned;
  }
}
