/**
 * Consent: a user's decision per configured purpose, kept as history (time,
 * policy version, client IP encrypted under the user's key) and audited in
 * the same transaction.
 */
import { randomUUID } from "node:crypto";
import { RampartError } from "../errors/index.js";
import type { Runtime } from "../runtime/index.js";

export interface ConsentState {
  purpose: string;
  granted: boolean;
  policyVersion: string | null;
  updatedAt: string | null;
}

export interface ConsentChange {
  purpose: string;
  granted: boolean;
  policyVersion: string;
  at: string;
  ip: string | null;
}

const ipContext = (id: string) => ({ table: "rampart_consents", column: "ip", id });

export async function listConsents(runtime: Runtime, userId: string): Promise<ConsentState[]> {
  const rows = await runtime.db.kysely.selectFrom("rampart_consents").select(["purpose", "granted", "policy_version", "at"]).where("user_id", "=", userId).orderBy("at", "desc").orderBy("id").execute();
  return runtime.config.consentPurposes.map((purpose) => {
    const latest = rows.find((r) => r.purpose === purpose);
    return { purpose, granted: latest?.granted ?? false, policyVersion: latest?.policy_version ?? null, updatedAt: latest?.at.toISOString() ?? null };
  });
}

export async function consentHistory(runtime: Runtime, userId: string): Promise<ConsentChange[]> {
  const rows = await runtime.db.kysely.selectFrom("rampart_consents").selectAll().where("user_id", "=", userId).orderBy("at").orderBy("id").execute();
  return Promise.all(
    rows.map(async (r) => ({
      purpose: r.purpose,
      granted: r.granted,
      policyVersion: r.policy_version,
      at: r.at.toISOString(),
      ip: r.ip_enc ? await runtime.crypto.decryptStringFor(userId, r.ip_enc, ipContext(r.id)) : null,
    })),
  );
}

export async function setConsent(runtime: Runtime, userId: string, purpose: string, granted: boolean, ip: string | undefined): Promise<ConsentState> {
  if (!runtime.config.consentPurposes.includes(purpose)) throw new RampartError("NOT_FOUND", { message: `Unknown consent purpose '${purpose}'.` });
  const id = randomUUID();
  const ipEnc = ip ? await runtime.crypto.encryptFor(userId, ip, ipContext(id)) : null;
  const at = new Date(runtime.clock.now());
  const policyVersion = runtime.config.consentPolicyVersion;
  await runtime.db.kysely.transaction().execute(async (trx) => {
    await trx.insertInto("rampart_consents").values({ id, user_id: userId, purpose, granted, policy_version: policyVersion, ip_enc: ipEnc, at }).execute();
    await runtime.events.emit("gdpr.consent.changed", { actor: { type: "user", id: userId }, target: `user:${userId}`, data: { purpose, granted, policyVersion } }, trx);
  });
  return { purpose, granted, policyVersion, updatedAt: at.toISOString() };
}
