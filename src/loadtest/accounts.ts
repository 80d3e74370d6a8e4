/**
 * Test data of a run, made and removed through the public API only, at a
 * bounded rate, never around a protection: accounts are registered like any
 * user's (`POST /v1/auth/register`), API keys created from a login session,
 * and every account the run made — the pool and those the new-user journeys
 * registered — is erased at the end by its own login and `DELETE /v1/me`
 * (the self-service erasure, which re-checks the password).
 *
 * A 429 during set-up or clean-up is waited out as its `Retry-After` says,
 * until a deadline; the operator is told once that the target throttles and
 * where the sizing advice is.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { SIZING_HINT } from "./budgets.js";
import { ClientRequestError, envelope, retryAfterSeconds, type ClientResponse, type HttpClient, type RequestSpec } from "./client.js";

export interface TestAccount {
  email: string;
  password: string;
  /** An API key (`rp_...`, scope `me:read`) when the account has one. */
  apiKey?: string;
}

export class LoadTestSetupError extends Error {
  override readonly name = "LoadTestSetupError";
}

/** Accounts handed out one journey at a time, least recently used first. */
export class AccountPool {
  private readonly free: TestAccount[];

  constructor(accounts: TestAccount[]) {
    this.free = [...accounts];
  }

  /**
   * An account no other journey holds, or undefined. Exclusive because the
   * account lockout counts attempts in flight: six concurrent logins to one
   * account would lock it for everyone, as it should for a real attacker.
   */
  checkout(): TestAccount | undefined {
    return this.free.shift();
  }

  release(account: TestAccount): void {
    this.free.push(account);
  }

  /** Takes a checked-out account out of service for the rest of the run. */
  retire(account: TestAccount): void {
    this.retired.push(account.email);
  }

  /** Emails of the accounts retired so far. */
  readonly retired: string[] = [];
}

/** Names and passwords of test accounts: unique per run, at a domain that receives no mail (RFC 2606). */
export class AccountFactory {
  private n = 0;
  constructor(
    readonly runId: string,
    private readonly domain: string,
  ) {}

  next(): TestAccount {
    return { email: `loadtest-${this.runId}-${this.n++}@${this.domain}`, password: randomBytes(18).toString("base64url") };
  }
}

export interface PacedOptions {
  /** Operations (one account made or removed) started per second at most. */
  ratePerSecond: number;
  /** Gives up waiting out 429s after this (ms from the start of the phase). */
  deadlineMs: number;
  /** Told once per phase that the target throttles. */
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

const CONCURRENCY = 4;

/** A caller of the API that waits out 429s until a deadline. */
class PatientCaller {
  private readonly until: number;
  private noticed = false;
  requests = 0;
  throttled = 0;

  constructor(
    private readonly client: HttpClient,
    private readonly options: PacedOptions,
    private readonly phase: string,
  ) {
    this.until = Date.now() + options.deadlineMs;
  }

  async call(spec: RequestSpec): Promise<ClientResponse> {
    for (;;) {
      this.requests++;
      const res = await this.client.request(spec);
      if (res.status !== 429) return res;
      this.throttled++;
      const wait = Math.min(60, Math.max(1, retryAfterSeconds(res) ?? 1)) * 1000;
      if (!this.noticed) {
        this.noticed = true;
        this.options.onNotice?.(`${this.phase}: the target answers ${spec.method} ${spec.path} with 429 ${envelope(res).code ?? ""}; waiting as Retry-After says (${SIZING_HINT})`);
      }
      if (Date.now() + wait > this.until) throw new LoadTestSetupError(`${this.phase}: still throttled (429) by ${spec.method} ${spec.path} after ${Math.round(this.options.deadlineMs / 1000)} s; ${SIZING_HINT}`);
      await sleep(wait, undefined, this.options.signal ? { signal: this.options.signal } : {});
    }
  }
}

/** Runs `op` for every item, at most `ratePerSecond` starts per second and CONCURRENCY at once. */
async function paced<T>(items: T[], options: PacedOptions, op: (item: T) => Promise<void>): Promise<void> {
  const interval = 1000 / options.ratePerSecond;
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    for (;;) {
      if (options.signal?.aborted) return;
      const i = next++;
      if (i >= items.length) return;
      const wait = start + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      await op(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}

const describe = (res: ClientResponse) => {
  const e = envelope(res);
  return `${res.status}${e.code ? ` ${e.code}` : ""}${e.message ? `: ${e.message}` : ""}`;
};

async function login(caller: PatientCaller, account: TestAccount): Promise<ClientResponse> {
  return caller.call({ method: "POST", path: "/v1/auth/login", json: { email: account.email, password: account.password } });
}

async function makeAccount(caller: PatientCaller, account: TestAccount, withKey: boolean): Promise<void> {
  const reg = await caller.call({ method: "POST", path: "/v1/auth/register", json: { email: account.email, password: account.password } });
  if (reg.status !== 201 && reg.status !== 202) throw new LoadTestSetupError(`set-up: registering a test account answered ${describe(reg)}`);
  if (!withKey) return;
  const res = await login(caller, account);
  const e = envelope(res);
  if (res.status === 403 && e.code === "EMAIL_NOT_VERIFIED") {
    throw new LoadTestSetupError(
      "set-up: the target refuses logins until the email is verified (AUTH_REQUIRE_EMAIL_VERIFICATION=true); run load tests against a deployment with it false (docs/loadtest.md#test-accounts)",
    );
  }
  const token = e.data?.accessToken;
  if (res.status !== 200 || typeof token !== "string") throw new LoadTestSetupError(`set-up: logging in a new test account answered ${res.status === 200 ? "200 without tokens (MFA?)" : describe(res)}`);
  const key = await caller.call({ method: "POST", path: "/v1/api-keys", bearer: token, json: { name: "rampart-loadtest", scopes: ["me:read"] } });
  const secret = envelope(key).data?.key;
  if (key.status !== 201 || typeof secret !== "string") throw new LoadTestSetupError(`set-up: creating an API key answered ${describe(key)}`);
  account.apiKey = secret;
  await caller.call({ method: "POST", path: "/v1/auth/logout", bearer: token });
}

export interface SetupResult {
  accounts: TestAccount[];
  requests: number;
  throttled: number;
}

/**
 * Registers `count` accounts, the first `apiKeys` of them with an API key.
 * The first account is made alone, so a target that cannot serve the
 * journeys (verification required, registration refused) is named before
 * any more data is made. On failure the accounts made so far are in
 * `made` (for the clean-up).
 */
export async function createTestAccounts(client: HttpClient, factory: AccountFactory, count: number, apiKeys: number, options: PacedOptions, made: TestAccount[]): Promise<SetupResult> {
  const caller = new PatientCaller(client, options, "set-up");
  const plan = Array.from({ length: count }, (_, i) => ({ account: factory.next(), withKey: i < apiKeys }));
  const track = async (p: { account: TestAccount; withKey: boolean }) => {
    made.push(p.account);
    await makeAccount(caller, p.account, p.withKey);
  };
  if (plan.length > 0) await track(plan[0]!);
  await paced(plan.slice(1), options, track);
  if (options.signal?.aborted) throw new LoadTestSetupError("set-up interrupted");
  return { accounts: plan.map((p) => p.account), requests: caller.requests, throttled: caller.throttled };
}

export interface CleanupResult {
  removed: number;
  /** Accounts that did not exist (a registration that never completed). */
  absent: number;
  /** Emails of accounts that could not be erased (no passwords: they stay secret). */
  leftover: string[];
  requests: number;
  throttled: number;
}

/** One account's erasure: `removed`, `absent` (the login did not know it) or `leftover`. */
async function erase(caller: PatientCaller, account: TestAccount): Promise<"removed" | "absent" | "leftover"> {
  const res = await login(caller, account);
  const token = envelope(res).data?.accessToken;
  if (res.status === 401) return "absent";
  if (res.status !== 200 || typeof token !== "string") return "leftover";
  const erased = await caller.call({ method: "DELETE", path: "/v1/me", bearer: token, json: { password: account.password } });
  return erased.status === 200 ? "removed" : "leftover";
}

/**
 * Erases every account by its own login and `DELETE /v1/me`; never throws
 * for one account. An attempt that got no answer (a server still busy with
 * the run) is tried once more.
 */
export async function removeTestAccounts(client: HttpClient, accounts: TestAccount[], options: PacedOptions): Promise<CleanupResult> {
  const caller = new PatientCaller(client, options, "clean-up");
  const result: CleanupResult = { removed: 0, absent: 0, leftover: [], requests: 0, throttled: 0 };
  let stop: Error | undefined;
  await paced(accounts, options, async (account) => {
    for (let attempt = 1; ; attempt++) {
      if (stop) return void result.leftover.push(account.email);
      try {
        const outcome = await erase(caller, account);
        if (outcome === "leftover") result.leftover.push(account.email);
        else result[outcome]++;
        return;
      } catch (err) {
        // Past the deadline of 429s (or interrupted while waiting one out) every further attempt would
        // wait too: the rest are reported, not tried.
        if (err instanceof LoadTestSetupError || (err as Error).name === "AbortError") stop = err as Error;
        else if (!(err instanceof ClientRequestError)) throw err;
        else if (attempt >= 2) return void result.leftover.push(account.email);
      }
    }
  });
  // An interrupted clean-up leaves the rest untried: they are leftovers too.
  const done = result.removed + result.absent + result.leftover.length;
  for (const a of accounts.slice(done)) result.leftover.push(a.email);
  result.requests = caller.requests;
  result.throttled = caller.throttled;
  return result;
}
