/**
 * Requests in flight, so closing the app waits for their work before the
 * runtime (database, kv, hasher) goes away.
 *
 * Node's `server.close()` waits for open connections, not for handlers: a
 * client that disconnects while its login waits for argon2 leaves a handler
 * running with no connection, and without this the runtime could be closed
 * under it (a failed query, an error logged, a session row written for no
 * one). A request counts from its first `onRequest` hook until its response
 * finished, or — when the client has gone — until Fastify produced the
 * response anyway (`onSend`: the handler and its hooks are done). The wait is
 * bounded by `timeoutMs` from the start of close(), the same budget
 * `rampart serve` gives a graceful shutdown.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";

const kTracked = Symbol("rampart.inflight");

type Tracked = FastifyRequest & { [kTracked]?: { produced: boolean; left: boolean } };

/**
 * Registers the counting hooks on `app`. Call before any encapsulated plugin
 * is registered (child contexts inherit only the hooks that exist when they
 * are created), then call the returned `drainOnClose` after the last plugin:
 * onClose hooks run last-registered first, so the drain precedes every other
 * one (identity, rate limiter...).
 */
export function trackInflight(app: FastifyInstance, timeoutMs: number): { drainOnClose(): void } {
  let active = 0;
  let waiters: (() => void)[] = [];
  let closeStartedAt = 0;

  const leave = (request: Tracked) => {
    const s = request[kTracked];
    if (!s || s.left) return;
    s.left = true;
    active--;
    if (active === 0) {
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    }
  };

  app.addHook("onRequest", (request: Tracked, reply, done) => {
    const state = { produced: false, left: false };
    request[kTracked] = state;
    active++;
    // "close" follows "finish" on a response that completed, and comes alone when the client left
    // first: then the request still runs until Fastify produces its response (onSend below).
    reply.raw.once("close", () => {
      if (state.produced) leave(request);
    });
    done();
  });
  app.addHook("onSend", (request: Tracked, reply, payload, done) => {
    const state = request[kTracked];
    if (state) {
      state.produced = true;
      if (reply.raw.destroyed) leave(request);
    }
    done(null, payload);
  });
  app.addHook("preClose", (done) => {
    closeStartedAt = performance.now();
    done();
  });

  return {
    drainOnClose() {
      app.addHook("onClose", async () => {
        if (active === 0) return;
        const left = Math.max(0, timeoutMs - (performance.now() - closeStartedAt));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => waiters.push(resolve)),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, left);
          }),
        ]);
        clearTimeout(timer);
        if (active > 0) app.log.warn({ active }, "closing with requests still running (shutdown timeout)");
      });
    },
  };
}
