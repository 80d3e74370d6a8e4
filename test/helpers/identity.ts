/** Identity test helpers: admins, TOTP codes from an independent generator, MFA set-up. */
import { execFileSync } from "node:child_process";
import type { FastifyInstance } from "fastify";
import type { Runtime } from "../../src/runtime/index.js";
import { call } from "./api.js";

/** Grants the admin role directly in the database (the API needs an admin to do it). */
export async function makeAdmin(app: FastifyInstance, runtime: Runtime, userId: string): Promise<void> {
  await runtime.db.kysely.updateTable("rampart_users").set({ roles: ["admin", "user"] }).where("id", "=", userId).execute();
  await app.identity.users.changed(userId);
}

/** A TOTP code computed by `oathtool` (an independent RFC 6238 implementation) at `nowMs`. */
export function oathtoolCode(base32Secret: string, nowMs: number): string {
  return execFileSync("oathtool", ["--totp", "-b", base32Secret, "-N", `@${Math.floor(nowMs / 1000)}`], { encoding: "utf8" }).trim();
}

/** Enrolls and confirms TOTP for a logged-in user; returns the secret and backup codes. */
export async function enableMfa(app: FastifyInstance, accessToken: string, nowMs: number): Promise<{ secret: string; backupCodes: string[] }> {
  const enroll = await call(app, { method: "POST", url: "/v1/auth/mfa/totp/enroll", token: accessToken });
  if (enroll.statusCode !== 200) throw new Error(`enroll failed: ${enroll.body}`);
  const secret = enroll.data.secret as string;
  const confirm = await call(app, { method: "POST", url: "/v1/auth/mfa/totp/confirm", token: accessToken, body: { code: oathtoolCode(secret, nowMs) } });
  if (confirm.statusCode !== 200) throw new Error(`confirm failed: ${confirm.body}`);
  return { secret, backupCodes: confirm.data.backupCodes };
}
