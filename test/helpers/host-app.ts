/** A host app (a bare `Fastify()`) with the rampart plugin registered: for the tests of start-up refusals. */
import Fastify, { type FastifyInstance } from "fastify";
import { rampart } from "../../src/server/rampart.js";
import type { RampartOptions } from "../../src/server/options.js";

/**
 * Registers rampart with `options` on a fresh instance, lets `setup` add the
 * host's routes, and readies it; returns the error that stopped the start
 * (undefined when it started). The instance is always closed.
 */
export async function startupError(options: RampartOptions, setup?: (app: FastifyInstance) => void): Promise<Error | undefined> {
  const app = Fastify();
  try {
    await app.register(rampart, options);
    setup?.(app);
    await app.ready();
    return undefined;
  } catch (err) {
    return err as Error;
  } finally {
    await app.close();
  }
}
