/**
 * What a refused delivery leaves in the server log (`reason` and `detail`;
 * the client sees one error whatever failed), and the header syntax the
 * verifiers tolerate or refuse. Signatures are computed here with node:crypto
 * following each provider's documented algorithm.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { activeSecrets, checkTimestamp, headerValue } from "../../src/webhooks/verification.js";
import { verifyGithub, verifyStandard, verifyStripe } from "../../src/webhooks/index.js";
import { rejection } from "./helpers.js";

const body = Buffer.from('{"id":"evt_1","type":"demo"}', "utf8");
const NOW_S = 1_767_225_600;
const now = NOW_S * 1000;
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

describe("shared checks", () => {
  it("a missing, empty or repeated header is refused, naming the header", () => {
    const missing = rejection(() => headerValue({ rawBody: body, headers: {} }, "x-sig"));
    expect([missing.reason, missing.detail]).toEqual(["missing_header", "no x-sig header"]);
    expect(rejection(() => headerValue({ rawBody: body, headers: { "x-sig": "" } }, "x-sig")).reason).toBe("missing_header");
    const twice = rejection(() => headerValue({ rawBody: body, headers: { "x-sig": ["a", "b"] } }, "x-sig"));
    expect([twice.reason, twice.detail]).toEqual(["malformed_header", "x-sig sent 2 times"]);
    // A header delivered as a list of one value is that value.
    expect(headerValue({ rawBody: body, headers: { "x-sig": ["a"] } }, "x-sig")).toBe("a");
  });

  it("a timestamp outside the tolerance says how far, which way, and the tolerance", () => {
    const past = rejection(() => checkTimestamp(NOW_S - 301, { secrets: "s", now }));
    expect([past.reason, past.detail]).toEqual(["timestamp_out_of_tolerance", "signed 301 s in the past; tolerance 300 s"]);
    expect(rejection(() => checkTimestamp(NOW_S + 11, { secrets: "s", now, toleranceSec: 10 })).detail).toBe("signed 11 s in the future; tolerance 10 s");
    expect(() => checkTimestamp(NOW_S + 10, { secrets: "s", now, toleranceSec: 10 })).not.toThrow();
  });

  it("no secret at all is a configuration error, saying so", () => {
    for (const secrets of ["", " \n ", [] as string[], ["", "\r\n"]]) expect(() => activeSecrets(secrets)).toThrow(new RangeError("no webhook secret is configured for this endpoint"));
    expect(activeSecrets(["a\r\nb", " c "])).toEqual(["a", "b", "c"]);
  });
});

describe("GitHub", () => {
  const secret = "gh-secret";
  const sig = `sha256=${hmac(secret, body.toString("utf8")).toString("hex")}`;
  const verify = (headers: Record<string, string>) => verifyGithub({ rawBody: body, headers }, { secrets: secret });

  it("tolerates whitespace around the signature value", () => {
    expect(verify({ "x-hub-signature-256": ` ${sig} ` }).provider).toBe("github");
  });

  it("logs what failed: the header's syntax, or how many secrets were tried", () => {
    expect(rejection(() => verify({ "x-hub-signature-256": "sha1=abc" })).detail).toBe("x-hub-signature-256 is not sha256=<64 hex digits>");
    const other = `sha256=${hmac("other", body.toString("utf8")).toString("hex")}`;
    const e = rejection(() => verifyGithub({ rawBody: body, headers: { "x-hub-signature-256": other } }, { secrets: ["a", "b"] }));
    expect([e.reason, e.detail]).toEqual(["signature_mismatch", "the signature matches none of 2 secret(s)"]);
  });
});

describe("Stripe", () => {
  const secret = "whsec_stripe";
  const v1 = hmac(secret, `${NOW_S}.${body.toString("utf8")}`).toString("hex");
  const verify = (header: string) => verifyStripe({ rawBody: body, headers: { "stripe-signature": header } }, { secrets: secret, now });

  it("tolerates spaces around items, keys and values", () => {
    expect(verify(`t = ${NOW_S} , v1= ${v1}`).timestamp).toBe(NOW_S);
  });

  it("refuses an item that is not key=value, even next to a valid signature", () => {
    for (const header of [`t=${NOW_S},v1=${v1},junk`, `t=${NOW_S},v1=${v1},=x`]) {
      const e = rejection(() => verify(header));
      expect([e.reason, e.detail]).toEqual(["malformed_header", "stripe-signature item without key=value"]);
    }
  });

  it("logs which part of the header is wrong", () => {
    const detail = (header: string) => rejection(() => verify(header)).detail;
    expect(detail(`t=${NOW_S},t=${NOW_S},v1=${v1}`)).toBe("stripe-signature has two timestamps");
    expect(detail(`t=soon,v1=${v1}`)).toBe("stripe-signature timestamp is not whole seconds");
    expect(detail(`t=${NOW_S},v1=abc`)).toBe("stripe-signature v1 is not 64 hex digits");
    expect(detail(`v1=${v1}`)).toBe("stripe-signature has no timestamp");
    expect(detail(`t=${NOW_S},v0=${v1}`)).toBe("stripe-signature has no v1 signature");
    const other = hmac("whsec_other", `${NOW_S}.${body.toString("utf8")}`).toString("hex");
    expect(detail(`t=${NOW_S},v1=${other},v1=${other}`)).toBe("no v1 signature of 2 matches any of 1 secret(s)");
  });
});

describe("Standard Webhooks", () => {
  const raw = Buffer.from("standard-webhooks-test-key").toString("base64");
  const id = "msg_1";
  const v1 = hmac(Buffer.from(raw, "base64"), `${id}.${NOW_S}.${body.toString("utf8")}`).toString("base64");
  const headers = (signature: string, extra: Record<string, string> = {}) => ({ "webhook-id": id, "webhook-timestamp": String(NOW_S), "webhook-signature": signature, ...extra });
  const verify = (h: Record<string, string>, secrets = `whsec_${raw}`) => verifyStandard({ rawBody: body, headers: h }, { secrets, now });

  it("accepts the secret with or without its whsec_ prefix", () => {
    expect(verify(headers(`v1,${v1}`)).id).toBe(id);
    expect(verify(headers(`v1,${v1}`), raw).id).toBe(id);
    expect(() => verify(headers(`v1,${v1}`), "whsec_not base64!")).toThrow(new RangeError("a Standard Webhooks secret must be whsec_ followed by base64"));
  });

  it("an entry without a comma is not a signature", () => {
    // "v1X" too: without its comma, its first two characters are not read as the version.
    for (const entry of ["v1abc", "v1X"]) {
      const e = rejection(() => verify(headers(entry)));
      expect([e.reason, e.detail]).toEqual(["malformed_header", "webhook-signature has no v1 entry"]);
    }
  });

  it("a v1 signature of the wrong length is a mismatch, not a crash", () => {
    const e = rejection(() => verify(headers("v1,AAAA")));
    expect([e.reason, e.detail]).toEqual(["signature_mismatch", "no v1 signature of 1 matches any of 1 secret(s)"]);
  });

  it("logs which header is wrong", () => {
    expect(rejection(() => verify(headers(`v1,${v1}`, { "webhook-id": "has space" }))).detail).toBe("webhook-id is not a printable token of at most 255 characters");
    expect(rejection(() => verify(headers(`v1,${v1}`, { "webhook-timestamp": "1.5" }))).detail).toBe("webhook-timestamp timestamp is not whole seconds");
  });
});
