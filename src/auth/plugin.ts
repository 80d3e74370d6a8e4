/**
 * Fastify glue of identity: builds the Identity on the runtime, resolves the
 * bearer credential of every request that sends one (before rate limiting,
 * so limits can key on the principal) and offers `guard(...permissions)` for
 * routes. The identity routes and the JWKS are registered by the app after
 * rate limiting (src/server/app.ts).
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync, FastifyRequest, preHandlerHookHandler, RouteOptions } from "fastify";
import { RampartError } from "../errors/index.js";
import type { Runtime } from "../runtime/index.js";
import { authenticate } from "./authenticate.js";
import { ensureBootstrapAdmin } from "./flows/bootstrap.js";
import { createIdentity, type Identity, type IdentityOptions } from "./identity.js";
import { PermissionConfigError, type Permission } from "./permissions.js";
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
  throw principalError(request);
}

/** Why a request has no principal: its credential's error, or the 401 asking for one. */
function principalError(request: FastifyRequest): unknown {
  return request.authError ?? new RampartError("UNAUTHENTICATED", { headers: { "www-authenticate": 'Bearer realm="rampart"' } });
}

/** Where a guard keeps the permissions it requires, for the start-up check of the routes using it. */
const REQUIRES = Symbol("rampart.guard.requires");

/** A route hook made by `guard()`, carrying the permissions it requires. */
export type GuardHook = preHandlerHookHandler & { readonly [REQUIRES]: readonly string[] };

/**
 * A preHandler that requires an authenticated principal holding every one of
 * `permissions` (none: authenticated only). A route lists the permission of
 * each kind of data it returns (an export of sessions, keys and files needs
 * all three reads), so no route hands a credential more than it could read
 * directly. Typed over the built-in permissions and the app's `AppPermissions`;
 * a name the identity's registry does not know fails the app's start.
 */
export function guard(...permissions: Permission[]): GuardHook {
  const required = Object.freeze([...permissions]);
  // A callback hook: it decides synchronously, and runs on every guarded request.
  const hook: preHandlerHookHandler = (request, _reply, done) => {
    const principal = request.principal;
    if (!principal) return done(principalError(request) as Error);
    for (const p of required) if (!principal.permissions.has(p)) return done(new RampartError("FORBIDDEN"));
    done();
  };
  return Object.assign(hook, { [REQUIRES]: required });
}

/**
 * The permissions required by the guards among a route's hooks, each once:
 * an empty list when its guards require authentication only, undefined when
 * no guard protects it (the OpenAPI document reads this too).
 */
export function guardedPermissions(route: Pick<RouteOptions, "onRequest" | "preParsing" | "preValidation" | "preHandler">): string[] | undefined {
  let out: Set<string> | undefined;
  for (const hooks of [route.onRequest, route.preParsing, route.preValidation, route.preHandler]) {
    for (const h of Array.isArray(hooks) ? hooks : hooks ? [hooks] : []) {
      const required = (h as Partial<GuardHook>)[REQUIRES];
      if (!required) continue;
      out ??= new Set();
      for (const p of required) out.add(p);
    }
  }
  return out && [...out];
}

const plugin: FastifyPluginAsync<AuthPluginOptions> = async (app, opts) => {
  const identity = await createIdentity(opts.runtime, opts.identity);
  app.decorate("identity", identity);
  // A guard is built before the registry is known (at the route's declaration): its names are
  // checked against the registry as each route is added, and the start fails naming the unknown ones.
  const unknown: string[] = [];
  app.addHook("onRoute", (route) => {
    for (const p of guardedPermissions(route) ?? []) if (!identity.permissions.has(p)) unknown.push(`'${p}' (${String(route.method)} ${route.url})`);
  });
  app.addHook("onReady", async () => {
    if (unknown.length > 0) throw new PermissionConfigError(`guard: unknown permission ${unknown.join(", ")}; declare it in the \`permissions\` option`);
  });
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
  // A callback hook: a request without a credential (most public traffic) makes no promise.
  app.addHook("onRequest", (request, _reply, done) => {
    const header = request.headers.authorization;
    if (header === undefined) return done();
    authenticate(identity, header).then(
      (principal) => {
        request.principal = principal;
        request.ctx.userId = principal.userId;
        done();
      },
      (err: unknown) => {
        // Public routes ignore a bad credential; guarded routes throw it.
        request.authError = err;
        done();
      },
    );
  });
};

export const authPlugin = fp(plugin, { name: "rampart-auth", fastify: "5.x", dependencies: ["rampart-request-context", "rampart-errors"] });
