/**
 * Threats: a stolen session (or API key) used to guess the account's
 * password or second factor through a sensitive action instead of the login
 * form, where no lockout applied; wrong TOTP or backup codes spread over
 * successive login challenges and several endpoints so no single cap is ever
 * reached (40 codes checked in a row); a backup code spent twice; a stolen
 * credential minting a write-scoped API key that outlives it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/runtime/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { enableMfa, makeAdmin, oathtoolCode } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

const WRONG = "not the password at all 42";

describe.each(testModes())("re-authentication under attack (%s)", (mode) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(mode, { clock });
  });
  afterAll(() => t.close());

  const login = (email: string, password: string) => call(t.app, { method: "POST", url: "/v1/auth/login", body: { email, password } });
  const challenge = async (u: { email: string; password: string }) => (await login(u.email, u.password)).data.mfaToken as string;
  const verify = (mfaToken: string, code: string) => call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken, code } });
  const nextCode = (secret: string) => {
    clock.advance(30_000);
    return oathtoolCode(secret, clock.now());
  };
  const adminToken = async () => {
    const a = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, a.userId);
    return (await login(a.email, a.password)).data.accessToken as string;
  };

  it("a stolen session guessing the password on DELETE /v1/me is locked after 5 failures, and so is the login", async () => {
    const u = await registerAndLogin(t.app);
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 7; i++) codes.push((await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: WRONG } })).code);
    expect(codes).toEqual([...Array(5).fill("INVALID_CREDENTIALS"), "ACCOUNT_LOCKED", "ACCOUNT_LOCKED"]);
    // Even the right password is refused now, on the action and at login.
    const right = await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: u.password } });
    expect(right.statusCode).toBe(423);
    expect(Number(right.headers["retry-after"])).toBeGreaterThan(0);
    const blocked = await login(u.email, u.password);
    expect(blocked.code).toBe("ACCOUNT_LOCKED");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode).toBe(200);
    const events = t.logs.records().filter((r) => r.target === `user:${u.userId}`).map((r) => r.event);
    expect(events.filter((e) => e === "auth.login.failed")).toHaveLength(5);
    expect(events).toContain("auth.locked");
  });

  it("parallel guesses on totp/disable, DELETE /v1/me and password change share one budget of 5 with login", async () => {
    const u = await registerAndLogin(t.app);
    const { secret } = await enableMfa(t.app, u.accessToken, clock.now());
    // Two failed logins first: the actions continue the same count.
    for (let i = 0; i < 2; i++) expect((await login(u.email, WRONG)).code).toBe("INVALID_CREDENTIALS");
    const code = nextCode(secret);
    const guesses = await Promise.all([
      ...Array.from({ length: 4 }, () => call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/disable", token: u.accessToken, body: { password: WRONG, code } })),
      ...Array.from({ length: 4 }, () => call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: WRONG, code } })),
      ...Array.from({ length: 4 }, () => call(t.app, { method: "POST", url: "/v1/auth/password/change", token: u.accessToken, body: { currentPassword: WRONG, newPassword: "a brand new passphrase 7", code } })),
    ]);
    const codes = guesses.map((r) => r.code);
    expect(codes.filter((c) => c === "INVALID_CREDENTIALS")).toHaveLength(3);
    expect(codes.filter((c) => c === "ACCOUNT_LOCKED")).toHaveLength(9);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/disable", token: u.accessToken, body: { password: u.password, code } })).code).toBe("ACCOUNT_LOCKED");
    expect((await login(u.email, u.password)).code).toBe("ACCOUNT_LOCKED");
  });

  it("40 wrong codes over successive login challenges: 5 are checked, then 423 MFA_LOCKED even for the right code", async () => {
    const u = await registerAndLogin(t.app);
    const { secret, backupCodes } = await enableMfa(t.app, u.accessToken, clock.now());
    // Guesses that are surely wrong: none of the codes valid now (±1 step of drift).
    const valid = new Set([-30_000, 0, 30_000].map((d) => oathtoolCode(secret, clock.now() + d)));
    const guesses = Array.from({ length: 60 }, (_, i) => String(100000 + i)).filter((g) => !valid.has(g)).slice(0, 40);
    const codes: (string | undefined)[] = [];
    // A fresh challenge for every guess: the per-challenge cap alone would never be reached.
    for (const guess of guesses) codes.push((await verify(await challenge(u), guess)).code);
    expect(codes.filter((c) => c === "INVALID_MFA_CODE")).toHaveLength(5);
    expect(codes.slice(5)).toEqual(Array(35).fill("MFA_LOCKED"));
    const right = await verify(await challenge(u), nextCode(secret));
    expect(right.statusCode).toBe(423);
    expect(right.code).toBe("MFA_LOCKED");
    expect(Number(right.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(right.headers["retry-after"])).toBeLessThanOrEqual(900);
    // The lock covers every endpoint that checks a code, backup codes included.
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/backup-codes/regenerate", token: u.accessToken, body: { code: nextCode(secret) } })).code).toBe("MFA_LOCKED");
    expect((await verify(await challenge(u), backupCodes[0]!)).code).toBe("MFA_LOCKED");
    expect(t.logs.records().some((r) => r.event === "mfa.locked" && r.target === `user:${u.userId}`)).toBe(true);
    // An admin unlock clears the second-factor lock too.
    const admin = await adminToken();
    expect((await call(t.app, { method: "POST", url: `/v1/admin/users/${u.userId}/unlock`, token: admin })).data).toEqual({ wasLocked: true });
    expect((await verify(await challenge(u), nextCode(secret))).statusCode).toBe(200);
  });

  it("wrong codes across endpoints count together per user; parallel guesses cannot pass the cap", async () => {
    const u = await registerAndLogin(t.app);
    const { secret } = await enableMfa(t.app, u.accessToken, clock.now());
    expect((await verify(await challenge(u), "111111")).code).toBe("INVALID_MFA_CODE");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/backup-codes/regenerate", token: u.accessToken, body: { code: "222222" } })).code).toBe("INVALID_MFA_CODE");
    expect((await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: u.password, code: "aaaa-bbbb-cccc" } })).code).toBe("INVALID_MFA_CODE");
    const valid = new Set([-30_000, 0, 30_000].map((d) => oathtoolCode(secret, clock.now() + d)));
    const guesses = Array.from({ length: 20 }, (_, i) => String(300000 + i)).filter((g) => !valid.has(g)).slice(0, 10);
    const parallel = await Promise.all(guesses.map((code) => call(t.app, { method: "POST", url: "/v1/auth/mfa/backup-codes/regenerate", token: u.accessToken, body: { code } })));
    const codes = parallel.map((r) => r.code);
    expect(codes.filter((c) => c === "INVALID_MFA_CODE")).toHaveLength(2);
    expect(codes.filter((c) => c === "MFA_LOCKED")).toHaveLength(8);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/disable", token: u.accessToken, body: { password: u.password, code: nextCode(secret) } })).code).toBe("MFA_LOCKED");
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: u.accessToken })).data.user.mfaEnabled).toBe(true);
  });

  it("a backup code is spent once across endpoints, even concurrently", async () => {
    const u = await registerAndLogin(t.app);
    const { backupCodes } = await enableMfa(t.app, u.accessToken, clock.now());
    const [first, second] = backupCodes as [string, string];
    expect((await verify(await challenge(u), first)).statusCode).toBe(200);
    // Spent at login: refused by the erasure and the MFA endpoints.
    expect((await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: u.password, code: first } })).code).toBe("INVALID_MFA_CODE");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/disable", token: u.accessToken, body: { password: u.password, code: first } })).code).toBe("INVALID_MFA_CODE");
    const tokens = [await challenge(u), await challenge(u), await challenge(u)];
    const race = await Promise.all(tokens.map((mfaToken) => verify(mfaToken, second)));
    expect(race.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(race.filter((r) => r.code === "INVALID_MFA_CODE")).toHaveLength(2);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode).toBe(200);
  });

  it("a write-scoped API key needs the owner's password (and code), also when a key asks for it", async () => {
    const u = await registerAndLogin(t.app);
    const mint = (token: string, body: Record<string, unknown>) => call(t.app, { method: "POST", url: "/v1/api-keys", token, body: { name: "k", ...body } });
    // Read-only scopes need nothing more.
    expect((await mint(u.accessToken, { scopes: ["me:read"] })).statusCode).toBe(201);
    const bare = await mint(u.accessToken, { scopes: ["files:write"] });
    expect(bare.statusCode).toBe(400);
    expect(bare.json().details.fields[0].path).toBe("body.password");
    expect((await mint(u.accessToken, { scopes: ["files:write"], password: WRONG })).code).toBe("INVALID_CREDENTIALS");
    const parent = await mint(u.accessToken, { scopes: ["api-keys:write", "me:read"], password: u.password });
    expect(parent.statusCode).toBe(201);
    const key = parent.data.key as string;
    // The key itself cannot mint a write-scoped child without the owner's password.
    expect((await mint(key, { scopes: ["api-keys:write"] })).statusCode).toBe(400);
    expect((await mint(key, { scopes: ["api-keys:write"], password: WRONG })).code).toBe("INVALID_CREDENTIALS");
    expect((await mint(key, { scopes: ["api-keys:write"], password: u.password })).statusCode).toBe(201);
    // A key's guesses count toward the account lockout like a login's.
    for (let i = 0; i < 5; i++) expect((await mint(key, { scopes: ["api-keys:write"], password: WRONG })).code).toBe("INVALID_CREDENTIALS");
    expect((await mint(key, { scopes: ["api-keys:write"], password: u.password })).code).toBe("ACCOUNT_LOCKED");
    expect((await login(u.email, u.password)).code).toBe("ACCOUNT_LOCKED");

    // With MFA on, the password alone is not enough.
    const m = await registerAndLogin(t.app);
    const { secret } = await enableMfa(t.app, m.accessToken, clock.now());
    expect((await mint(m.accessToken, { scopes: ["files:write"], password: m.password })).code).toBe("INVALID_MFA_CODE");
    expect((await mint(m.accessToken, { scopes: ["files:write"], password: m.password, code: nextCode(secret) })).statusCode).toBe(201);
  });
});
