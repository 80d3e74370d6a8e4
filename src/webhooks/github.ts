/**
 * GitHub webhook signatures (docs.github.com, "Validating webhook
 * deliveries"): `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw
 * body keyed with the webhook secret (UTF-8). The legacy SHA-1
 * `X-Hub-Signature` is not accepted.
 *
 * GitHub signs the body and nothing else: no timestamp, so a captured
 * delivery verifies forever, and neither `X-GitHub-Delivery` nor
 * `X-GitHub-Event`, so a replay may carry any delivery id and event name.
 * The verifier therefore returns no signed `id`; the delivery header comes
 * back as `deliveryId`, for correlation only, and the inbox deduplicates on a
 * digest of the body, remembered beyond the event's retention.
 */
import { createHmac } from "node:crypto";
import { activeSecrets, bytesEqual, headerValue, WebhookVerificationError, type VerifiedWebhook, type VerifyOptions, type WebhookRequest } from "./verification.js";

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
const DELIVERY = /^[\x21-\x7e]{1,255}$/;

/** Verifies a GitHub delivery; throws WebhookVerificationError on any failure. */
export function verifyGithub(request: WebhookRequest, options: VerifyOptions): VerifiedWebhook {
  const secrets = activeSecrets(options.secrets);
  const m = SIGNATURE.exec(headerValue(request, "x-hub-signature-256").trim());
  if (!m) throw new WebhookVerificationError("malformed_header", "x-hub-signature-256 is not sha256=<64 hex digits>");
  const signature = Buffer.from(m[1]!, "hex");
  for (const [index, secret] of secrets.entries()) {
    const expected = createHmac("sha256", secret).update(request.rawBody).digest();
    if (bytesEqual(signature, expected)) {
      const delivery = request.headers["x-github-delivery"];
      const deliveryId = typeof delivery === "string" && DELIVERY.test(delivery) ? delivery : null;
      return { provider: "github", id: null, deliveryId, timestamp: null, secretIndex: index };
    }
  }
  throw new WebhookVerificationError("signature_mismatch", `the signature matches none of ${secrets.length} secret(s)`);
}
