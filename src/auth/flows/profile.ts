/** The caller's own profile: read (cached) and update (display name). */
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { publicUser, type PublicUser } from "./common.js";

export async function getMe(identity: Identity, userId: string): Promise<PublicUser> {
  const profile = await identity.users.profile(userId);
  if (!profile || profile.status !== "active") throw new RampartError("UNAUTHENTICATED");
  return publicUser(profile);
}

export async function updateMe(identity: Identity, userId: string, input: { name?: string | null }): Promise<PublicUser> {
  const { runtime, users } = identity;
  if (input.name !== undefined) {
    const name = input.name === null ? null : input.name.normalize("NFC").trim();
    const nameEnc = name ? await users.encryptName(userId, name) : null;
    await runtime.db.kysely.transaction().execute(async (trx) => {
      await trx.updateTable("rampart_users").set({ name_enc: nameEnc, updated_at: new Date(runtime.clock.now()) }).where("id", "=", userId).execute();
      await runtime.events.emit("user.updated", { actor: { type: "user", id: userId }, target: `user:${userId}`, data: { fields: ["name"] } }, trx);
    });
    await users.changed(userId);
  }
  return getMe(identity, userId);
}
