/**
 * The `vault:<mount>/<path>` provider: HashiCorp Vault's KV version 2 engine
 * over its HTTP API. One KV path holds many secrets, one per key of its data
 * (`vault:secret/rampart` → `GET /v1/secret/data/rampart`, secret `jwt-signing`
 * is `data.data["jwt-signing"]`). KV v2 versions the whole path: the version
 * reported is the path's, and the previous value of a secret is found by
 * walking back through the path's versions listed in its metadata.
 *
 * Calls (the AppRole login or renewal included) run through the
 * `secrets.vault` upstream (../upstream.ts): network errors, 5xx and 429 are
 * transient, Vault's 4xx answers are not.
 */
import type { Upstream } from "../../resilience/index.js";
import { ProviderError } from "../errors.js";
import { isSecretName } from "../names.js";
import type { SecretListing, SecretProvider, SecretValue } from "../provider.js";
import { providerUpstream, SECRETS_VAULT_UPSTREAM } from "../upstream.js";
import type { VaultAuth } from "./vault-auth.js";
import { pick, vaultRequest, vaultStatusError, type VaultEndpoint, type VaultResponse } from "./vault-http.js";

/** How many older versions getPrevious looks through for a value that differs from the current one. */
const MAX_PREVIOUS_VERSIONS = 5;

interface KvRead {
  data: Record<string, unknown>;
  version: number | undefined;
  updatedAt: number | undefined;
}

export class VaultKvProvider implements SecretProvider {
  readonly id: string;
  readonly upstream: Upstream;
  /** Concurrent loads of different names share one read of the path. */
  private inflight: Promise<KvRead | undefined> | undefined;

  /** @param upstream the chain's `secrets.vault`; default a private one with the default settings. */
  constructor(
    private readonly endpoint: VaultEndpoint,
    private readonly auth: VaultAuth,
    private readonly mount: string,
    private readonly path: string,
    upstream?: Upstream,
  ) {
    this.id = `vault:${mount}/${path}`;
    this.upstream = providerUpstream(SECRETS_VAULT_UPSTREAM, upstream);
  }

  locate(name: string): string {
    return `${this.id} (key "${name}")`;
  }

  /** A request with the current token; on 403 logs in once more and retries (revoked or expired token). */
  private async authed(method: "GET", path: string, signal: AbortSignal): Promise<VaultResponse> {
    let res = await vaultRequest(this.endpoint, { method, path, token: await this.auth.token(signal), signal });
    if (res.status === 403 && (await this.auth.reauthenticate(signal))) {
      res = await vaultRequest(this.endpoint, { method, path, token: await this.auth.token(signal), signal });
    }
    if (res.status === 403) throw new ProviderError(`Vault denied ${method} /v1/${path.split("?")[0] ?? ""} (HTTP 403): check the token's policy and expiry`);
    return res;
  }

  private async read(signal: AbortSignal, version?: number): Promise<KvRead | undefined> {
    const path = `${this.mount}/data/${this.path}${version === undefined ? "" : `?version=${version}`}`;
    const res = await this.authed("GET", path, signal);
    // 404: no such path, or the version was deleted / destroyed.
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw vaultStatusError(`GET /v1/${this.mount}/data/${this.path} failed with HTTP ${res.status}`, res.status);
    const data = pick(res.body, "data", "data");
    if (data === null) return undefined;
    if (typeof data !== "object" || Array.isArray(data)) throw new ProviderError(`GET /v1/${this.mount}/data/${this.path} answered without a KV v2 data object (is ${this.mount} a KV version 2 mount?)`);
    const v = pick(res.body, "data", "metadata", "version");
    const created = pick(res.body, "data", "metadata", "created_time");
    const updatedAt = typeof created === "string" ? Date.parse(created) : NaN;
    return { data: data as Record<string, unknown>, version: typeof v === "number" ? v : undefined, updatedAt: Number.isNaN(updatedAt) ? undefined : updatedAt };
  }

  private readCurrent(signal: AbortSignal): Promise<KvRead | undefined> {
    this.inflight ??= this.read(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private valueOf(read: KvRead | undefined, name: string): SecretValue | undefined {
    if (read === undefined) return undefined;
    const value = read.data[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") {
      const kind = Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`;
      throw new ProviderError(`key "${name}" at ${this.id} is ${kind}, not a string`);
    }
    return { value, ...(read.version !== undefined ? { version: String(read.version) } : {}), ...(read.updatedAt !== undefined ? { updatedAt: read.updatedAt } : {}) };
  }

  async load(name: string, signal: AbortSignal): Promise<SecretValue | undefined> {
    return this.valueOf(await this.readCurrent(signal), name);
  }

  /** The most recent older version (not deleted or destroyed) whose value of `name` differs from the current one. */
  async loadPrevious(name: string, signal: AbortSignal): Promise<SecretValue | undefined> {
    const res = await this.authed("GET", `${this.mount}/metadata/${this.path}`, signal);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw vaultStatusError(`GET /v1/${this.mount}/metadata/${this.path} failed with HTTP ${res.status}`, res.status);
    const current = pick(res.body, "data", "current_version");
    const versions = pick(res.body, "data", "versions");
    if (typeof current !== "number" || versions === null || typeof versions !== "object") return undefined;
    const currentValue = this.valueOf(await this.readCurrent(signal), name)?.value;
    const candidates = Object.entries(versions as Record<string, unknown>)
      .map(([v, meta]) => ({ v: Number(v), meta }))
      .filter(({ v, meta }) => Number.isSafeInteger(v) && v < current && pick(meta, "destroyed") !== true && !pick(meta, "deletion_time"))
      .sort((a, b) => b.v - a.v)
      .slice(0, MAX_PREVIOUS_VERSIONS);
    for (const { v } of candidates) {
      const older = this.valueOf(await this.read(signal, v), name);
      if (older !== undefined && older.value !== currentValue) return older;
    }
    return undefined;
  }

  async list(signal: AbortSignal): Promise<SecretListing[]> {
    const read = await this.readCurrent(signal);
    if (read === undefined) return [];
    return Object.entries(read.data)
      .filter(([key, value]) => isSecretName(key) && typeof value === "string" && value !== "")
      .map(([name]) => ({
        name,
        ...(read.version !== undefined ? { version: String(read.version) } : {}),
        ...(read.updatedAt !== undefined ? { updatedAt: read.updatedAt } : {}),
      }));
  }
}
