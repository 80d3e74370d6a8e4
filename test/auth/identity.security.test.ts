/**
 * Threats: credential stuffing and parallel password guessing (lockout),
 * stolen or replayed refresh tokens (rotation, reuse detection, the
 * concurrent-refresh race), replayed MFA codes (TOTP steps and backup codes,
 * sequential and concurrent), revoked credentials still accepted (access
 * tokens after logout, API keys after revocation), privilege escalation
 * (users on admin routes, API keys beyond their scopes), and account
 * enumeration through login timing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/runtime/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { enableMfa, makeAdmin, oathtoolCode } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("identity under attack (%s)", (mode) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    // The per-user second-factor lockout is raised here so the per-challenge cap is seen alone;
    // test/auth/reauth.security.test.ts pins the per-user one at its default.
    // argon2 at the production floor: the timing test below needs a hash to outweigh the noise.
    t = await createTestApp(mode, { clock, env: { REFRESH_REUSE_GRACE_SECONDS: "5", MFA_USER_MAX_FAILURES: "20", ARGON2_MEMORY_KIB: "19456", ARGON2_ITERATIONS: "2" } });
  });
  afterAll(() => t.close());

  it("parallel wrong passwords: exactly 5 are checked, the rest get 423 with Retry-After, even the right password", async () => {
    const u = await registerAndLogin(t.app);
    const results = await Promise.all(Array.from({ length: 20 }, () => call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: "wrong password guess 123" } })));
    const codes = results.map((r) => r.code);
    expect(codes.filter((c) => c === "INVALID_CREDENTIALS")).toHaveLength(5);
    expect(codes.filter((c) => c === "ACCOUNT_LOCKED")).toHaveLength(15);
    const right = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } });
    expect(right.statusCode).toBe(423);
    expect(Number(right.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(right.headers["retry-after"])).toBeLessThanOrEqual(900);

    // An admin unlocks; the right password works again.
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    const adminLogin = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } });
    const unlock = await call(t.app, { method: "POST", url: `/v1/admin/users/${u.userId}/unlock`, token: adminLogin.data.accessToken });
    expect(unlock.data).toEqual({ wasLocked: true });
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } })).statusCode).toBe(200);
  });

  it("unknown emails are locked out the same way (no account enumeration through lockout)", async () => {
    const email = `ghost.${Date.now()}@example.com`;
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 7; i++) codes.push((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email, password: "wrong password guess 123" } })).code);
    expect(codes).toEqual(["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "ACCOUNT_LOCKED", "ACCOUNT_LOCKED"]);
  });

  it("concurrent refreshes with one token all get the same successor; later reuse revokes the session", async () => {
    const u = await registerAndLogin(t.app);
    const results = await Promise.all(Array.from({ length: 8 }, () => call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } })));
    expect(results.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
    const successors = new Set(results.map((r) => r.data.refreshToken));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as [string];
    expect(successor).not.toBe(u.refreshToken);

    clock.advance(6_000);
    await new Promise((r) => setTimeout(r, mode === "postgres" ? 5_200 : 0)); // Redis TTLs run on real time
    const replay = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } });
    expect(replay.statusCode).toBe(401);
    expect(replay.code).toBe("REFRESH_TOKEN_REUSED");
    // The whole family is dead: the successor and the session's access tokens too.
    const next = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: successor } });
    expect(next.statusCode).toBe(401);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: results[0]!.data.accessToken })).code).toBe("TOKEN_REVOKED");
    expect(t.logs.records().some((r) => r.event === "auth.refresh.reused")).toBe(true);
  });

  it("TOTP: a code works once; replays, sequential or concurrent and across challenges, fail", async () => {
    const u = await registerAndLogin(t.app);
    const { secret } = await enableMfa(t.app, u.accessToken, clock.now());
    clock.advance(30_000);
    const code = oathtoolCode(secret, clock.now());
    const challenge = async () => (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } })).data.mfaToken as string;
    const [c1, c2, c3] = [await challenge(), await challenge(), await challenge()];
    expect(c1).toEqual(expect.any(String));
    // Concurrent: the same code on three challenges at once, and twice on one.
    const results = await Promise.all([c1, c1, c2, c3].map((mfaToken) => call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken, code } })));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    // The others: INVALID_MFA_CODE, or 401 UNAUTHENTICATED for the twin of the winning challenge (spent).
    expect(results.filter((r) => r.statusCode === 401)).toHaveLength(3);
    expect(results.filter((r) => r.code === "INVALID_MFA_CODE").length).toBeGreaterThanOrEqual(2);
    // Sequential replay on a fresh challenge.
    const again = await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: await challenge(), code } });
    expect(again.code).toBe("INVALID_MFA_CODE");
    // An earlier step than the one used is refused too (steps only move forward).
    const earlier = oathtoolCode(secret, clock.now() - 30_000);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: await challenge(), code: earlier } })).code).toBe("INVALID_MFA_CODE");
    clock.advance(30_000);
    const fresh = await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: await challenge(), code: oathtoolCode(secret, clock.now()) } });
    expect(fresh.statusCode).toBe(200);
  });

  it("a backup code is single use; an MFA challenge has its own attempt cap", async () => {
    const u = await registerAndLogin(t.app);
    const { backupCodes } = await enableMfa(t.app, u.accessToken, clock.now());
    expect(backupCodes).toHaveLength(10);
    const challenge = async () => (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } })).data.mfaToken as string;
    const first = await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: await challenge(), code: backupCodes[0] } });
    expect(first.statusCode).toBe(200);
    const reuse = await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: await challenge(), code: backupCodes[0] } });
    expect(reuse.code).toBe("INVALID_MFA_CODE");

    const capped = await challenge();
    for (let i = 0; i < 5; i++) expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: capped, code: "000000" } })).code).toBe("INVALID_MFA_CODE");
    // The cap is reached: even a valid backup code no longer opens this challenge.
    const late = await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: capped, code: backupCodes[1] } });
    expect(late.statusCode).toBe(401);
  });

  it("password reset never bypasses MFA", async () => {
    const u = await registerAndLogin(t.app);
    await enableMfa(t.app, u.accessToken, clock.now());
    const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } });
    expect(login.data).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });
    expect(login.data.accessToken).toBeUndefined();
  });

  it("an API key works until revoked, and never beyond its scopes", async () => {
    const u = await registerAndLogin(t.app);
    const created = await call(t.app, { method: "POST", url: "/v1/api-keys", token: u.accessToken, body: { name: "ci", scopes: ["me:read"] } });
    expect(created.statusCode).toBe(201);
    const key = created.data.key as string;
    expect(key).toMatch(/^rp_/);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: key })).statusCode).toBe(200);
    // Outside its scopes: 403, although the owner may.
    expect((await call(t.app, { method: "GET", url: "/v1/api-keys", token: key })).code).toBe("FORBIDDEN");
    // A key cannot grant what the user lacks.
    const escalate = await call(t.app, { method: "POST", url: "/v1/api-keys", token: u.accessToken, body: { name: "x", scopes: ["users:write"] } });
    expect(escalate.code).toBe("VALIDATION_FAILED");
    const listed = await call(t.app, { method: "GET", url: "/v1/api-keys", token: u.accessToken });
    expect(JSON.stringify(listed.json())).not.toContain(key);
    expect((await call(t.app, { method: "DELETE", url: `/v1/api-keys/${created.data.id}`, token: u.accessToken })).statusCode).toBe(200);
    const after = await call(t.app, { method: "GET", url: "/v1/me", token: key });
    expect(after.statusCode).toBe(401);
    expect(after.code).toBe("UNAUTHENTICATED");
    // A flipped character fails the checksum.
    const flipped = key.slice(0, -1) + (key.endsWith("a") ? "b" : "a");
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: flipped })).code).toBe("UNAUTHENTICATED");
  });

  it("another user's API key or session cannot be deleted (404, not 403)", async () => {
    const a = await registerAndLogin(t.app);
    const b = await registerAndLogin(t.app);
    const key = await call(t.app, { method: "POST", url: "/v1/api-keys", token: a.accessToken, body: { name: "a", scopes: ["me:read"] } });
    expect((await call(t.app, { method: "DELETE", url: `/v1/api-keys/${key.data.id}`, token: b.accessToken })).statusCode).toBe(404);
    const sessions = await call(t.app, { method: "GET", url: "/v1/auth/sessions", token: a.accessToken });
    const sid = sessions.data.sessions[0].id;
    expect((await call(t.app, { method: "DELETE", url: `/v1/auth/sessions/${sid}`, token: b.accessToken })).statusCode).toBe(404);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: a.accessToken })).statusCode).toBe(200);
  });

  it("unknown email and wrong password take the same time (paired differences within 25 % of a login)", async () => {
    const users = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const creds = credentials();
        expect((await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds })).statusCode).toBe(202);
        return creds.email;
      }),
    );
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 20; i++) {
      // Each known email gets at most 4 wrong guesses: under the lockout threshold.
      const email = users[i % users.length]!;
      if (i > 0 && i % users.length === 0) for (const e of users) await t.app.identity.lockout.unlock(t.app.identity.users.emailKey(e));
      let t0 = performance.now();
      await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email, password: "definitely wrong password" } });
      known.push(performance.now() - t0);
      t0 = performance.now();
      await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: `nobody${i}.${Date.now()}@example.com`, password: "definitely wrong password" } });
      unknown.push(performance.now() - t0);
    }
    // Paired differences cancel drift in machine load; a leak (e.g. skipping argon2
    // for unknown emails) would shift their median by a whole hash.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const diffs = known.map((k, i) => k - unknown[i]!);
    expect(Math.abs(median(diffs))).toBeLessThan(0.25 * median([...known, ...unknown]));
  });
});
