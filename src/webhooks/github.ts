/**
 * GitHub webhook signatures (docs.github.com, "Validating webhook
 * deliveries"): `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw
 * body keyed with the webhook secret (UTF-8). The legacy SHA-1
 * `X-Hub-Signature` is not accepted.
 *
 * GitHub signs no timestamp, so a captured delivery verifies forever: replays
 * must be stopped by deduplicating on the delivery id (`X-GitHub-Delivery`,
 * returned as `id`), which the inbox does.
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
      const id = typeof delivery === "string" && DELIVERY.test(delivery) ? delivery : null;
      return { provider: "github", id, timestamp: null, secretIndex: index };
    }
  }
  throw new WebhookVerificationError("signature_mismatch", `the signature matches none of ${secrets.length} secret(s)`);
}
