/**
 * The `vault-transit` KEK provider over Vault's HTTP API (no client library:
 * four endpoints). The Transit key is created with `derived=true`, so Vault
 * derives a separate key per context; the context sent is the canonical key
 * context (purpose, subject). DEKs come from `datakey/plaintext`, rewraps use
 * `encrypt`, unwraps `decrypt`. The KEK version is Vault's key version (the
 * `vault:vN:` prefix); `rotate` is Vault's rotate, and `retire` raises
 * `min_decryption_version`, which Vault only allows for the oldest version.
 *
 * Every HTTP call goes through the `kms.vault-transit` upstream
 * (kek/upstream.ts; the attempt's AbortSignal goes to fetch). 5xx, 429 and
 * network errors are failures; Vault's 4xx answers (400 for a ciphertext that
 * does not authenticate, 403 for a bad token, 404 for a missing key) are not.
 */
import { traceHeaders } from "../../context/index.js";
import type { Logger } from "pino";
import { createUpstream, isTransientHttpStatus, type Upstream } from "../../resilience/index.js";
import { canonicalContext, type EncryptionContext } from "../context.js";
import { CryptoConfigError, DecryptionFailed, KekUnavailableError } from "../errors.js";
import type { GeneratedKey, KekProvider, KekRef, KekVersionInfo, WrappedKey } from "./types.js";
import { KMS_TIMEOUT_MS, KmsUnavailableError, kmsCallError, kmsUpstreamOptions } from "./upstream.js";

/** The upstream name of Vault Transit calls (metrics label, logs). */
export const VAULT_TRANSIT_UPSTREAM = "kms.vault-transit";

export interface VaultTransitKekOptions {
  addr: string;
  mount: string;
  key: string;
  /** The Vault token (secret `vault-token`), read on each call so a rotated token is picked up. */
  token: () => Promise<string>;
  log: Logger;
  /** The `kms.vault-transit` upstream (the runtime's registry has it); default a private one with the same settings. */
  upstream?: Upstream;
  /** Per-attempt deadline of the private upstream (default 5 s); the runtime's upstream has its own. */
  timeoutMs?: number;
}

interface KeyInfo {
  latest_version: number;
  min_decryption_version: number;
  derived: boolean;
  keys: Record<string, unknown>;
}

class VaultHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isFailure = (err: unknown): boolean => !(err instanceof VaultHttpError) || isTransientHttpStatus(err.status);

/** Settings of the `kms.vault-transit` upstream: Vault's 4xx answers are not failures. */
export function vaultTransitUpstreamOptions(timeoutMs = KMS_TIMEOUT_MS): ReturnType<typeof kmsUpstreamOptions> {
  return kmsUpstreamOptions(isFailure, timeoutMs);
}

/** Vault's `{ "errors": [...] }`, joined; empty when the body has none. */
function vaultErrors(text: string): string {
  try {
    return (JSON.parse(text) as { errors?: string[] }).errors?.join("; ") ?? "";
  } catch {
    return "";
  }
}

export class VaultTransitKek implements KekProvider {
  readonly name = "vault-transit" as const;
  private readonly keyId: string;
  private readonly upstream: Upstream;
  /** Checked (and created) once before the first wrap: the key exists and is derived. */
  private ready: Promise<unknown> | undefined;

  constructor(private readonly o: VaultTransitKekOptions) {
    this.keyId = `${o.mount}/${o.key}`;
    this.upstream = o.upstream ?? createUpstream(VAULT_TRANSIT_UPSTREAM, { ...vaultTransitUpstreamOptions(o.timeoutMs), log: o.log });
  }

  /**
   * One Transit call through the upstream. A non-2xx answer rejects with
   * VaultHttpError (callers read its status: 404 and 400 mean something);
   * no answer at all (network, timeout, open breaker) with KekUnavailableError.
   */
  private async call<T>(method: "GET" | "POST", path: string, body?: unknown, idempotent = true): Promise<T> {
    const url = `${this.o.addr.replace(/\/$/, "")}/v1/${this.o.mount}/${path}`;
    let text: string;
    try {
      // Read outside the attempt: the secrets service has its own deadline, cache and upstream.
      const headers = { "X-Vault-Token": await this.o.token(), ...(body === undefined ? {} : { "content-type": "application/json" }), ...traceHeaders() };
      text = await this.upstream.execute(async (signal) => {
        const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal });
        const answer = await res.text();
        if (!res.ok) throw new VaultHttpError(res.status, `Vault Transit ${path}: HTTP ${res.status} ${vaultErrors(answer)}`);
        return answer;
      }, { idempotent });
    } catch (err) {
      if (err instanceof VaultHttpError) throw err;
      throw kmsCallError(`Vault Transit ${path}`, err, isFailure, (e) => e.message);
    }
    return (text === "" ? {} : (JSON.parse(text) as { data?: T }).data) as T;
  }

  private async keyInfo(): Promise<KeyInfo> {
    try {
      return await this.call<KeyInfo>("GET", `keys/${this.o.key}`);
    } catch (err) {
      if (!(err instanceof VaultHttpError) || err.status !== 404) throw this.unavailable(err);
      await this.call("POST", `keys/${this.o.key}`, { type: "aes256-gcm96", derived: true }).catch((e: unknown) => {
        throw this.unavailable(e);
      });
      this.o.log.info({ kek: this.keyId }, "Vault Transit key created (derived)");
      return this.call<KeyInfo>("GET", `keys/${this.o.key}`).catch((e: unknown) => {
        throw this.unavailable(e);
      });
    }
  }

  /** A Vault answer that is not the expected one, as the provider contract's error: 503-mapped when Vault is failing (5xx, 429). */
  private unavailable(err: unknown): Error {
    if (!(err instanceof VaultHttpError)) return err as Error;
    return isFailure(err) ? new KmsUnavailableError(err.message, { cause: err }) : new KekUnavailableError(err.message, { cause: err });
  }

  private ref(version: number): KekRef {
    return { provider: "vault-transit", keyId: this.keyId, version };
  }

  private versionOf(ciphertext: string): number {
    const m = /^vault:v(\d+):/.exec(ciphertext);
    if (!m) throw new KekUnavailableError("Vault Transit returned a ciphertext without a version prefix");
    return Number(m[1]);
  }

  async current(): Promise<KekRef> {
    const info = await this.keyInfo();
    if (!info.derived) throw new CryptoConfigError(`VAULT_TRANSIT_KEY: the Transit key '${this.o.key}' must be created with derived=true, instead got derived=false`);
    return this.ref(info.latest_version);
  }

  private ensureKey(): Promise<unknown> {
    return (this.ready ??= this.current().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    }));
  }

  async generateDataKey(context: EncryptionContext): Promise<GeneratedKey> {
    await this.ensureKey();
    const data = await this.call<{ plaintext: string; ciphertext: string }>("POST", `datakey/plaintext/${this.o.key}`, {
      context: canonicalContext(context).toString("base64"),
      bits: 256,
    }).catch((e: unknown) => {
      throw this.unavailable(e);
    });
    return { ref: this.ref(this.versionOf(data.ciphertext)), dek: Buffer.from(data.plaintext, "base64"), wrapped: Buffer.from(data.ciphertext, "utf8") };
  }

  async wrap(dek: Buffer, context: EncryptionContext): Promise<WrappedKey> {
    await this.ensureKey();
    const data = await this.call<{ ciphertext: string }>("POST", `encrypt/${this.o.key}`, {
      plaintext: dek.toString("base64"),
      context: canonicalContext(context).toString("base64"),
    }).catch((e: unknown) => {
      throw this.unavailable(e);
    });
    return { ref: this.ref(this.versionOf(data.ciphertext)), wrapped: Buffer.from(data.ciphertext, "utf8") };
  }

  async unwrap(ref: KekRef, wrapped: Buffer, context: EncryptionContext): Promise<Buffer> {
    const ciphertext = wrapped.toString("utf8");
    if (ref.provider !== "vault-transit" || ref.keyId !== this.keyId || !ciphertext.startsWith(`vault:v${ref.version}:`)) throw new DecryptionFailed();
    let data: { plaintext: string };
    try {
      data = await this.call("POST", `decrypt/${this.o.key}`, { ciphertext, context: canonicalContext(context).toString("base64") });
    } catch (err) {
      // Vault answers 400 for a ciphertext that does not authenticate under that context or version.
      if (err instanceof VaultHttpError && err.status === 400) throw new DecryptionFailed();
      throw this.unavailable(err);
    }
    const dek = Buffer.from(data.plaintext, "base64");
    if (dek.length !== 32) throw new DecryptionFailed();
    return dek;
  }

  async rotate(): Promise<KekRef> {
    // Not idempotent: a repeated rotate makes one more version.
    await this.call("POST", `keys/${this.o.key}/rotate`, {}, false).catch((e: unknown) => {
      throw this.unavailable(e);
    });
    const ref = await this.current();
    this.o.log.info({ kek: `${this.keyId}#v${ref.version}` }, "KEK rotated in Vault Transit");
    return ref;
  }

  async retire(ref: KekRef): Promise<void> {
    const info = await this.keyInfo();
    const min = Math.max(1, info.min_decryption_version);
    if (ref.version !== min) throw new CryptoConfigError(`Vault Transit can only retire its oldest decryptable version (v${min}), instead got v${ref.version}`);
    await this.call("POST", `keys/${this.o.key}/config`, { min_decryption_version: ref.version + 1 }).catch((e: unknown) => {
      throw this.unavailable(e);
    });
  }

  async versions(): Promise<KekVersionInfo[]> {
    const info = await this.keyInfo();
    return Object.keys(info.keys)
      .map(Number)
      .sort((a, b) => a - b)
      .map((v) => ({ ref: this.ref(v), state: v < info.min_decryption_version ? ("retired" as const) : ("active" as const) }));
  }

  async close(): Promise<void> {}
}
