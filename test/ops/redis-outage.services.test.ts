/**
 * Redis unreachable is a degradation, not a fleet-wide outage. Server A
 * reaches Redis through a TCP proxy the test cuts; server B, on the same
 * PostgreSQL database and Redis key prefix, keeps its own connection (so one
 * instance losing Redis while another keeps it is covered too). While a
 * steady mix of `GET /v1/me`, logins and readiness probes runs against A:
 *
 * - within REVOCATION_STALE_MAX_MS of A's last sync with Redis, `/v1/me`
 *   keeps answering 200 from A's copy of the revocation log, and readiness
 *   answers 200 `warn`, naming redis;
 * - a logout on A is answered 503 with Retry-After (it cannot be made
 *   durable), never acknowledged, yet refused on A at once;
 * - past the bound, authenticated requests answer 503 with Retry-After (never
 *   500) and readiness fails on `revocations`;
 * - once the proxy is back, A serves again within a measured bound, after a
 *   resync: a session revoked on B during the outage is refused on A, and the
 *   logout A could not make durable reaches B through the kv log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { serve, type RunningServer } from "../../src/server/serve.js";
import { credentials } from "../helpers/api.js";
import { pollUntil, sleep } from "../helpers/async.js";
import { LogCapture } from "../helpers/logs.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { ControlledProxy } from "../helpers/proxy.js";

/** The staleness bound of server A: short, so the test runs fast. */
const STALE_MAX_MS = 4_000;
/** Slack for scheduling on a loaded machine, on either side of the bound. */
const SLACK_MS = 750;
/** What recovery must stay under once Redis is reachable again. */
const RECOVERY_BOUND_MS = 6_000;

type Kind = "me" | "login" | "ready";

interface Outcome {
  kind: Kind;
  /** When the request was sent and answered (ms since the test's start). */
  sent: number;
  answered: number;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
  /** Readiness only: the overall status and each check's. */
  health?: { status: string; checks: Record<string, { status: string; output?: string }> };
}

interface Json {
  data?: { accessToken?: string };
  code?: string;
  status?: string;
  checks?: Record<string, { status: string; output?: string }[]>;
}

describe("Redis unreachable under load", { timeout: 180_000 }, () => {
  let env: TestEnv;
  let proxy: ControlledProxy;
  let a: RunningServer;
  let b: RunningServer;
  const logs = new LogCapture();
  const t0 = Date.now();
  const now = () => Date.now() - t0;

  beforeAll(async () => {
    env = await createTestEnv("postgres", {
      // Rate limiting on, with budgets the mix never reaches: it must fall back to the in-process limiter.
      RATE_LIMIT_ENABLED: "true",
      RATE_LIMIT_REQUESTS_PER_MINUTE: "1000000",
      RATE_LIMIT_LOGIN_PER_MINUTE: "1000000",
      RATE_LIMIT_REGISTER_PER_MINUTE: "1000000",
      HEALTH_CHECK_TIMEOUT_MS: "500",
    });
    const redis = new URL(env.env.REDIS_URL!);
    proxy = await ControlledProxy.create({ host: redis.hostname, port: Number(redis.port || 6379) });
    await proxy.up();
    const viaProxy = new URL(redis);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    a = await serve(loadConfig({ ...env.env, REDIS_URL: viaProxy.toString(), REVOCATION_STALE_MAX_MS: String(STALE_MAX_MS) }), { runtime: { env: env.env, logDestination: logs } });
    b = await serve(loadConfig(env.env), { runtime: { env: env.env, logDestination: new LogCapture() } });
  });
  afterAll(async () => {
    await a?.shutdown();
    await b?.shutdown();
    await proxy?.down();
    await env?.cleanup();
  });

  async function request(server: RunningServer, method: "GET" | "POST", url: string, init: { token?: string; body?: unknown } = {}): Promise<{ status: number; json: Json; retryAfter: string | null }> {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Json, retryAfter: res.headers.get("retry-after") };
  }

  async function login(server: RunningServer, creds: { email: string; password: string }): Promise<string> {
    const res = await request(server, "POST", "/v1/auth/login", { body: creds });
    expect(res.status).toBe(200);
    return res.json.data!.accessToken!;
  }

  const me = (server: RunningServer, token: string) => request(server, "GET", "/v1/me", { token });

  async function ready(server: RunningServer): Promise<{ status: number; body: { status: string; checks: Record<string, { status: string; output?: string }> } }> {
    const res = await request(server, "GET", "/health/ready");
    const checks = Object.fromEntries(Object.entries(res.json.checks ?? {}).map(([k, v]) => [k.split(":")[0]!, v[0]!]));
    return { status: res.status, body: { status: res.json.status ?? "", checks } };
  }

  it("serves from the instance's revocation state within the bound, then fails closed with 503, and recovers after a resync", async () => {
    const user = credentials();
    expect((await request(a, "POST", "/v1/auth/register", { body: user })).status).toBe(202);
    const [steady, revokedOnB, loggedOutOnA] = [await login(a, user), await login(a, user), await login(a, user)];
    for (const token of [steady, revokedOnB, loggedOutOnA]) {
      expect((await me(a, token)).status).toBe(200);
      expect((await me(b, token)).status).toBe(200);
    }
    expect(await ready(a)).toMatchObject({ status: 200, body: { status: "pass" } });

    // The steady mix on A: GET /v1/me, logins and readiness probes, each client pausing a little between requests.
    const outcomes: Outcome[] = [];
    let running = true;
    const client = async (kind: Kind) => {
      while (running) {
        const sent = now();
        if (kind === "ready") {
          const r = await ready(a);
          outcomes.push({ kind, sent, answered: now(), status: r.status, code: undefined, retryAfter: null, health: r.body });
        } else {
          const r = kind === "me" ? await me(a, steady) : await request(a, "POST", "/v1/auth/login", { body: user });
          outcomes.push({ kind, sent, answered: now(), status: r.status, code: r.json.code, retryAfter: r.retryAfter });
        }
        await sleep(kind === "ready" ? 100 : 25);
      }
    };
    const clients = [client("me"), client("me"), client("login"), client("ready")];
    await pollUntil(async () => (["me", "login", "ready"] as const).every((k) => outcomes.some((o) => o.kind === k && o.status === 200)), (ok) => ok, 30_000);

    const cut = now();
    await proxy.down();

    // Within the bound: readiness 200, `warn`, naming redis; the revocation list answers from its copy.
    const degraded = await pollUntil(() => ready(a), (r) => r.body.checks.revocations?.status === "warn" && r.body.checks.ratelimit?.status === "warn", STALE_MAX_MS - SLACK_MS);
    expect(now() - cut).toBeLessThan(STALE_MAX_MS - SLACK_MS);
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe("warn");
    expect(degraded.body.checks.kv).toMatchObject({ status: "warn", output: expect.stringMatching(/^redis unreachable/) });
    expect(degraded.body.checks.revocations).toMatchObject({ status: "warn", output: expect.stringContaining("redis") });
    expect(degraded.body.checks.database!.status).toBe("pass");
    const during = await a.app.metrics!.render();
    expect(during).toMatch(/^rampart_revocation_list_state\{state="stale"\} 1$/m);
    expect(during).toMatch(/^rampart_rate_limit_store_degraded 1$/m);

    // A session revoked on B (which still reaches Redis) meanwhile: the documented window, A cannot know yet.
    expect((await request(b, "POST", "/v1/auth/logout", { token: revokedOnB })).status).toBe(200);
    expect((await me(b, revokedOnB)).json.code).toBe("TOKEN_REVOKED");
    expect((await me(a, revokedOnB)).status).toBe(200);

    // A logout on A cannot be made durable: 503 with Retry-After, never a false acknowledgement; refused on A at once.
    const logout = await request(a, "POST", "/v1/auth/logout", { token: loggedOutOnA });
    expect(logout).toMatchObject({ status: 503, json: { code: "SERVICE_UNAVAILABLE" } });
    expect(logout.retryAfter).toMatch(/^[1-9]\d*$/);
    expect((await me(a, loggedOutOnA)).json.code).toBe("TOKEN_REVOKED");
    expect(await a.app.metrics!.render()).toMatch(/^rampart_revocation_pending_writes 1$/m);
    // Not on B: the revocation is not in the kv log yet, which is why it was not acknowledged.
    expect((await me(b, loggedOutOnA)).status).toBe(200);

    // Past the bound: fail closed, 503 with Retry-After; readiness fails on `revocations`, `kv` stays warn.
    const closed = await pollUntil(() => me(a, steady), (r) => r.status === 503, STALE_MAX_MS + 5_000);
    expect(closed).toMatchObject({ status: 503, json: { code: "SERVICE_UNAVAILABLE" } });
    expect(closed.retryAfter).toMatch(/^[1-9]\d*$/);
    const failed = await pollUntil(() => ready(a), (r) => r.status === 503, 5_000);
    expect(failed.status).toBe(503);
    expect(failed.body.status).toBe("fail");
    expect(failed.body.checks.revocations).toMatchObject({ status: "fail", output: expect.stringContaining("fail closed") });
    expect(failed.body.checks.kv!.status).toBe("warn");
    expect(await a.app.metrics!.render()).toMatch(/^rampart_revocation_list_state\{state="closed"\} 1$/m);
    // B is another instance with its own Redis connection: unaffected.
    expect((await me(b, steady)).status).toBe(200);
    expect((await ready(b)).status).toBe(200);
    await sleep(1_000);

    const restored = now();
    await proxy.up();
    const recovered = await pollUntil(
      async () => outcomes.some((o) => o.kind === "me" && o.sent >= restored && o.status === 200) && outcomes.some((o) => o.kind === "ready" && o.sent >= restored && o.status === 200 && o.health?.status === "pass"),
      (ok) => ok,
      RECOVERY_BOUND_MS * 2,
    );
    const recoveryMs = now() - restored;
    expect(recovered, `no success within ${recoveryMs} ms of the restore`).toBe(true);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
    await pollUntil(async () => outcomes.some((o) => o.kind === "login" && o.sent >= restored && o.status === 200), (ok) => ok, RECOVERY_BOUND_MS);
    running = false;
    await Promise.all(clients);

    // After the resync: B's revocation from the outage is honoured on A, and A's logout reached B through the kv log.
    expect((await me(a, revokedOnB)).json.code).toBe("TOKEN_REVOKED");
    expect((await me(b, loggedOutOnA)).json.code).toBe("TOKEN_REVOKED");
    expect((await me(a, steady)).status).toBe(200);

    // The mix: a success, or a 503 SERVICE_UNAVAILABLE with a Retry-After in seconds; never a 500.
    const unexpected = outcomes.filter((o) => !(o.status === 200 || (o.status === 503 && (o.kind === "ready" || (o.code === "SERVICE_UNAVAILABLE" && /^[1-9]\d*$/.test(o.retryAfter ?? ""))))));
    expect(unexpected).toEqual([]);
    const meDuring = outcomes.filter((o) => o.kind === "me" && o.sent > cut && o.answered < restored);
    // Served within the bound (from the last sync, just before the cut), refused after it.
    expect(meDuring.filter((o) => o.answered < cut + STALE_MAX_MS - SLACK_MS && o.status !== 200)).toEqual([]);
    expect(meDuring.filter((o) => o.sent > cut + STALE_MAX_MS + SLACK_MS && o.status !== 503)).toEqual([]);
    expect(meDuring.some((o) => o.status === 200) && meDuring.some((o) => o.status === 503)).toBe(true);
    // Readiness: 200 (warn) within the bound, 503 after it; never `pass` while Redis was cut.
    const readyDuring = outcomes.filter((o) => o.kind === "ready" && o.sent > cut + SLACK_MS && o.answered < restored);
    expect(readyDuring.filter((o) => o.health?.status === "pass")).toEqual([]);
    expect(readyDuring.filter((o) => o.answered < cut + STALE_MAX_MS - SLACK_MS && o.status !== 200)).toEqual([]);
    // Logins need the lockout counters in Redis: refused with 503 while it is cut, served again after.
    expect(outcomes.some((o) => o.kind === "login" && o.sent > cut + SLACK_MS && o.answered < restored && o.status === 503)).toBe(true);

    // The fall-back is counted for the alert rules.
    const metrics = await a.app.metrics!.render();
    const fallback = Number(/^rampart_rate_limit_fallback_decisions_total (\d+)$/m.exec(metrics)?.[1]);
    expect(fallback).toBeGreaterThan(0);
    expect(metrics).toMatch(/^rampart_rate_limit_store_degraded 0$/m);
    expect(metrics).toMatch(/^rampart_revocation_list_state\{state="synced"\} 1$/m);
    expect(metrics).toMatch(/^rampart_revocation_pending_writes 0$/m);

    // Logged as an outage with its transitions, never as an unhandled error.
    const messages = logs.records().map((r) => String(r.msg));
    expect(messages).toContain("kv store unreachable: revocation checks answer from this instance's copy until the staleness bound, then fail closed");
    expect(messages).toContain("revocation list in sync with the kv store again");
    expect(messages).not.toContain("unhandled error");
  });
});
