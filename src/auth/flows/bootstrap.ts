/**
 * The first admin. Either `rampart users create-admin --email` (password from
 * a terminal prompt or stdin) or, at first start, RAMPART_BOOTSTRAP_ADMIN_EMAIL
 * with the password from the secret `bootstrap-admin-password` — never a
 * default password. Both go through registration, so the password policy holds.
 */
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { register } from "./register.js";
import type { PublicUser } from "./common.js";

export async function createAdmin(identity: Identity, email: string, password: string): Promise<PublicUser> {
  // The registration's audit entry records the admin role (auth.registered with its roles).
  return register(identity, { email, password, roles: ["admin", "user"] });
}

/** At start: creates the bootstrap admin once (a no-op when the account exists). */
export async function ensureBootstrapAdmin(identity: Identity): Promise<void> {
  const { runtime } = identity;
  const email = runtime.config.bootstrapAdminEmail;
  if (email === undefined) return;
  if (await identity.users.findByEmail(runtime.db.kysely, email)) return;
  const password = await runtime.secrets.getOptional("bootstrap-admin-password");
  if (password === undefined) {
    throw new Error("RAMPART_BOOTSTRAP_ADMIN_EMAIL is set but the secret `bootstrap-admin-password` is missing (e.g. RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD)");
  }
  try {
    const user = await createAdmin(identity, email, password);
    runtime.log.info({ userId: user.id }, "bootstrap admin created");
  } catch (err) {
    // Another instance created it first.
    if (err instanceof RampartError && err.code === "EMAIL_TAKEN") return;
    if (err instanceof RampartError && err.code === "VALIDATION_FAILED") throw new Error("the secret `bootstrap-admin-password` does not pass the password policy", { cause: err });
    throw err;
  }
}
