/**
 * Vault authentication for the KV provider: a fixed token (`VAULT_TOKEN`) or
 * AppRole (`VAULT_ROLE_ID` + `VAULT_SECRET_ID`). AppRole tokens are renewed
 * (`auth/token/renew-self`) once two thirds of their lease has passed, and
 * replaced by a new login when renewal fails, when the lease has run out, or
 * when Vault answers 403 (token revoked or expired early). Every token is
 * registered with the log redactor as soon as it is known.
 */
import type { SecretRedactor } from "../../log/index.js";
import type { Clock } from "../../runtime/clock.js";
import { ProviderError } from "../errors.js";
import { pick, vaultRequest, vaultStatusError, type VaultEndpoint } from "./vault-http.js";

export interface VaultAuth {
  /** A token to send now (logging in or renewing first when needed). */
  token(signal: AbortSignal): Promise<string>;
  /** Called after a 403: drops the token and logs in again. False when there is no other way to get one. */
  reauthenticate(signal: AbortSignal): Promise<boolean>;
}

/** A token given in the configuration; Vault refusing it is final. */
export class StaticTokenAuth implements VaultAuth {
  constructor(private readonly value: string) {}

  async token(): Promise<string> {
    return this.value;
  }

  async reauthenticate(): Promise<boolean> {
    return false;
  }
}

interface Lease {
  token: string;
  obtainedAt: number;
  /** 0 = no expiry. */
  leaseMs: number;
  renewable: boolean;
}

export interface AppRoleOptions {
  endpoint: VaultEndpoint;
  mount: string;
  roleId: string;
  secretId: string;
  clock: Clock;
  redactor: SecretRedactor;
}

export class AppRoleAuth implements VaultAuth {
  private lease: Lease | undefined;
  /** Single-flight login: concurrent reads that all need a token share one. */
  private pending: Promise<Lease> | undefined;

  constructor(private readonly options: AppRoleOptions) {}

  async token(signal: AbortSignal): Promise<string> {
    const lease = this.lease;
    if (lease === undefined) return (await this.login(signal)).token;
    const age = this.options.clock.now() - lease.obtainedAt;
    if (lease.leaseMs > 0 && age >= lease.leaseMs) return (await this.login(signal)).token;
    if (lease.leaseMs > 0 && lease.renewable && age >= (lease.leaseMs * 2) / 3) {
      try {
        return (await this.renew(lease, signal)).token;
      } catch {
        return (await this.login(signal)).token;
      }
    }
    return lease.token;
  }

  async reauthenticate(signal: AbortSignal): Promise<boolean> {
    this.lease = undefined;
    await this.login(signal);
    return true;
  }

  private login(signal: AbortSignal): Promise<Lease> {
    this.pending ??= (async () => {
      const { endpoint, mount, roleId, secretId } = this.options;
      const res = await vaultRequest(endpoint, { method: "POST", path: `auth/${mount}/login`, body: { role_id: roleId, secret_id: secretId }, signal });
      if (res.status !== 200) throw vaultStatusError(`AppRole login at auth/${mount} failed with HTTP ${res.status}`, res.status);
      return this.accept(res.body, "AppRole login");
    })().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async renew(lease: Lease, signal: AbortSignal): Promise<Lease> {
    const res = await vaultRequest(this.options.endpoint, { method: "POST", path: "auth/token/renew-self", token: lease.token, body: {}, signal });
    if (res.status !== 200) throw vaultStatusError(`token renewal failed with HTTP ${res.status}`, res.status);
    return this.accept(res.body, "token renewal");
  }

  private accept(body: unknown, what: string): Lease {
    const token = pick(body, "auth", "client_token");
    const leaseSeconds = pick(body, "auth", "lease_duration");
    if (typeof token !== "string" || token === "") throw new ProviderError(`${what} answered without a client token`);
    this.options.redactor.register(token);
    const lease: Lease = {
      token,
      obtainedAt: this.options.clock.now(),
      leaseMs: typeof leaseSeconds === "number" && leaseSeconds > 0 ? leaseSeconds * 1000 : 0,
      renewable: pick(body, "auth", "renewable") === true,
    };
    this.lease = lease;
    return lease;
  }
}
