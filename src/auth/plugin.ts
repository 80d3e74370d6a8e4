/**
 * Fastify glue of identity: builds the Identity on the runtime, resolves the
 * bearer credential of every request that sends one (before rate limiting,
 * so limits can key on the principal) and offers `guard(...permissions)` for
 * routes. The identity routes and the JWKS are registered by the app after
 * rate limiting (src/server/app.ts).
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { RampartError } from "../errors/index.js";
import type { Runtime } from "../runtime/index.js";
import { authenticate } from "./authenticate.js";
import { ensureBootstrapAdmin } from "./flows/bootstrap.js";
import { createIdentity, type Identity, type IdentityOptions } from "./identity.js";
import type { Permission } from "./permissions.js";
import type { Principal } from "./principal.js";

declare module "fastify" {
  interface FastifyInstance {
    identity: Identity;
  }
  interface FastifyRequest {
    principal: Principal | null;
    authError: unknown;
  }
}

export interface AuthPluginOptions {
  runtime: Runtime;
  identity?: IdentityOptions;
}

/** The request's principal; throws the authentication failure (or 401) when there is none. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal) return request.principal;
  throw request.authError ?? new RampartError("UNAUTHENTICATED", { headers: { "www-authenticate": 'Bearer realm="rampart"' } });
}

/**
 * A preHandler that requires an authenticated principal holding every one of
 * `permissions`. A route lists the permission of each kind of data it returns
 * (an export of sessions, keys and files needs all three reads), so no route
 * hands a credential more than it could read directly.
 */
export function guard(...permissions: Permission[]): preHandlerAsyncHookHandler {
  return async (request) => {
    const principal = principalOf(request);
    if (permissions.some((p) => !principal.permissions.has(p))) throw new RampartError("FORBIDDEN");
  };
}

const plugin: FastifyPluginAsync<AuthPluginOptions> = async (app, opts) => {
  const identity = await createIdentity(opts.runtime, opts.identity);
  app.decorate("identity", identity);
  // Closing starts: logins still queued for a hash get 503 + Retry-After (another instance takes
  // them) while the ones computing finish; the app then waits for their requests (plugins/inflight.ts).
  app.addHook("preClose", (done) => {
    identity.stopHashing().catch((err: unknown) => app.log.error({ err }, "error stopping the password hasher"));
    done();
  });
  app.addHook("onClose", () => identity.close());
  await ensureBootstrapAdmin(identity);
  app.decorateRequest("principal", null);
  app.decorateRequest("authError", null);
  app.addHook("onRequest", async (request) => {
    const header = request.headers.authorization;
    if (header === undefined) return;
    try {
      const principal = await authenticate(identity, header);
      request.principal = principal;
      request.ctx.userId = principal.userId;
    } catch (err) {
      // Public routes ignore a bad credential; guarded routes throw it.
      request.authError = err;
    }
  });
};

export const authPlugin = fp(plugin, { name: "rampart-auth", fastify: "5.x", dependencies: ["rampart-request-context", "rampart-errors"] });
