/**
 * The load generator's reading of answers: the envelope of a success, of an
 * error and of a body that is not an envelope, and the delta form of
 * Retry-After however the header arrives.
 */
import { describe, expect, it } from "vitest";
import { envelope, retryAfterSeconds, type ClientResponse } from "../../src/loadtest/client.js";

const res = (body: string, headers: ClientResponse["headers"] = {}): ClientResponse => ({ status: 200, headers, body });

describe("load-test client answers", () => {
  it("reads data from a success envelope, code and message from an error one, and nothing from anything else", () => {
    expect(envelope(res(JSON.stringify({ success: true, data: { id: "u1" } })))).toEqual({ data: { id: "u1" } });
    expect(envelope(res(JSON.stringify({ success: false, code: "RATE_LIMITED", message: "Too many requests." })))).toEqual({ code: "RATE_LIMITED", message: "Too many requests." });
    expect(envelope(res(JSON.stringify({ data: "text", code: 429, message: null })))).toEqual({});
    expect(envelope(res("<html>bad gateway</html>"))).toEqual({});
  });

  it("takes Retry-After in seconds, from a single header or the first of several; a date, a negative or a missing one gives none", () => {
    expect(retryAfterSeconds(res("", { "retry-after": "7" }))).toBe(7);
    expect(retryAfterSeconds(res("", { "retry-after": ["3", "9"] as unknown as string }))).toBe(3);
    expect(retryAfterSeconds(res("", { "retry-after": "0" }))).toBe(0);
    expect(retryAfterSeconds(res("", { "retry-after": "Wed, 21 Oct 2026 07:28:00 GMT" }))).toBeUndefined();
    expect(retryAfterSeconds(res("", { "retry-after": "-1" }))).toBeUndefined();
    expect(retryAfterSeconds(res("", {}))).toBeUndefined();
  });
});
