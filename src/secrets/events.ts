/**
 * The log events of the secrets service. Each names the secret, the provider
 * and the version; none carries the value (and the value is registered with
 * the redactor before any of them is written, as a second line of defence).
 */
import type { Logger } from "../log/index.js";
import type { SecretValue } from "./provider.js";

/** A loaded value and the provider that served it. */
export type Found = SecretValue & { readonly provider: string };

export type LoadOutcome = "loaded" | "unchanged" | "rotated" | "removed" | "absent";

/** Classifies and logs the result of a load against the value cached before it. */
export function logLoad(log: Logger, name: string, before: Found | undefined, after: Found | undefined): LoadOutcome {
  if (after === undefined) {
    if (before === undefined) return "absent";
    log.warn({ event: "secret.removed", secretName: name, provider: before.provider }, "secret no longer found in any provider");
    return "removed";
  }
  const fields = { secretName: name, provider: after.provider, version: after.version ?? null };
  if (before === undefined) {
    log.info({ event: "secret.loaded", ...fields }, "secret loaded");
    return "loaded";
  }
  if (before.value === after.value) {
    log.debug({ event: "secret.refreshed", ...fields }, "secret unchanged");
    return "unchanged";
  }
  log.info({ event: "secret.rotated", ...fields, previousVersion: before.version ?? null }, "secret rotated");
  return "rotated";
}

/**
 * Logs a failed load by what readers get meanwhile: the still-fresh value
 * (`secret.refresh_failed`), a stale one (`secret.stale`, until `staleUntil`),
 * or nothing (`secret.load_failed`).
 */
export function logFailure(
  log: Logger,
  fields: { secretName: string; provider: string; reason: string },
  serving: { kind: "fresh" } | { kind: "stale"; until: number } | { kind: "none" },
): void {
  if (serving.kind === "fresh") {
    log.warn({ event: "secret.refresh_failed", ...fields }, "secret refresh failed; keeping the cached value until it expires");
  } else if (serving.kind === "stale") {
    log.warn({ event: "secret.stale", ...fields, staleUntil: new Date(serving.until).toISOString() }, "secret provider failed; serving the cached value past its TTL");
  } else {
    log.warn({ event: "secret.load_failed", ...fields }, "secret could not be loaded");
  }
}
