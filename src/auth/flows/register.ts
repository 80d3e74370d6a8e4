/**
 * Account creation: a policy-checked password, the email encrypted and unique
 * by blind index.
 *
 * `signUp` is self-service registration. In the default `silent` conflict
 * mode it must not tell whether an address has an account: a new and an
 * existing address get the same 202 with the same body, and both branches do
 * the same work in the same order, so the answer's time does not tell either:
 * the argon2 hash of the password, and beside it (on the event loop while the
 * hash runs on its thread) the branch's key work — a new account's key and
 * its encrypted verification mail, or the owner's encrypted notice — then
 * one transaction that queues the mail and writes an audited event. A new
 * account is mailed a verification link; the owner of an existing one a
 * notice. In `explicit` mode it answers 201 with the user or 409 EMAIL_TAKEN.
 *
 * `register` creates an account directly (bootstrap admin, `rampart users
 * create-admin`, host apps): the operator chose the address, so the account
 * counts as verified unless `verified: false` is passed.
 */
import type { Insertable } from "kysely";
import type { OutboxTable, UsersTable } from "../../db/tables.js";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { publicUser, type PublicUser } from "./common.js";
import { prepareVerification, type VerificationWriter } from "./email-verification.js";

const UNIQUE_VIOLATION = "23505";
/** At most one registration notice per account in this time (register is the sender an attacker controls). */
export const NOTICE_COOLDOWN_MS = 15 * 60_000;

/** Words the password must not lean on: the email and its local part. */
export function emailInputs(email: string): string[] {
  const local = email.split("@")[0] ?? "";
  return [email, local].filter((s) => s.length >= 3);
}

export type SignUpResult = { created: true; user: PublicUser } | { created: false };

/** Self-service registration; see the module comment for what each mode answers. */
export async function signUp(identity: Identity, input: { email: string; password: string }): Promise<SignUpResult> {
  const { users, hasher, policy, runtime } = identity;
  const email = users.normalizeEmail(input.email);
  // The policy does not depend on whether the account exists: a weak password may be refused first.
  const normalized = await policy.assertAcceptable(input.password, { userInputs: emailInputs(email) });
  const existing = await users.findByEmail(runtime.db.kysely, email);
  const explicit = runtime.config.authRegistrationConflict === "explicit";
  if (existing && explicit) throw new RampartError("EMAIL_TAKEN");
  // Hashed in both branches: an existing address must cost what a new one costs.
  if (existing) {
    const [, notice] = await besideHash(hasher.hash(normalized), prepareNotice(identity, existing), async () => undefined);
    await commitNotice(identity, notice);
    return { created: false };
  }
  const [passwordHash, account] = await besideHash(hasher.hash(normalized), prepareAccount(identity, { email, roles: ["user"], verified: false }), (a) => a.discard());
  try {
    const user = await commitAccount(identity, account, passwordHash, explicit);
    return user ? { created: true, user } : { created: false };
  } catch (err) {
    // Lost a race for the address: in silent mode that is an existing address like any other.
    if (!explicit && err instanceof RampartError && err.code === "EMAIL_TAKEN") return { created: false };
    throw err;
  }
}

/** Creates an account directly; see the module comment. Throws EMAIL_TAKEN when the address has an account. */
export async function register(identity: Identity, input: { email: string; password: string; roles?: string[]; verified?: boolean }): Promise<PublicUser> {
  const { users, hasher, policy, runtime } = identity;
  const email = users.normalizeEmail(input.email);
  const normalized = await policy.assertAcceptable(input.password, { userInputs: emailInputs(email) });
  if (await users.findByEmail(runtime.db.kysely, email)) throw new RampartError("EMAIL_TAKEN");
  const account = await prepareAccount(identity, { email, roles: input.roles ?? ["user"], verified: input.verified ?? true });
  const passwordHash = await hasher.hash(normalized).catch(async (err: unknown) => {
    await account.discard();
    throw err;
  });
  return (await commitAccount(identity, account, passwordHash, true))!;
}

/** Runs the password hash and a branch's preparation side by side; when the hash fails, undoes the preparation. */
async function besideHash<T>(hash: Promise<string>, prepare: Promise<T>, undo: (prepared: T) => Promise<void>): Promise<[string, T]> {
  const [h, p] = await Promise.allSettled([hash, prepare]);
  if (h.status === "rejected") {
    if (p.status === "fulfilled") await undo(p.value).catch(() => undefined);
    throw h.reason;
  }
  if (p.status === "rejected") throw p.reason;
  return [h.value, p.value];
}

interface PreparedAccount {
  row: Insertable<UsersTable>;
  roles: string[];
  verified: boolean;
  writeVerification: VerificationWriter | undefined;
  discard: () => Promise<void>;
}

/**
 * A new user's row (its key created, the email encrypted) and, when
 * unverified, the verification mail — everything before the transaction (the
 * keyring uses the database, which a transaction holds in embedded mode).
 */
async function prepareAccount(identity: Identity, input: { email: string; roles: string[]; verified: boolean }): Promise<PreparedAccount> {
  const { users, runtime } = identity;
  const { roles, verified } = input;
  const { row, discard } = await users.prepare({ email: input.email, passwordHash: null, roles });
  if (verified) row.email_verified_at = new Date(runtime.clock.now());
  try {
    const writeVerification = verified ? undefined : await prepareVerification(identity, row.id, input.email);
    return { row, roles, verified, writeVerification, discard };
  } catch (err) {
    await discard().catch(() => undefined);
    throw err;
  }
}

/** Inserts the user, its verification link and mail, and the audit entry in one transaction; the public user when `profile`. */
async function commitAccount(identity: Identity, account: PreparedAccount, passwordHash: string, profile: boolean): Promise<PublicUser | undefined> {
  const { users, runtime, outbox } = identity;
  const { row, roles, verified, writeVerification } = account;
  const id = row.id;
  row.password_hash = passwordHash;
  try {
    await runtime.db.kysely.transaction().execute(async (trx) => {
      await trx.insertInto("rampart_users").values(row).execute();
      await writeVerification?.(trx);
      await runtime.events.emit("auth.registered", { actor: { type: "user", id }, target: `user:${id}`, data: { roles, emailVerified: verified } }, trx);
    });
  } catch (err) {
    await account.discard().catch(() => undefined);
    // Two registrations racing for one email: the unique blind index decides.
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new RampartError("EMAIL_TAKEN");
    throw err;
  }
  // Delivery starts now but is not awaited: the answer never waits for (or is timed by) the mail server.
  if (writeVerification) void outbox.kick();
  if (!profile) return undefined;
  return publicUser((await users.profile(id))!);
}

interface PreparedNotice {
  userId: string;
  mail: Insertable<OutboxTable> | undefined;
}

/**
 * The notice to the owner of an existing address that someone tried to
 * register with it. It is encrypted whatever happens next (the same key work
 * as a new account's mail), but only queued for an active account that had
 * no notice in the last NOTICE_COOLDOWN_MS.
 */
async function prepareNotice(identity: Identity, user: { id: string; status: string }): Promise<PreparedNotice> {
  const { runtime, users, outbox } = identity;
  const since = new Date(runtime.clock.now() - NOTICE_COOLDOWN_MS);
  const recent = await runtime.db.kysely.selectFrom("rampart_outbox").select("id").where("user_id", "=", user.id).where("kind", "=", "registration-notice").where("created_at", ">", since).executeTakeFirst();
  const profile = await users.profile(user.id);
  const base = runtime.config.publicUrl;
  const mail = await outbox.prepare(user.id, "registration-notice", {
    to: profile?.email ?? "",
    subject: "Someone tried to create an account with your address",
    text:
      `Someone tried to create a new account with this email address, which already has an account.\n\n` +
      `If it was you: you do not need a new account. Log in at ${base}/login, or, if you forgot your password, reset it at ${base}/forgot-password.\n\n` +
      `If it was not you, ignore this message: nothing was changed, and your password was not used.\n`,
  });
  return { userId: user.id, mail: profile && !recent && user.status === "active" ? mail : undefined };
}

/** One transaction, as for a new account: the notice (when due) and the audit entry of the attempt. */
async function commitNotice(identity: Identity, notice: PreparedNotice): Promise<void> {
  const { runtime, outbox } = identity;
  const { userId, mail } = notice;
  await runtime.db.kysely.transaction().execute(async (trx) => {
    if (mail) await outbox.enqueue(trx, mail);
    await runtime.events.emit("auth.register.existing", { actor: { type: "anonymous" }, target: `user:${userId}`, data: { notified: mail !== undefined } }, trx);
  });
  if (mail) void outbox.kick();
}
