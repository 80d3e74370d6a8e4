/** The well-formed-text helpers, checked against the platform's own UTF-8 decoder and URI decoding. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8, decodeUtf8Marking, illFormedPaths, malformedQueryFields, maySpellSurrogates } from "../../src/server/unicode.js";

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const UNPAIRED = /\p{Surrogate}/u;

describe("decodeUtf8Marking", () => {
  it("marks exactly the byte strings the WHATWG fatal decoder refuses, and decodes the others identically", () => {
    // Bytes biased toward UTF-8 lead and continuation bytes, so malformed and well-formed sequences both occur often.
    const byte = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xff }));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 24 }), (bytes) => {
        const buf = Uint8Array.from(bytes);
        let expected: string | undefined;
        try {
          expected = fatal.decode(buf);
        } catch {
          expected = undefined;
        }
        expect(decodeUtf8(buf)).toBe(expected);
        const marked = decodeUtf8Marking(buf);
        if (expected === undefined) expect(UNPAIRED.test(marked)).toBe(true);
        else expect(marked).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("illFormedPaths", () => {
  it("names unpaired surrogates in nested values and reports a broken key at its parent", () => {
    const value = { a: "ok 😀", b: ["x", "\ud800"], c: { d: "\udc00x" }, e: { ["k\ud800"]: 1 } };
    expect(illFormedPaths(value, "body").map((p) => p.path).sort()).toEqual(["body.b[1]", "body.c.d", "body.e"]);
  });

  it("walks deep nesting without recursion", () => {
    let deep: unknown = "\ud800";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(illFormedPaths(deep, "body")).toHaveLength(1);
  });
});

describe("maySpellSurrogates", () => {
  it("sees surrogate escapes in any case and nothing else", () => {
    expect(maySpellSurrogates('{"a":"\\uD800"}')).toBe(true);
    expect(maySpellSurrogates('{"a":"\\udfff"}')).toBe(true);
    expect(maySpellSurrogates('{"a":"\\ud7ff \\ue000 \\u0041"}')).toBe(false);
  });
});

describe("malformedQueryFields", () => {
  it("agrees with decodeURIComponent on every parameter value", () => {
    const piece = fc.oneof(fc.constantFrom("%", "%f", "%ff", "%e2%82", "%e2%82%ac", "%ed%a0%80", "%41", "+", "a", "é"), fc.string({ maxLength: 3 }).map(encodeURIComponent));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
        const raw = pieces.join("");
        let valid = true;
        try {
          decodeURIComponent(raw.replaceAll("+", " "));
        } catch {
          valid = false;
        }
        expect(malformedQueryFields(`q=${raw}`).length === 0).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });

  it("names the parameter, and reports a broken parameter name without echoing it", () => {
    expect(malformedQueryFields("a=1&cursor=%ff&b=%41")).toEqual([{ path: "querystring.cursor", message: expect.stringMatching(/not valid Unicode/) }]);
    expect(malformedQueryFields("%ff=1").map((p) => p.path)).toEqual(["querystring"]);
  });
});
