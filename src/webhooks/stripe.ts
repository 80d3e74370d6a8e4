/**
 * Stripe webhook signatures (docs.stripe.com/webhooks#verify-manually):
 * `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`, where
 * each v1 is HMAC-SHA256, keyed with the endpoint secret (`whsec_...` used
 * as is, UTF-8), over `<t>.<raw body>`. Stripe sends several v1 entries while
 * an endpoint secret is being rolled; any of them may match; other schemes
 * (v0 is a test-mode scheme) are ignored.
 *
 * Unlike Stripe's own library, which only refuses old timestamps, a timestamp
 * too far in the future is refused as well: a forged-ahead timestamp would
 * otherwise make a captured delivery replayable for longer.
 */
import { createHmac } from "node:crypto";
import { bytesEqual, checkTimestamp, activeSecrets, headerValue, parseTimestamp, WebhookVerificationError, type VerifiedWebhook, type VerifyOptions, type WebhookRequest } from "./verification.js";

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

function parseHeader(value: string): { t: number; v1: Buffer[] } {
  let t: number | undefined;
  const v1: Buffer[] = [];
  for (const item of value.split(",")) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new WebhookVerificationError("malformed_header", "stripe-signature item without key=value");
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === "t") {
      if (t !== undefined) throw new WebhookVerificationError("malformed_header", "stripe-signature has two timestamps");
      t = parseTimestamp(val, "stripe-signature");
    } else if (key === "v1") {
      if (!HEX_SHA256.test(val)) throw new WebhookVerificationError("malformed_header", "stripe-signature v1 is not 64 hex digits");
      v1.push(Buffer.from(val, "hex"));
    }
  }
  if (t === undefined) throw new WebhookVerificationError("malformed_header", "stripe-signature has no timestamp");
  if (v1.length === 0) throw new WebhookVerificationError("malformed_header", "stripe-signature has no v1 signature");
  return { t, v1 };
}

/** Verifies a Stripe delivery; throws WebhookVerificationError on any failure. */
export function verifyStripe(request: WebhookRequest, options: VerifyOptions): VerifiedWebhook {
  const secrets = activeSecrets(options.secrets);
  const { t, v1 } = parseHeader(headerValue(request, "stripe-signature"));
  const prefix = Buffer.from(`${t}.`, "utf8");
  for (const [index, secret] of secrets.entries()) {
    const expected = createHmac("sha256", secret).update(prefix).update(request.rawBody).digest();
    if (v1.some((sig) => bytesEqual(sig, expected))) {
      checkTimestamp(t, options);
      return { provider: "stripe", id: null, deliveryId: null, timestamp: t, secretIndex: index };
    }
  }
  throw new WebhookVerificationError("signature_mismatch", `no v1 signature of ${v1.length} matches any of ${secrets.length} secret(s)`);
}
