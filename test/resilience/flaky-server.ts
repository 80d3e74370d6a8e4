/**
 * A real local HTTP upstream whose behaviour the test scripts: answer, fail
 * with a status, reset the connection, or hang until released. It counts the
 * requests that reached it and the hanging ones the client gave up on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export type Behaviour = "ok" | "hang" | "reset" | 404 | 500 | 503;

export class FlakyServer {
  /** What to do when the plan is empty. */
  mode: Behaviour = "ok";
  /** Behaviours for the next requests, in order. */
  readonly plan: Behaviour[] = [];
  hits = 0;
  /** Hanging requests whose client closed the connection. */
  abandoned = 0;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FlakyServer> {
    const handlers: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {};
    const server = createServer((req, res) => handlers.handle?.(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const self = new FlakyServer(server, `http://127.0.0.1:${port}/`);
    handlers.handle = (req, res) => self.handle(req, res);
    return self;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.hits++;
    const b = this.plan.shift() ?? this.mode;
    if (b === "reset") {
      req.socket.destroy();
    } else if (b === "hang") {
      this.hanging.add(res);
      res.on("close", () => {
        if (this.hanging.delete(res)) this.abandoned++;
      });
    } else {
      res.statusCode = b === "ok" ? 200 : b;
      res.end(JSON.stringify({ hit: this.hits }));
    }
  }

  /** Answers every hanging request with 200. */
  release(): void {
    for (const res of [...this.hanging]) {
      this.hanging.delete(res);
      res.end(JSON.stringify({ released: true }));
    }
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`upstream answered ${status}`);
  }
}

/** The outbound call under test: a GET with the attempt's signal; non-2xx throws. */
export function getText(url: string): (signal: AbortSignal) => Promise<string> {
  return async (signal) => {
    const res = await fetch(url, { signal });
    if (!res.ok) throw new HttpStatusError(res.status);
    return res.text();
  };
}
