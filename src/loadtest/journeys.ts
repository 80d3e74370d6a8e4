/**
 * User journeys: what one arrival does. A journey is a user's sequence of
 * requests, each step sent once the previous answer is in plus the
 * scenario's think time; its latency runs from that due time, and the first
 * step's from the arrival's scheduled time. A step whose status is not what
 * the step expects ends the journey (the next step would need its token).
 *
 * - new-user: register, login, GET /v1/me ×3, refresh, logout
 * - returning-user: login, GET /v1/me ×3, refresh, GET /v1/me, logout
 * - wrong-password: a mistyped password (401 expected, not an error), login, GET /v1/me ×2, logout
 * - api-key: GET /v1/me ×3 with an API key
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { AccountFactory, AccountPool, TestAccount } from "./accounts.js";
import type { EndpointName } from "./budgets.js";
import { ClientRequestError, envelope, type ClientResponse, type HttpClient, type RequestSpec } from "./client.js";
import type { Recorder } from "./recorder.js";
import type { JourneyName } from "./scenarios.js";
import type { Arrival, ArrivalDecision } from "./scheduler.js";

/** Requests of each journey when every step succeeds (sizes the offered request rate). */
export const JOURNEY_REQUESTS: Record<JourneyName, number> = { "new-user": 7, "returning-user": 7, "wrong-password": 5, "api-key": 3 };

export interface JourneyCounts {
  started: number;
  completed: number;
  failed: number;
}

export interface JourneyContext {
  client: HttpClient;
  recorder: Recorder;
  clock: () => number;
  thinkMs: number;
  pool: AccountPool;
  /** Accounts with an API key, used in turn (a key may serve several journeys at once). */
  keyed: TestAccount[];
  /** Which keyed account the next api-key journey takes. */
  keyTurn: number;
  factory: AccountFactory;
  /** Accounts the new-user journeys registered (or may have: no answer), for the clean-up. */
  registered: TestAccount[];
  counts: Record<JourneyName, JourneyCounts>;
}

interface Expect {
  ok: number[];
  /** Statuses the step expects though they are not success (a wrong password's 401). */
  expected?: number[];
  /** A success must carry a token pair (login, refresh). */
  tokens?: boolean;
}

interface Tokens {
  access: string;
  refresh: string;
}

function tokensOf(res: ClientResponse): Tokens | undefined {
  const data = envelope(res).data;
  return typeof data?.accessToken === "string" && typeof data.refreshToken === "string" ? { access: data.accessToken, refresh: data.refreshToken } : undefined;
}

class Journey {
  /** When the next step is due (clock ms). */
  private due: number;
  /**
   * A login got no answer (timeout, reset) or found the account locked: the
   * server may still be working on it, so the account must not serve another
   * journey (its attempts would pile up on the lockout counter).
   */
  tainted = false;

  constructor(
    private readonly ctx: JourneyContext,
    arrival: Arrival,
  ) {
    this.due = arrival.scheduledAt;
  }

  /** Sends one step at its due time; the answer when the step got what it expects, else undefined. */
  async step(endpoint: EndpointName, spec: RequestSpec, expect: Expect = { ok: [200] }): Promise<ClientResponse | undefined> {
    const { client, recorder, clock, thinkMs } = this.ctx;
    // Timers may fire a fraction of a millisecond early by this clock: never send before the due time.
    while (clock() < this.due) await sleep(this.due - clock());
    const scheduledAt = this.due;
    const sentAt = clock();
    let res: ClientResponse;
    try {
      res = await client.request(spec);
    } catch (err) {
      const e = err instanceof ClientRequestError ? err : new ClientRequestError("network", String(err));
      recorder.record({ endpoint, scheduledAt, sentAt, endedAt: clock(), status: 0, outcome: "error", kind: e.kind, message: e.message });
      if (endpoint === "login") this.tainted = true;
      return undefined;
    }
    const endedAt = clock();
    this.due = endedAt + thinkMs;
    const ok = expect.ok.includes(res.status);
    if (ok && expect.tokens && !tokensOf(res)) {
      recorder.record({ endpoint, scheduledAt, sentAt, endedAt, status: res.status, outcome: "error", kind: `${res.status} without tokens`, message: "the answer has no token pair (is MFA on for the test account?)" });
      return undefined;
    }
    if (ok || expect.expected?.includes(res.status)) {
      recorder.record({ endpoint, scheduledAt, sentAt, endedAt, status: res.status, outcome: ok ? "ok" : "expected" });
      return res;
    }
    const e = envelope(res);
    if (res.status === 423) this.tainted = true;
    recorder.record({ endpoint, scheduledAt, sentAt, endedAt, status: res.status, outcome: "error", kind: e.code ? `${res.status} ${e.code}` : String(res.status), message: e.message ?? "" });
    return undefined;
  }

  /** Logs in; the token pair, or undefined when the step failed. */
  async login(account: TestAccount): Promise<Tokens | undefined> {
    const res = await this.step("login", { method: "POST", path: "/v1/auth/login", json: { email: account.email, password: account.password } }, { ok: [200], tokens: true });
    return res && tokensOf(res);
  }

  async me(token: string, times: number, endpoint: EndpointName = "me"): Promise<boolean> {
    for (let i = 0; i < times; i++) if (!(await this.step(endpoint, { method: "GET", path: "/v1/me", bearer: token }))) return false;
    return true;
  }

  async refresh(refreshToken: string): Promise<Tokens | undefined> {
    const res = await this.step("refresh", { method: "POST", path: "/v1/auth/refresh", json: { refreshToken } }, { ok: [200], tokens: true });
    return res && tokensOf(res);
  }

  async logout(token: string): Promise<boolean> {
    return (await this.step("logout", { method: "POST", path: "/v1/auth/logout", bearer: token })) !== undefined;
  }
}

/** Login, `meBefore` × GET /v1/me, refresh, `meAfter` × GET /v1/me with the new token, logout. */
async function signedIn(j: Journey, account: TestAccount, meBefore: number, meAfter: number): Promise<boolean> {
  const pair = await j.login(account);
  if (!pair || !(await j.me(pair.access, meBefore))) return false;
  const next = await j.refresh(pair.refresh);
  if (!next || !(await j.me(next.access, meAfter))) return false;
  return j.logout(next.access);
}

const JOURNEY_STEPS: Record<JourneyName, (j: Journey, ctx: JourneyContext, account: TestAccount) => Promise<boolean>> = {
  "new-user": async (j, ctx, account) => {
    const res = await j.step("register", { method: "POST", path: "/v1/auth/register", json: { email: account.email, password: account.password } }, { ok: [201, 202] });
    // Kept for the clean-up even without an answer: the server may have made the account.
    ctx.registered.push(account);
    return res !== undefined && (await signedIn(j, account, 3, 0));
  },
  "returning-user": (j, _ctx, account) => signedIn(j, account, 3, 1),
  "wrong-password": async (j, _ctx, account) => {
    const wrong = { ...account, password: randomBytes(18).toString("base64url") };
    const res = await j.step("login", { method: "POST", path: "/v1/auth/login", json: { email: wrong.email, password: wrong.password } }, { ok: [], expected: [401] });
    if (!res) return false;
    const pair = await j.login(account);
    return pair !== undefined && (await j.me(pair.access, 2)) && (await j.logout(pair.access));
  },
  "api-key": (j, _ctx, account) => j.me(account.apiKey!, 3, "me-apikey"),
};

/** What an arrival of journey `name` runs, or why it cannot start (no free account). */
export function journeyFor(ctx: JourneyContext, name: JourneyName, arrival: Arrival): ArrivalDecision {
  let account: TestAccount | undefined;
  let pooled = false;
  if (name === "new-user") account = ctx.factory.next();
  else if (name === "api-key") account = ctx.keyed.length > 0 ? ctx.keyed[ctx.keyTurn++ % ctx.keyed.length] : undefined;
  else {
    account = ctx.pool.checkout();
    pooled = true;
  }
  if (!account) return { drop: name === "api-key" ? "no-api-keys" : "accounts-busy" };
  const a = account;
  return {
    run: async () => {
      const counts = ctx.counts[name];
      counts.started++;
      const journey = new Journey(ctx, arrival);
      try {
        const ok = await JOURNEY_STEPS[name](journey, ctx, a);
        if (ok) counts.completed++;
        else counts.failed++;
      } finally {
        // A tainted account is retired from the pool (the clean-up still erases it).
        if (pooled) {
          if (journey.tainted) ctx.pool.retire(a);
          else ctx.pool.release(a);
        }
      }
    },
  };
}
