/** Shared assertions of the webhook verifier tests. */
import { expect } from "vitest";
import { errorCatalogue } from "../../src/errors/index.js";
import { WebhookVerificationError } from "../../src/webhooks/index.js";

/**
 * The error `fn` refuses a delivery with. Whatever failed, the client-facing
 * error is the same (400 WEBHOOK_SIGNATURE_INVALID, one message); only
 * `reason`, for logs and metrics, says what.
 */
export function rejection(fn: () => unknown): WebhookVerificationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    const e = err as WebhookVerificationError;
    expect(e.code).toBe("WEBHOOK_SIGNATURE_INVALID");
    expect(e.status).toBe(400);
    expect(e.message).toBe(errorCatalogue.WEBHOOK_SIGNATURE_INVALID.message);
    return e;
  }
  throw new Error("expected the delivery to be refused");
}

/** The refusal's reason (see {@link rejection}). */
export function reason(fn: () => unknown): string {
  return rejection(fn).reason;
}
