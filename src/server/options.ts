/**
 * Options of the `rampart` plugin (src/server/rampart.ts): where the runtime
 * comes from, which route groups are mounted, and the settings of the
 * built-in plugins. Every key is optional; the defaults suit an app that
 * embeds Rampart for its identity and protections only.
 */
import type { IdentityOptions } from "../auth/identity.js";
import type { Config } from "../config/index.js";
import type { KekProviderDefinition } from "../crypto/kek/providers.js";
import type { BlobStore } from "../files/index.js";
import type { Runtime } from "../runtime/index.js";
import type { SecretsProviderDefinition } from "../secrets/schemes.js";
import type { AppErrorSpec } from "../errors/registry.js";
import type { AppEventSpec } from "../events/registry.js";
import type { AppMigrations } from "../db/migrate.js";
import type { AppQuotaOptions } from "../quotas/meters.js";
import type { AppRateLimitOptions } from "../ratelimit/setup.js";

/**
 * Route groups, one switch each. Health probes (`/health/live`, `/health/ready`)
 * are always mounted; everything else only when its switch is on.
 */
export interface RampartRoutes {
  /** `/v1/auth/*` (register, login, refresh, sessions, password, email, MFA), `GET|PATCH /v1/me`, `/.well-known/jwks.json`. Default on. */
  identity?: boolean;
  /** `/v1/admin/users/*` (list, unlock, disable, roles, sessions). Default off. */
  admin?: boolean;
  /** `/v1/api-keys` (create, list, revoke the caller's API keys). Default off. */
  apiKeys?: boolean;
  /** `/v1/me/export`, `DELETE /v1/me`, `/v1/me/consents`, `/v1/admin/users/:id/export`, `DELETE /v1/admin/users/:id`. Default off. */
  gdpr?: boolean;
  /** `/v1/files` (upload, list, download, delete). Default off. */
  files?: boolean;
  /** Inbound webhook endpoints (`/v1/webhooks/:name`) and `/v1/admin/webhooks`. Default off. */
  webhooks?: boolean;
  /** `/v1/admin/audit` and `/v1/admin/audit/verify`. Default off. */
  audit?: boolean;
  /** `/v1/me/usage`, `/v1/admin/usage`, `PUT /v1/admin/users/:id/plan`. Default off (quotas are still counted and enforced). */
  quotas?: boolean;
  /** `/openapi.json`; `/docs` too unless `{ ui: false }` (the UI needs the optional peer `@fastify/swagger-ui`). Default off. */
  openapi?: boolean | { ui?: boolean };
  /** `GET /metrics` (bearer token; not mounted when METRICS_PORT is set). Default off (metrics are still collected). */
  metrics?: boolean;
  /** The web console at `/console` (built by `npm run build`; it calls the identity, API-key, GDPR, quota, audit, webhook and admin groups). Default off. */
  console?: boolean;
}

/** The route groups of an app that mounts none beyond identity. */
export const DEFAULT_ROUTES: Readonly<Required<RampartRoutes>> = Object.freeze({
  identity: true,
  admin: false,
  apiKeys: false,
  gdpr: false,
  files: false,
  webhooks: false,
  audit: false,
  quotas: false,
  openapi: false,
  metrics: false,
  console: false,
});

/** Every route group on: the standalone server (`rampart serve`, `buildApp`). */
export const ALL_ROUTES: Readonly<Required<RampartRoutes>> = Object.freeze({
  identity: true,
  admin: true,
  apiKeys: true,
  gdpr: true,
  files: true,
  webhooks: true,
  audit: true,
  quotas: true,
  openapi: true,
  metrics: true,
  console: true,
});

export interface RampartOptions {
  /**
   * A runtime the app built (`createRuntime`). The app keeps ownership: the
   * plugin never closes it. Without it the plugin builds one from `config`
   * (else `loadConfig(process.env)`) and closes it when the app closes.
   */
  runtime?: Runtime;
  /** The configuration of the runtime the plugin builds (ignored with `runtime`). */
  config?: Config;
  /** Route groups to mount (see `RampartRoutes`; unlisted groups take their default). */
  routes?: RampartRoutes;
  /** Identity options (e.g. the password hasher's settings). */
  identity?: IdentityOptions;
  /** The upload blob store (else one on RAMPART_FILES_DIR). */
  blobStore?: BlobStore;
  /** `false`: no rate limiting at all (the app registers `rateLimitPlugin` itself). */
  rateLimiting?: false;
  /**
   * The app's own KEK providers, registered next to the built-ins (`local`,
   * `pkcs11`, `aws-kms`, `vault-transit`) in the runtime the plugin builds;
   * RAMPART_KMS may then name one. An app that passes `runtime` gives them to
   * `createRuntime` instead (refused here).
   */
  kekProviders?: readonly KekProviderDefinition[];
  /** The app's own secrets provider schemes (`myvault:` in RAMPART_SECRETS), for the runtime the plugin builds. */
  secretsProviders?: readonly SecretsProviderDefinition[];
  /** The app's own permissions (`resource:action`), next to the built-in ones; `guard()` refuses at start any other name. */
  permissions?: readonly string[];
  /** New roles, and app permissions granted to the built-in `user` and `admin` roles (`admin` holds every permission anyway). */
  roles?: Readonly<Record<string, readonly string[]>>;
  /** The app's security events (`"payment.refunded": { audited: true }`), added to the runtime's catalogue. */
  events?: Readonly<Record<string, AppEventSpec>>;
  /** The app's error codes (`NOTE_LOCKED: { status: 409, message: "..." }`), added to the app's error catalogue. */
  errors?: Readonly<Record<string, AppErrorSpec>>;
  /** The app's named rate-limit policies (`{ policies: [{ name: "notes", limit: 30, windowMs: 60_000 }] }`), next to the built-ins. */
  rateLimit?: AppRateLimitOptions;
  /** The app's quota meters (`{ meters: ["llm.tokens"] }`), consumed with `app.rampart.quotas.consume(principal, meter, n)`. */
  quotas?: AppQuotaOptions;
  /**
   * The app's Kysely migrations, run after Rampart's under the same lock when
   * the plugin builds the runtime. With `runtime`, pass them to
   * `createRuntime(config, { migrations })` instead (refused here).
   */
  migrations?: AppMigrations;
}

/** The route groups `routes` selects, defaults filled in. */
export function resolveRoutes(routes: RampartRoutes | undefined): Required<RampartRoutes> {
  const resolved = { ...DEFAULT_ROUTES };
  for (const [key, value] of Object.entries(routes ?? {})) {
    if (!(key in DEFAULT_ROUTES)) throw new TypeError(`rampart: unknown route group '${key}' in options.routes; known: ${Object.keys(DEFAULT_ROUTES).join(", ")}`);
    if (value === undefined) continue;
    const ok = typeof value === "boolean" || (key === "openapi" && typeof value === "object" && value !== null);
    if (!ok) throw new TypeError(`rampart: options.routes.${key} must be a boolean, instead got '${String(value)}'`);
    (resolved as Record<string, unknown>)[key] = value;
  }
  return resolved;
}
