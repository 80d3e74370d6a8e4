/**
 * Threat: a forged or tampered-with GitHub delivery is accepted as genuine
 * (say, a fake `push` triggering a deployment). The expected signatures come
 * from GitHub's documented test values and from node:crypto following the
 * documented algorithm, never from the verifier under test.
 */
import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyGithub, type VerifyOptions } from "../../src/webhooks/index.js";
import { reason } from "./helpers.js";

const hub = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;

function verify(headers: Record<string, string | undefined>, body: string, options: VerifyOptions) {
  return verifyGithub({ rawBody: Buffer.from(body, "utf8"), headers }, options);
}


describe("GitHub verifier", () => {
  it("accepts GitHub's documented example (docs.github.com, Validating webhook deliveries)", () => {
    const headers = { "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" };
    expect(verify(headers, "Hello, World!", { secrets: "It's a Secret to Everybody" })).toEqual({ provider: "github", id: null, timestamp: null, secretIndex: 0 });
    expect(reason(() => verify(headers, "Hello, World?", { secrets: "It's a Secret to Everybody" }))).toBe("signature_mismatch");
  });

  const secret = randomBytes(20).toString("hex");
  const body = JSON.stringify({ action: "opened", issue: { number: 1347, title: "Ünïcode" } }, null, 2);
  const delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

  it("accepts a JSON delivery and returns X-GitHub-Delivery as its id", () => {
    const v = verify({ "x-hub-signature-256": hub(secret, body), "x-github-delivery": delivery }, body, { secrets: secret });
    expect(v).toEqual({ provider: "github", id: delivery, timestamp: null, secretIndex: 0 });
  });

  it("refuses a tampered body or another secret's signature", () => {
    expect(reason(() => verify({ "x-hub-signature-256": hub(secret, body) }, body.replace("1347", "1348"), { secrets: secret }))).toBe("signature_mismatch");
    expect(reason(() => verify({ "x-hub-signature-256": hub("not-the-secret", body) }, body, { secrets: secret }))).toBe("signature_mismatch");
  });

  it("verifies with the old and the new secret during rotation", () => {
    const fresh = randomBytes(20).toString("hex");
    const both = { secrets: [secret, fresh] };
    expect(verify({ "x-hub-signature-256": hub(secret, body) }, body, both).secretIndex).toBe(0);
    expect(verify({ "x-hub-signature-256": hub(fresh, body) }, body, both).secretIndex).toBe(1);
    expect(reason(() => verify({ "x-hub-signature-256": hub(secret, body) }, body, { secrets: fresh }))).toBe("signature_mismatch");
  });

  it("refuses a missing header, the legacy SHA-1 header alone, and garbled values", () => {
    const sha1 = `sha1=${createHmac("sha1", secret).update(body).digest("hex")}`;
    expect(reason(() => verify({ "x-hub-signature": sha1 }, body, { secrets: secret }))).toBe("missing_header");
    const good = hub(secret, body);
    for (const garbled of [sha1, good.slice(0, -2), good.replace("sha256=", "sha512="), good.replace("sha256=", ""), `${good}00`]) {
      expect(reason(() => verify({ "x-hub-signature-256": garbled }, body, { secrets: secret }))).toBe("malformed_header");
    }
  });
});
