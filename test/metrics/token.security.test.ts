/**
 * Threat: an outsider reads /metrics on the public port (traffic shape, user
 * counts, error rates, process details) or recovers the scrape token through
 * timing. The token is the secret `metrics-token`; without it nothing is
 * served; the comparison is constant-time over digests; a user's own access
 * token is not a metrics token.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsTokenMatches } from "../../src/metrics/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { metricsTokenSecret } from "./helpers.js";

const TOKEN = "metrics-token-under-test-5f1c2a9e";

describe("metricsTokenMatches", () => {
  it("accepts exactly the configured bearer token", () => {
    expect(metricsTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(metricsTokenMatches(`bearer   ${TOKEN}  `, TOKEN)).toBe(true);
    for (const header of [undefined, "", TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN.toUpperCase()}`, `Bearer ${TOKEN} extra`]) {
      expect(metricsTokenMatches(header, TOKEN)).toBe(false);
    }
  });

  it("refuses everything when no token is configured (there is no default token)", () => {
    for (const expected of [undefined, ""]) {
      expect(metricsTokenMatches(undefined, expected)).toBe(false);
      expect(metricsTokenMatches("Bearer ", expected)).toBe(false);
      expect(metricsTokenMatches("Bearer anything", expected)).toBe(false);
    }
  });
});

describe.each(testModes())("/metrics authentication (%s)", (mode) => {
  const secret = metricsTokenSecret(TOKEN);
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode, { env: secret.env });
  });
  afterAll(async () => {
    await t?.close();
    secret.cleanup();
  });

  it("refuses a request without the token with 401 in the envelope", async () => {
    const res = await call(t.app, { method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ success: false, code: "UNAUTHENTICATED" });
    expect(res.json().traceId).toBe(res.headers["x-request-id"]);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="metrics"');
    expect(res.body).not.toContain("http_server_request_duration_seconds");
  });

  it("refuses a wrong token and a user's access token", async () => {
    const user = await registerAndLogin(t.app);
    for (const token of ["wrong-token-123456", user.accessToken, `${TOKEN}0`]) {
      const res = await call(t.app, { method: "GET", url: "/metrics", token });
      expect(res.statusCode).toBe(401);
      expect(res.code).toBe("UNAUTHENTICATED");
    }
  });

  it("accepts the token", async () => {
    const res = await t.app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("# TYPE http_server_request_duration_seconds histogram");
  });
});

describe.each(testModes())("/metrics without the metrics-token secret (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers 401 to every request, whatever token is sent, and says why in the log once", async () => {
    for (const token of [undefined, "", "Bearer", "undefined"]) {
      const res = await call(t.app, { method: "GET", url: "/metrics", ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}) });
      expect(res.statusCode).toBe(401);
      expect(res.code).toBe("UNAUTHENTICATED");
    }
    const warnings = t.logs.records().filter((l) => String(l.msg).includes("metrics-token"));
    expect(warnings).toHaveLength(1);
  });
});
