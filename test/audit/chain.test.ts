/**
 * The audit chain's encoding: canonical JSON (one text per value whatever the
 * key order) and the entry hash over the previous hash and that text. Stored
 * chains are verified against these bytes, so the expected texts are written
 * out by hand here and the hash is recomputed with node:crypto from them.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, entryHash, type ChainEntry } from "../../src/audit/chain.js";

const sha256Hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

describe("canonicalJson", () => {
  it("sorts object keys by code unit at every level and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: true, e: "x" }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"e":"x","f":true}]},"b":1}');
    // Code-unit order, not locale order: upper case before "_" before lower case.
    expect(canonicalJson({ a: 1, _: 2, B: 3, aa: 4 })).toBe('{"B":3,"_":2,"a":1,"aa":4}');
    expect(canonicalJson([{ b: 1, a: 2 }, [], {}])).toBe('[{"a":2,"b":1},[],{}]');
  });

  it("gives one text for the same value whatever the insertion order", () => {
    const a = { x: { p: 1, q: [1, 2] }, y: "s" };
    const b = { y: "s", x: { q: [1, 2], p: 1 } };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson({ q: [2, 1] })).not.toBe(canonicalJson({ q: [1, 2] }));
  });

  it("leaves out undefined properties and encodes scalars as JSON does", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson(undefined)).toBe("null");
    expect(canonicalJson(null)).toBe("null");
    expect(canonicalJson('quote " and \\ and \n')).toBe('"quote \\" and \\\\ and \\n"');
    expect(canonicalJson({ 'k"1': -0.5 })).toBe('{"k\\"1":-0.5}');
    expect(canonicalJson(false)).toBe("false");
  });

  it("refuses non-finite numbers anywhere, which JSON would turn into null", () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ a: [1, Number.POSITIVE_INFINITY] })).toThrow(TypeError);
    expect(() => canonicalJson({ a: { b: Number.NEGATIVE_INFINITY } })).toThrow(/non-finite/);
  });
});

describe("entryHash", () => {
  const entry: ChainEntry = {
    seq: 7,
    at: new Date("2026-03-01T12:00:00.000Z"),
    actorType: "user",
    actorId: "u-1",
    action: "auth.login",
    target: null,
    ipHash: "iph",
    traceId: null,
    data: '{"k":1}',
  };
  const prev = "a".repeat(64);

  it("is SHA-256 (hex) of the previous hash, a newline and the entry's canonical text", () => {
    const body = '{"action":"auth.login","actorId":"u-1","actorType":"user","at":"2026-03-01T12:00:00.000Z","data":"{\\"k\\":1}","ip":"iph","seq":7,"target":null,"traceId":null}';
    expect(entryHash(prev, entry)).toBe(sha256Hex(`${prev}\n${body}`));
  });

  it("changes with the previous hash and with every field of the entry", () => {
    const base = entryHash(prev, entry);
    expect(entryHash("b".repeat(64), entry)).not.toBe(base);
    const changed: Partial<ChainEntry>[] = [
      { seq: 8 },
      { at: new Date("2026-03-01T12:00:00.001Z") },
      { actorType: "admin" },
      { actorId: null },
      { action: "auth.logout" },
      { target: "user:u-1" },
      { ipHash: null },
      { traceId: "t" },
      { data: '{"k":2}' },
    ];
    const hashes = changed.map((c) => entryHash(prev, { ...entry, ...c }));
    for (const h of hashes) expect(h).not.toBe(base);
    expect(new Set(hashes).size).toBe(changed.length);
  });
});
