/**
 * The standalone application: a Fastify instance built with
 * `rampartServerOptions` and the `rampart` plugin with every route group on.
 * `rampart serve` and the tests use it; a host app registers the plugin on
 * its own instance instead (docs/embedding.md).
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Runtime } from "../runtime/index.js";
import { ALL_ROUTES, type RampartOptions } from "./options.js";
import { rampart } from "./rampart.js";
import { rampartServerOptions } from "./server-options.js";

export type RampartApp = FastifyInstance;

export interface BuildAppOptions extends Omit<RampartOptions, "runtime" | "config"> {
  /** Extra routes or plugins, registered after the built-in ones (tests, host apps). */
  configure?: (app: FastifyInstance) => unknown;
}

/** The app for a runtime the caller owns (the app never closes it). Route groups default to all on. */
export async function buildApp(runtime: Runtime, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { configure, routes, ...rest } = options;
  const app = Fastify(rampartServerOptions(runtime)).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(rampart, { ...rest, runtime, routes: { ...ALL_ROUTES, ...routes } });
  if (configure) await configure(app);
  return app;
}
