/**
 * Standard Webhooks signatures (standardwebhooks.com, spec "Verifying
 * webhook authenticity"): headers `webhook-id`, `webhook-timestamp` (unix
 * seconds) and `webhook-signature`, a space-delimited list of
 * `<version>,<base64>` entries. A `v1` entry is HMAC-SHA256 over
 * `<id>.<timestamp>.<raw body>`, keyed with the base64-decoded part of a
 * `whsec_` secret. Entries of other versions (`v1a` is asymmetric ed25519)
 * are skipped. The timestamp must be within the tolerance either way.
 */
import { createHmac } from "node:crypto";
import { activeSecrets, bytesEqual, checkTimestamp, headerValue, parseTimestamp, WebhookVerificationError, type VerifiedWebhook, type VerifyOptions, type WebhookRequest } from "./verification.js";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// A message id is an opaque token chosen by the sender; bound it so a hostile
// header cannot become an unbounded log or inbox key.
const MESSAGE_ID = /^[\x21-\x7e]{1,255}$/;

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries). */
export function standardWebhookKey(secret: string): Buffer {
  const b64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (!BASE64.test(b64)) throw new RangeError("a Standard Webhooks secret must be whsec_ followed by base64");
  return Buffer.from(b64, "base64");
}

/** Verifies a Standard Webhooks delivery; throws WebhookVerificationError on any failure. */
export function verifyStandard(request: WebhookRequest, options: VerifyOptions): VerifiedWebhook {
  const keys = activeSecrets(options.secrets).map(standardWebhookKey);
  const id = headerValue(request, "webhook-id");
  if (!MESSAGE_ID.test(id)) throw new WebhookVerificationError("malformed_header", "webhook-id is not a printable token of at most 255 characters");
  const timestamp = parseTimestamp(headerValue(request, "webhook-timestamp"), "webhook-timestamp");
  const signatures: Buffer[] = [];
  for (const entry of headerValue(request, "webhook-signature").split(" ")) {
    const comma = entry.indexOf(",");
    if (comma <= 0) continue;
    const b64 = entry.slice(comma + 1);
    if (entry.slice(0, comma) === "v1" && BASE64.test(b64)) signatures.push(Buffer.from(b64, "base64"));
  }
  if (signatures.length === 0) throw new WebhookVerificationError("malformed_header", "webhook-signature has no v1 entry");
  const prefix = Buffer.from(`${id}.${timestamp}.`, "utf8");
  for (const [index, key] of keys.entries()) {
    const expected = createHmac("sha256", key).update(prefix).update(request.rawBody).digest();
    if (signatures.some((sig) => bytesEqual(sig, expected))) {
      checkTimestamp(timestamp, options);
      // The id is part of the signed content: it is the event's signed identity.
      return { provider: "standard", id, deliveryId: id, timestamp, secretIndex: index };
    }
  }
  throw new WebhookVerificationError("signature_mismatch", `no v1 signature of ${signatures.length} matches any of ${keys.length} secret(s)`);
}
