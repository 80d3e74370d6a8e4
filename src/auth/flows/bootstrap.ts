/**
 * The first admin. Either `rampart users create-admin --email` (password from
 * a terminal prompt or stdin) or, at first start, RAMPART_BOOTSTRAP_ADMIN_EMAIL
 * with the password from the secret `bootstrap-admin-password` — never a
 * default password. Both go through registration, so the password policy holds.
 *
 * The bootstrap happens once per deployment: a row in `rampart_bootstrap`
 * records it, so a restart with the variable still set after that admin was
 * erased (or renamed, or demoted) creates nothing.
 */
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { bootstrapDone, recordBootstrap } from "../stores/admins.js";
import { register } from "./register.js";
import type { PublicUser } from "./common.js";

export async function createAdmin(identity: Identity, email: string, password: string): Promise<PublicUser> {
  // The registration's audit entry records the admin role (auth.registered with its roles).
  return register(identity, { email, password, roles: ["admin", "user"] });
}

const STEP = "admin";

/** At start: creates the bootstrap admin once per deployment (never again once recorded). */
export async function ensureBootstrapAdmin(identity: Identity): Promise<void> {
  const { runtime } = identity;
  const db = runtime.db.kysely;
  const email = runtime.config.bootstrapAdminEmail;
  if (email === undefined) return;
  if (await bootstrapDone(db, STEP)) {
    runtime.log.info("bootstrap admin already created once; RAMPART_BOOTSTRAP_ADMIN_EMAIL is ignored (use `rampart users create-admin` for another admin)");
    return;
  }
  // Created before the record existed (or a crash came between the two writes): record it now.
  const existing = await identity.users.findByEmail(db, email);
  if (existing) return recordBootstrap(db, STEP, existing.id, new Date(runtime.clock.now()));
  const password = await runtime.secrets.getOptional("bootstrap-admin-password");
  if (password === undefined) {
    throw new Error("RAMPART_BOOTSTRAP_ADMIN_EMAIL is set but the secret `bootstrap-admin-password` is missing (e.g. RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD)");
  }
  try {
    const user = await createAdmin(identity, email, password);
    await recordBootstrap(db, STEP, user.id, new Date(runtime.clock.now()));
    runtime.log.info({ userId: user.id }, "bootstrap admin created");
  } catch (err) {
    // Another instance created it first (and records it).
    if (err instanceof RampartError && err.code === "EMAIL_TAKEN") return;
    if (err instanceof RampartError && err.code === "VALIDATION_FAILED") throw new Error("the secret `bootstrap-admin-password` does not pass the password policy", { cause: err });
    throw err;
  }
}
