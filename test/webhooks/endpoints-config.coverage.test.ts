/**
 * WEBHOOK_ENDPOINTS as the config loader reads it: well-formed entries give
 * frozen endpoints (spaces and empty entries tolerated); each kind of
 * mistake stops the start naming the variable, the offending part and what
 * was received.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/index.js";
import { parseWebhookEndpoints } from "../../src/webhooks/index.js";

describe("WEBHOOK_ENDPOINTS", () => {
  it("parses entries into frozen endpoints, tolerating spaces and empty entries", () => {
    const endpoints = parseWebhookEndpoints(" payments = stripe : stripe-webhook ,, ci=github:github-hook,");
    expect(endpoints).toEqual([
      { name: "payments", provider: "stripe", secret: "stripe-webhook" },
      { name: "ci", provider: "github", secret: "github-hook" },
    ]);
    expect(Object.isFrozen(endpoints)).toBe(true);
    expect(Object.isFrozen(endpoints[0])).toBe(true);
    expect(parseWebhookEndpoints("")).toEqual([]);
  });

  it.each([
    ["an entry without provider and secret", "payments=stripe", "'payments=stripe' is not name=provider:secret-name"],
    ["an invalid endpoint name", "Pay Ments=stripe:stripe-webhook", "'Pay Ments' is not a valid endpoint name"],
    ["an unknown provider", "payments=paypal:paypal-webhook", "'paypal' is not a supported provider"],
    ["an invalid secret name", "payments=stripe:Stripe_Webhook", "'Stripe_Webhook' is not a valid secret name"],
    ["a name configured twice", "payments=stripe:a-secret,payments=standard:b-secret", "endpoint 'payments' is configured twice"],
  ])("stops the start on %s, naming it", (_, value, problem) => {
    let thrown: unknown;
    try {
      loadConfig({ WEBHOOK_ENDPOINTS: value });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as Error).message;
    expect(message.startsWith("WEBHOOK_ENDPOINTS: expected comma-separated name=provider:secret-name entries")).toBe(true);
    expect(message).toContain(`; ${problem}, instead got '${value}'`);
  });
});
