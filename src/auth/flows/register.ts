/** Registration: policy-checked password, encrypted email, unique by blind index. */
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { publicUser, type PublicUser } from "./common.js";

const UNIQUE_VIOLATION = "23505";

/** Words the password must not lean on: the email and its local part. */
export function emailInputs(email: string): string[] {
  const local = email.split("@")[0] ?? "";
  return [email, local].filter((s) => s.length >= 3);
}

export async function register(identity: Identity, input: { email: string; password: string; roles?: string[] }): Promise<PublicUser> {
  const { users, hasher, policy, runtime } = identity;
  const email = users.normalizeEmail(input.email);
  const normalized = await policy.assertAcceptable(input.password, { userInputs: emailInputs(email) });
  if (await users.findByEmail(runtime.db.kysely, email)) throw new RampartError("EMAIL_TAKEN");
  const passwordHash = await hasher.hash(normalized);
  const roles = input.roles ?? ["user"];
  const { row, discard } = await users.prepare({ email, passwordHash, roles });
  const id = row.id;
  try {
    await runtime.db.kysely.transaction().execute(async (trx) => {
      await trx.insertInto("rampart_users").values(row).execute();
      await runtime.events.emit("auth.registered", { actor: { type: "user", id }, target: `user:${id}`, data: { roles } }, trx);
    });
  } catch (err) {
    await discard().catch(() => undefined);
    // Two registrations racing for one email: the unique blind index decides.
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new RampartError("EMAIL_TAKEN");
    throw err;
  }
  const profile = await users.profile(id);
  return publicUser(profile!);
}
