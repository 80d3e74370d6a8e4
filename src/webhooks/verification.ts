/**
 * What every inbound-webhook verifier shares: the one error type, the shape
 * of a request and of a verified delivery, rotation-aware secret lists,
 * header access and constant-time comparison.
 *
 * One error for every failure (as jose's one decryption error): the client
 * only ever sees `400 WEBHOOK_SIGNATURE_INVALID` with the catalogue message,
 * so a forger learns nothing about which check failed; `reason` and `detail`
 * are for the server's log.
 */
import { timingSafeEqual } from "node:crypto";
import { RampartError } from "../errors/index.js";

export type WebhookProvider = "stripe" | "standard" | "github";

export type WebhookFailureReason =
  /** A required header is absent. */
  | "missing_header"
  /** A header is present but not in the provider's syntax (or sent twice). */
  | "malformed_header"
  /** No signature matches any active secret: forged, tampered with, or signed with an unknown secret. */
  | "signature_mismatch"
  /** Validly signed, but the signed timestamp is outside the tolerance: a replay, or a badly skewed clock. */
  | "timestamp_out_of_tolerance";

/** Thrown by every verifier for every failure; the plugin logs `reason` and `detail`. */
export class WebhookVerificationError extends RampartError {
  readonly reason: WebhookFailureReason;
  /** Server-side explanation (never a secret or a computed signature). */
  readonly detail: string;

  constructor(reason: WebhookFailureReason, detail: string) {
    super("WEBHOOK_SIGNATURE_INVALID");
    this.reason = reason;
    this.detail = detail;
  }
}

/** The parts of an HTTP request a verifier reads. */
export interface WebhookRequest {
  /** The body exactly as received: signatures are over bytes, never over re-serialized JSON. */
  rawBody: Buffer;
  /** Header fields with lower-case names, as Node delivers them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface VerifyOptions {
  /**
   * The active secrets, newest first or in any order: a string may hold
   * several separated by newlines (a rotation overlap), and a list of such
   * strings is accepted too. A delivery signed with any of them verifies.
   */
  secrets: string | readonly string[];
  /** Largest accepted distance between the signed timestamp and now, either way (seconds, default 300). */
  toleranceSec?: number;
  /** Current time (epoch ms); default Date.now(). Pass the runtime clock's reading. */
  now?: number;
}

/** A delivery whose signature checked out. */
export interface VerifiedWebhook {
  provider: WebhookProvider;
  /**
   * The event id when the signature covers it and it travels in a header
   * (Standard Webhooks' `webhook-id`); null otherwise: Stripe's event id is
   * inside the signed body, and GitHub signs no id at all. Only this value, or
   * a digest of the signed content, may key deduplication.
   */
  id: string | null;
  /**
   * The delivery id header as received (`webhook-id`, `X-GitHub-Delivery`),
   * for logs and correlation with the provider's delivery log. Unsigned for
   * GitHub: never a deduplication or idempotency key.
   */
  deliveryId: string | null;
  /** The signed timestamp (epoch seconds); null for GitHub, which signs none. */
  timestamp: number | null;
  /** Index of the matching secret in the flattened list: above 0 means an older secret is still in use. */
  secretIndex: number;
}

export type WebhookVerifier = (request: WebhookRequest, options: VerifyOptions) => VerifiedWebhook;

/**
 * Flattens the configured secrets: splits on newlines, trims, drops blank
 * lines. No secret at all is a configuration error (a plain Error, so it
 * surfaces as a 500 and in the log), never a silently open endpoint.
 */
export function activeSecrets(secrets: string | readonly string[]): string[] {
  const list = (typeof secrets === "string" ? [secrets] : secrets).flatMap((s) => s.split(/\r?\n/)).map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new RangeError("no webhook secret is configured for this endpoint");
  return list;
}

/** One header value: missing and duplicated headers fail verification. */
export function headerValue(request: WebhookRequest, name: string): string {
  const v = request.headers[name];
  if (v === undefined || v === "") throw new WebhookVerificationError("missing_header", `no ${name} header`);
  if (Array.isArray(v)) {
    if (v.length !== 1) throw new WebhookVerificationError("malformed_header", `${name} sent ${v.length} times`);
    return v[0]!;
  }
  return v;
}

/** Constant-time equality of two byte strings; unequal lengths are unequal (a length is not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws unless `timestamp` (epoch s) is within `toleranceSec` of now, in the past or in the future. */
export function checkTimestamp(timestamp: number, options: VerifyOptions): void {
  const tolerance = options.toleranceSec ?? 300;
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
  const skew = nowSec - timestamp;
  if (Math.abs(skew) > tolerance) {
    throw new WebhookVerificationError("timestamp_out_of_tolerance", `signed ${Math.abs(skew)} s in the ${skew > 0 ? "past" : "future"}; tolerance ${tolerance} s`);
  }
}

/** Parses a decimal epoch-seconds header value. */
export function parseTimestamp(raw: string, header: string): number {
  if (!/^\d{1,12}$/.test(raw)) throw new WebhookVerificationError("malformed_header", `${header} timestamp is not whole seconds`);
  return Number(raw);
}
