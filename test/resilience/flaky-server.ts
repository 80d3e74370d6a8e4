/**
 * A real local HTTP upstream whose behaviour the test scripts (../helpers/faults.ts):
 * answer, fail with a status, reset the connection, or hang until released.
 * It counts the requests that reached it and the hanging ones the client gave up on.
 */
import { createServer, type Server } from "node:http";
import { Faults } from "../helpers/faults.js";

export class FlakyServer extends Faults {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    super();
  }

  static async start(): Promise<FlakyServer> {
    const handlers: { handle?: Parameters<typeof createServer>[1] } = {};
    const server = createServer((req, res) => handlers.handle?.(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const self = new FlakyServer(server, `http://127.0.0.1:${port}/`);
    handlers.handle = (req, res) => {
      if (self.intercept(req, res)) return;
      res.end(JSON.stringify({ hit: self.hits }));
    };
    return self;
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
