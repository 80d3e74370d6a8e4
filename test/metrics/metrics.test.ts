/**
 * GET /metrics on the main port: Prometheus text after real traffic (register,
 * a failed login, an id in a path, a 404), labels that are route templates and
 * never raw URLs, ids or emails, one registry per runtime.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { labelValues, metricsTokenSecret, sample } from "./helpers.js";

const TOKEN = "metrics-scrape-token-0123456789abcdef";

async function scrape(t: TestApp): Promise<string> {
  const res = await t.app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  return res.body;
}

describe.each(testModes())("metrics endpoint (%s)", (mode) => {
  const secret = metricsTokenSecret(TOKEN);
  let t: TestApp;
  let user: Awaited<ReturnType<typeof registerAndLogin>>;
  let text: string;

  beforeAll(async () => {
    t = await createTestApp(mode, { env: secret.env });
    user = await registerAndLogin(t.app);
    const failed = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: user.email, password: "not the password at all" } });
    expect(failed.statusCode).toBe(401);
    const revoke = await call(t.app, { method: "DELETE", url: "/v1/api-keys/abc123", token: user.accessToken });
    expect(revoke.statusCode).toBeGreaterThanOrEqual(400); // no such key (or not a valid id): refused, but through the route
    expect((await call(t.app, { method: "GET", url: `/v1/users/${user.email}/nothing-here` })).statusCode).toBe(404);
    await scrape(t); // a second read of metrics-token is a cache hit
    text = await scrape(t);
  });
  afterAll(async () => {
    await t?.close();
    secret.cleanup();
  });

  it("observes requests by method, route template and status code", () => {
    expect(sample(text, "http_server_request_duration_seconds_count", { method: "POST", route: "/v1/auth/register", status_code: "202" })).toBe(1);
    expect(sample(text, "http_server_request_duration_seconds_count", { method: "POST", route: "/v1/auth/login", status_code: "200" })).toBe(1);
    expect(sample(text, "http_server_request_duration_seconds_count", { method: "POST", route: "/v1/auth/login", status_code: "401" })).toBe(1);
    expect(sample(text, "http_server_request_duration_seconds_bucket", { route: "/v1/auth/register", le: "+Inf" })).toBe(1);
    // The id in the path is folded into the template; the unknown path into one fixed label.
    expect(labelValues(text, "http_server_request_duration_seconds_count", "route")).toContain("/v1/api-keys/:id");
    expect(sample(text, "http_server_request_duration_seconds_count", { method: "DELETE", route: "/v1/api-keys/:id" })).toBe(1);
    expect(sample(text, "http_server_request_duration_seconds_count", { method: "GET", route: "__not_found__", status_code: "404" })).toBe(1);
  });

  it("never carries raw URLs, ids or emails", () => {
    for (const leak of ["abc123", user.email, user.userId, "nothing-here", "@example.com", user.accessToken, TOKEN]) expect(text).not.toContain(leak);
    for (const route of labelValues(text, "http_server_request_duration_seconds_count", "route")) expect(route).toMatch(/^(__not_found__|\/[a-z0-9/.:_-]*)$/);
  });

  it("counts auth and security events", () => {
    expect(sample(text, "rampart_auth_logins_total", { result: "success" })).toBe(1);
    expect(sample(text, "rampart_auth_logins_total", { result: "failure" })).toBe(1);
    expect(sample(text, "rampart_security_events_total", { event: "auth.registered" })).toBe(1);
    expect(sample(text, "rampart_security_events_total", { event: "auth.login.failed" })).toBe(1);
    // Series that have not happened yet exist at 0, so alerts see them.
    expect(sample(text, "rampart_auth_lockouts_total")).toBe(0);
    expect(sample(text, "rampart_auth_refresh_reuse_total")).toBe(0);
    expect(sample(text, "rampart_auth_mfa_failures_total")).toBe(0);
    expect(sample(text, "rampart_security_events_total", { event: "mfa.failed" })).toBe(0);
    expect(sample(text, "rampart_http_errors_total", { code: "INVALID_CREDENTIALS" })).toBe(1);
    expect(sample(text, "rampart_rate_limit_rejections_total")).toBeUndefined(); // no policy refused anything yet
    expect(sample(text, "rampart_quota_rejections_total")).toBe(0);
    expect(text).toContain("# TYPE rampart_webhook_verification_failures_total counter");
  });

  it("reads the secrets cache, KMS, argon2 and database pool stats", () => {
    expect(sample(text, "rampart_secrets_cache_misses_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "rampart_secrets_cache_hits_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "rampart_secrets_stale_serves_total")).toBe(0);
    // Registration encrypts the email under a fresh per-user key: at least one DEK from the KEK provider.
    expect(sample(text, "rampart_kms_calls_total", { provider: "local", operation: "generateDataKey" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "rampart_kms_call_duration_seconds_count", { provider: "local", operation: "generateDataKey" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "rampart_kms_errors_total", { operation: "unwrap" })).toBe(0);
    expect(sample(text, "rampart_argon2_operations_total", { op: "hash" })).toBeGreaterThanOrEqual(2); // the dummy hash and the user's
    expect(sample(text, "rampart_argon2_operations_total", { op: "verify" })).toBe(2);
    expect(sample(text, "rampart_argon2_duration_seconds_count")).toBeGreaterThanOrEqual(4);
    expect(sample(text, "rampart_argon2_duration_seconds_sum")).toBeGreaterThan(0);
    expect(sample(text, "rampart_argon2_queue_depth")).toBe(0);
    expect(sample(text, "rampart_db_pool_connections", { state: "in_use" })).toBeGreaterThanOrEqual(0);
    expect(sample(text, "rampart_db_pool_waiting")).toBe(0);
  });

  it("includes the process and event-loop defaults", () => {
    expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  });

  it("is not part of the OpenAPI document", async () => {
    const doc = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(Object.keys((JSON.parse(doc.body) as { paths: Record<string, unknown> }).paths)).not.toContain("/metrics");
  });
});

describe.each(testModes())("metrics and rate limiting (%s)", (mode) => {
  const secret = metricsTokenSecret(TOKEN);
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode, { env: { ...secret.env, RATE_LIMIT_ENABLED: "true", RATE_LIMIT_LOGIN_PER_MINUTE: "1", RATE_LIMIT_REQUESTS_PER_MINUTE: "3" } });
  });
  afterAll(async () => {
    await t?.close();
    secret.cleanup();
  });

  it("counts rate-limit refusals by policy, and scrapes are never rate limited", async () => {
    const creds = credentials();
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds })).statusCode).toBe(401);
    const refused = await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds });
    expect(refused.statusCode).toBe(429);
    let text = "";
    for (let i = 0; i < 6; i++) {
      const res = await t.app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["retry-after"]).toBeUndefined();
      text = res.body;
    }
    expect(sample(text, "rampart_rate_limit_rejections_total", { policy: "login" })).toBe(1);
    expect(sample(text, "rampart_http_errors_total", { code: "RATE_LIMITED" })).toBe(1);
    expect(sample(text, "http_server_request_duration_seconds_count", { route: "/v1/auth/login", status_code: "429" })).toBe(1);
  });
});

describe.each(testModes())("metrics per runtime (%s)", (mode) => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp(mode);
    b = await createTestApp(mode);
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("gives two runtimes in one process separate registries", async () => {
    expect(a.app.metrics!.registry).not.toBe(b.app.metrics!.registry);
    await call(a.app, { method: "POST", url: "/v1/auth/login", body: credentials() });
    const textA = await a.app.metrics!.render();
    const textB = await b.app.metrics!.render();
    expect(sample(textA, "rampart_auth_logins_total", { result: "failure" })).toBe(1);
    expect(sample(textB, "rampart_auth_logins_total", { result: "failure" })).toBe(0);
    expect(sample(textA, "http_server_request_duration_seconds_count", { route: "/v1/auth/login" })).toBe(1);
    expect(sample(textB, "http_server_request_duration_seconds_count", { route: "/v1/auth/login" })).toBeUndefined();
  });
});

describe.each(testModes())("metrics switched off (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode, { env: { METRICS_ENABLED: "false" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("METRICS_ENABLED=false serves no /metrics", async () => {
    expect(t.app.metrics).toBeNull();
    expect((await t.app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(404);
  });
});
