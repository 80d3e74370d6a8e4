/**
 * TOTP enrollment, confirmation and disabling, and the MFA step of login, on
 * the paths a client gets wrong: enrolling twice, confirming without an
 * enrollment or with a wrong code, disabling when MFA is off; a disabled MFA
 * that lets login through again; an MFA challenge that dies with the
 * account's disabling or a password change made meanwhile.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollTotp } from "../../src/auth/flows/mfa.js";
import { isRampartError } from "../../src/errors/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { enableMfa, oathtoolCode } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("MFA flows on client mistakes (%s)", (mode) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(mode, { clock });
  });
  afterAll(() => t.close());

  const nextCode = (secret: string) => {
    clock.advance(30_000);
    return oathtoolCode(secret, clock.now());
  };
  const login = (email: string, password: string) => call(t.app, { method: "POST", url: "/v1/auth/login", body: { email, password } });
  const verify = (mfaToken: string, code: string) => call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken, code } });
  const eventsOf = (userId: string) => t.logs.records().filter((r) => r.target === `user:${userId}`);

  it("enrolling for an account that no longer exists is UNAUTHENTICATED", async () => {
    const err = await enrollTotp(t.app.identity, randomUUID()).catch((e: unknown) => e);
    expect(isRampartError(err) && err.code).toBe("UNAUTHENTICATED");
  });

  it("confirm without a pending enrollment, or with a wrong code, enables nothing", async () => {
    const u = await registerAndLogin(t.app);
    const none = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/confirm", token: u.accessToken, body: { code: "123456" } });
    expect(none.statusCode).toBe(409);
    expect(none.code).toBe("CONFLICT");
    expect(JSON.parse(none.body).message).toContain("no pending TOTP enrollment");

    const enroll = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/enroll", token: u.accessToken });
    expect(enroll.statusCode).toBe(200);
    const right = oathtoolCode(enroll.data.secret as string, clock.now());
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, "0");
    const bad = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/confirm", token: u.accessToken, body: { code: wrong } });
    expect(bad.statusCode).toBe(401);
    expect(bad.code).toBe("INVALID_MFA_CODE");
    expect(eventsOf(u.userId).filter((r) => r.event === "mfa.failed").map((r) => (r.data as { reason?: string } | undefined)?.reason)).toEqual(["enroll-confirm"]);
    // Still off: login needs no second step.
    expect((await login(u.email, u.password)).data.accessToken).toEqual(expect.any(String));
    // The pending enrollment survives the wrong code; the right one enables MFA.
    const ok = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/confirm", token: u.accessToken, body: { code: right } });
    expect(ok.statusCode).toBe(200);
    expect((await login(u.email, u.password)).data.mfaRequired).toBe(true);
  });

  it("enrolling again while MFA is on is a conflict; disabling with password and code turns it off", async () => {
    const u = await registerAndLogin(t.app);
    const off = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/disable", token: u.accessToken, body: { password: u.password, code: "123456" } });
    expect(off.statusCode).toBe(409);
    expect(JSON.parse(off.body).message).toBe("MFA is not enabled.");

    const { secret } = await enableMfa(t.app, u.accessToken, clock.now());
    const again = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/enroll", token: u.accessToken });
    expect(again.statusCode).toBe(409);
    expect(JSON.parse(again.body).message).toContain("MFA is already enabled");

    const disabled = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/disable", token: u.accessToken, body: { password: u.password, code: nextCode(secret) } });
    expect(disabled.statusCode).toBeLessThan(300);
    expect(eventsOf(u.userId).map((r) => r.event)).toContain("mfa.disabled");
    const pair = await login(u.email, u.password);
    expect(pair.statusCode).toBe(200);
    expect(pair.data.mfaRequired).toBeUndefined();
    expect(pair.data.accessToken).toEqual(expect.any(String));
  });

  it("an MFA challenge ends when the account is disabled or its password changes before the code is given", async () => {
    const u = await registerAndLogin(t.app);
    const { secret } = await enableMfa(t.app, u.accessToken, clock.now());
    const db = t.runtime.db.kysely;

    const unknown = await verify("no-such-challenge", nextCode(secret));
    expect(unknown.statusCode).toBe(401);
    expect(unknown.code).toBe("UNAUTHENTICATED");

    // Disabled after step one: the right code is refused and the challenge is gone.
    const first = (await login(u.email, u.password)).data.mfaToken as string;
    await db.updateTable("rampart_users").set({ status: "disabled" }).where("id", "=", u.userId).execute();
    await t.app.identity.users.changed(u.userId);
    expect((await verify(first, nextCode(secret))).code).toBe("UNAUTHENTICATED");
    await db.updateTable("rampart_users").set({ status: "active" }).where("id", "=", u.userId).execute();
    await t.app.identity.users.changed(u.userId);
    expect((await verify(first, nextCode(secret))).code).toBe("UNAUTHENTICATED");

    // Password changed after step one: the challenge proved the old password, so it ends.
    const second = (await login(u.email, u.password)).data.mfaToken as string;
    const change = await call(t.app, {
      method: "POST",
      url: "/v1/auth/password/change",
      token: u.accessToken,
      body: { currentPassword: u.password, newPassword: "a brand new passphrase 7", code: nextCode(secret) },
    });
    expect(change.statusCode).toBeLessThan(300);
    expect((await verify(second, nextCode(secret))).code).toBe("UNAUTHENTICATED");
    // A fresh challenge with the new password works.
    const third = (await login(u.email, "a brand new passphrase 7")).data.mfaToken as string;
    const ok = await verify(third, nextCode(secret));
    expect(ok.statusCode).toBe(200);
    expect(ok.data.accessToken).toEqual(expect.any(String));
  });
});
