/**
 * Registration, the bootstrap admin and the password rehash at login, driven
 * through the Identity capability on a real runtime: the paths a failing
 * hasher, a lost race for an address, a disabled owner or a hash made with
 * older argon2 parameters take.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { authenticate, can, createIdentity, ensureBootstrapAdmin, login, register, signUp, type Identity } from "../../src/auth/index.js";
import { isRampartError } from "../../src/errors/index.js";
import { credentials } from "../helpers/api.js";
import { createTestEnv, testModes, type ModeName, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";
import type { LogCapture } from "../helpers/logs.js";
import type { Runtime } from "../../src/runtime/index.js";
import { FLOOR, hasherWith } from "./password/helpers.js";

interface Harness {
  env: TestEnv;
  runtime: Runtime;
  logs: LogCapture;
  identity: Identity;
  close(): Promise<void>;
}

async function harness(mode: ModeName, overrides: Record<string, string> = {}, hasher = hasherWith(FLOOR)): Promise<Harness> {
  const env = await createTestEnv(mode, overrides);
  const { runtime, logs } = await createTestRuntime(env);
  const identity = await createIdentity(runtime, { hasher, deliverMail: false });
  return {
    env,
    runtime,
    logs,
    identity,
    async close() {
      await identity.close();
      await hasher.close();
      await runtime.close();
      await env.cleanup();
    },
  };
}

/** A hasher whose threads are shut: every hash fails with 503 SERVICE_UNAVAILABLE. */
async function closedHasher() {
  const hasher = hasherWith(FLOOR);
  await hasher.close();
  return hasher;
}

const client = { ip: "192.0.2.10", userAgent: "coverage test" };

const errorCode = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
  } catch (err) {
    return isRampartError(err) ? err.code : `not a RampartError: ${String(err)}`;
  }
  return undefined;
};

async function counts(h: Harness) {
  const db = h.runtime.db.kysely;
  const n = async (table: "rampart_users" | "rampart_subject_keys" | "rampart_outbox") => Number((await db.selectFrom(table).select(db.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);
  return { users: await n("rampart_users"), keys: await n("rampart_subject_keys"), mails: await n("rampart_outbox") };
}

describe.each(testModes())("registration paths (%s)", (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(mode);
  });
  afterAll(() => h.close());

  it("register refuses an address that has an account with EMAIL_TAKEN and leaves that account's password alone", async () => {
    const owner = credentials();
    const user = await register(h.identity, owner);
    const before = await counts(h);
    expect(await errorCode(register(h.identity, { email: owner.email.toUpperCase(), password: "another strong passphrase here" }))).toBe("EMAIL_TAKEN");
    expect(await counts(h)).toEqual(before);
    const pair = await login(h.identity, owner, client);
    expect("accessToken" in pair && pair.user.id).toBe(user.id);
  });

  it("two self-service registrations racing for one address make one account; the loser gets the answer of an existing address", async () => {
    const creds = credentials();
    const results = await Promise.all([signUp(h.identity, creds), signUp(h.identity, { ...creds, password: `${creds.password} bis` })]);
    // Silent mode answers a new address as it answers a taken one.
    expect(results).toEqual([{ created: false }, { created: false }]);
    const rows = await h.runtime.db.kysely.selectFrom("rampart_users").select("id").where("email_bidx", "=", h.identity.users.emailKey(creds.email)).execute();
    expect(rows).toHaveLength(1);
  });

  it("an attempt to register a disabled account's address queues no notice and audits notified: false", async () => {
    const owner = credentials();
    const user = await register(h.identity, owner);
    await h.runtime.db.kysely.updateTable("rampart_users").set({ status: "disabled" }).where("id", "=", user.id).execute();
    await h.identity.users.changed(user.id);
    const before = await counts(h);
    expect(await signUp(h.identity, { email: owner.email, password: "someone else's passphrase" })).toEqual({ created: false });
    expect(await counts(h)).toEqual(before);
    const audit = await h.runtime.db.kysely.selectFrom("rampart_audit_log").select("data").where("action", "=", "auth.register.existing").where("target", "=", `user:${user.id}`).execute();
    expect(audit.map((r) => JSON.parse(r.data))).toEqual([{ notified: false }]);
  });

  it("a second attempt within the notice cooldown queues no second notice", async () => {
    const owner = credentials();
    await signUp(h.identity, owner);
    const user = (await h.identity.users.findByEmail(h.runtime.db.kysely, owner.email))!;
    const notices = () => h.runtime.db.kysely.selectFrom("rampart_outbox").select("id").where("kind", "=", "registration-notice").where("user_id", "=", user.id).execute();
    await signUp(h.identity, { email: owner.email, password: "attempt one passphrase" });
    await signUp(h.identity, { email: owner.email, password: "attempt two passphrase" });
    expect(await notices()).toHaveLength(1);
    const audit = await h.runtime.db.kysely.selectFrom("rampart_audit_log").select("data").where("action", "=", "auth.register.existing").where("target", "=", `user:${user.id}`).orderBy("seq").execute();
    expect(audit.map((r) => JSON.parse(r.data))).toEqual([{ notified: true }, { notified: false }]);
  });

  it("a login with a hash made at older argon2 parameters upgrades it to the configured ones; the password still logs in", async () => {
    const creds = credentials();
    const user = await register(h.identity, creds);
    const old = hasherWith({ memoryKib: 4096, iterations: 1, parallelism: 1 });
    const legacy = await old.hash(creds.password);
    await old.close();
    const db = h.runtime.db.kysely;
    await db.updateTable("rampart_users").set({ password_hash: legacy }).where("id", "=", user.id).execute();
    await login(h.identity, creds, client);
    const stored = (await db.selectFrom("rampart_users").select("password_hash").where("id", "=", user.id).executeTakeFirstOrThrow()).password_hash!;
    expect(stored).not.toBe(legacy);
    expect(h.identity.hasher.needsRehash(stored)).toBe(false);
    expect(await h.identity.hasher.verify(stored, creds.password)).toEqual({ ok: true, needsRehash: false });
    expect("accessToken" in (await login(h.identity, creds, client))).toBe(true);
  });

  it("the rehash is compare-and-set: a hash changed meanwhile is not overwritten", async () => {
    const creds = credentials();
    const user = await register(h.identity, creds);
    const db = h.runtime.db.kysely;
    const current = (await db.selectFrom("rampart_users").select("password_hash").where("id", "=", user.id).executeTakeFirstOrThrow()).password_hash!;
    const upgraded = await h.identity.hasher.hash(creds.password);
    expect(await h.identity.credentials.upgradeHash(user.id, "$argon2id$v=19$m=4096,t=1,p=1$stale$stale", upgraded)).toBe(false);
    expect((await db.selectFrom("rampart_users").select("password_hash").where("id", "=", user.id).executeTakeFirstOrThrow()).password_hash).toBe(current);
    expect(await h.identity.credentials.upgradeHash(user.id, current, upgraded)).toBe(true);
    expect((await h.identity.credentials.read(user.id))?.passwordHash).toBe(upgraded);
    // An unknown user has no credential state (and nothing to upgrade).
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect(await h.identity.credentials.read(unknown)).toBeUndefined();
    expect(await h.identity.credentials.upgradeHash(unknown, current, upgraded)).toBe(false);
  });
});

describe.each(testModes())("principals (%s)", (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(mode);
  });
  afterAll(() => h.close());

  it("a user's principal can exactly what the user role grants; an admin's can everything", async () => {
    const registry = h.identity.permissions;
    const userCreds = credentials();
    const adminCreds = credentials();
    await register(h.identity, userCreds);
    await register(h.identity, { ...adminCreds, roles: ["admin", "user"] });
    const principalOf = async (creds: { email: string; password: string }) => {
      const pair = await login(h.identity, creds, client);
      if (!("accessToken" in pair)) throw new Error("expected tokens");
      return authenticate(h.identity, `Bearer ${pair.accessToken}`);
    };
    const user = await principalOf(userCreds);
    const admin = await principalOf(adminCreds);
    const granted = registry.permissionsOfRole("user");
    const withheld = registry.all().filter((p) => !granted.has(p));
    expect(granted.size).toBeGreaterThan(0);
    expect(withheld.length).toBeGreaterThan(0);
    for (const p of registry.all()) {
      expect(can(user, p), p).toBe(granted.has(p));
      expect(can(admin, p), p).toBe(true);
    }
  });
});

describe.each(testModes())("registration in explicit conflict mode (%s)", (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(mode, { AUTH_REGISTRATION_CONFLICT: "explicit" });
  });
  afterAll(() => h.close());

  it("of two registrations racing for one address, the loser is refused with EMAIL_TAKEN", async () => {
    const creds = credentials();
    const results = await Promise.allSettled([signUp(h.identity, creds), signUp(h.identity, { ...creds, password: `${creds.password} bis` })]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(isRampartError(lost[0]!.reason) && lost[0]!.reason.code).toBe("EMAIL_TAKEN");
  });
});

describe.each(testModes())("registration while the password hasher is down (%s)", (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(mode, {}, await closedHasher());
  });
  afterAll(() => h.close());

  it("register and signUp fail with 503 SERVICE_UNAVAILABLE and leave no account and no key behind", async () => {
    const before = await counts(h);
    expect(await errorCode(register(h.identity, credentials()))).toBe("SERVICE_UNAVAILABLE");
    expect(await errorCode(signUp(h.identity, credentials()))).toBe("SERVICE_UNAVAILABLE");
    expect(await counts(h)).toEqual(before);
  });
});

describe.each(testModes())("bootstrap admin (%s)", (mode) => {
  const harnesses: Harness[] = [];
  const open = async (overrides: Record<string, string>, hasher?: ReturnType<typeof hasherWith>) => {
    const h = await harness(mode, overrides, hasher);
    harnesses.push(h);
    return h;
  };
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
  });
  const bootstrapRows = (h: Harness) => h.runtime.db.kysely.selectFrom("rampart_bootstrap").selectAll().execute();

  it("refuses to start without the bootstrap-admin-password secret, naming it", async () => {
    const h = await open({ RAMPART_BOOTSTRAP_ADMIN_EMAIL: credentials().email });
    await expect(ensureBootstrapAdmin(h.identity)).rejects.toThrow(/secret `bootstrap-admin-password` is missing/);
    expect((await counts(h)).users).toBe(0);
    expect(await bootstrapRows(h)).toEqual([]);
  });

  it("refuses a password the policy rejects, keeping the validation error as the cause", async () => {
    const h = await open({ RAMPART_BOOTSTRAP_ADMIN_EMAIL: credentials().email, RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD: "password123456" });
    const err = await ensureBootstrapAdmin(h.identity).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe("the secret `bootstrap-admin-password` does not pass the password policy");
    expect(isRampartError(err?.cause) && err.cause.code).toBe("VALIDATION_FAILED");
    expect(await bootstrapRows(h)).toEqual([]);
  });

  it("passes on any other failure (the hasher down) and records nothing", async () => {
    const h = await open({ RAMPART_BOOTSTRAP_ADMIN_EMAIL: credentials().email, RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD: "correct horse battery staple boot" }, await closedHasher());
    expect(await errorCode(ensureBootstrapAdmin(h.identity))).toBe("SERVICE_UNAVAILABLE");
    expect(await bootstrapRows(h)).toEqual([]);
  });

  it("an account that already has the address is recorded as the bootstrap admin, unchanged", async () => {
    const owner = credentials();
    const h = await open({ RAMPART_BOOTSTRAP_ADMIN_EMAIL: owner.email, RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD: "a different bootstrap passphrase" });
    const user = await register(h.identity, owner);
    await ensureBootstrapAdmin(h.identity);
    expect((await bootstrapRows(h)).map((r) => ({ step: r.step, user: r.user_id }))).toEqual([{ step: "admin", user: user.id }]);
    expect((await counts(h)).users).toBe(1);
    // Its password and roles are the ones it had: the bootstrap password does not log in.
    expect((await h.identity.users.profile(user.id))?.roles).toEqual(["user"]);
    expect(await errorCode(login(h.identity, { email: owner.email, password: "a different bootstrap passphrase" }, client))).toBe("INVALID_CREDENTIALS");
  });

  it("two instances starting at once create one admin; the one that loses the race does not fail", async () => {
    const boot = credentials();
    const h = await open({ RAMPART_BOOTSTRAP_ADMIN_EMAIL: boot.email, RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD: boot.password });
    await Promise.all([ensureBootstrapAdmin(h.identity), ensureBootstrapAdmin(h.identity)]);
    const admins = await h.runtime.db.kysely.selectFrom("rampart_users").select(["id", "roles"]).execute();
    expect(admins).toHaveLength(1);
    expect(admins[0]!.roles).toEqual(["admin", "user"]);
    expect((await bootstrapRows(h)).map((r) => r.user_id)).toEqual([admins[0]!.id]);
  });
});
