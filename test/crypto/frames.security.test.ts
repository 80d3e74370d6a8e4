/**
 * Threat: an attacker who controls the storage or the transport of a large
 * encrypted payload (an uploaded file in object storage, a stream between
 * services) drops, reorders, duplicates or cuts off frames, appends data, or
 * flips the final-frame marker, hoping the reader accepts a shortened or
 * spliced file. Every frame carries its index and the final flag in its AAD,
 * so each of these must fail with DecryptionFailed.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { DecryptionFailed } from "../../src/crypto/index.js";
import { parseHeader } from "../../src/crypto/format.js";
import { useKeyringHarness } from "./helpers.js";

const k = useKeyringHarness();

const context = { bucket: "uploads", object: "report.pdf" };
const FRAME = 1024;

/** Splits a framed message into its header and frames (each 5-byte frame header + body + tag). */
function split(msg: Buffer): { header: Buffer; frames: Buffer[] } {
  const header = parseHeader(msg);
  const frames: Buffer[] = [];
  let o = header.bodyStart;
  while (o < msg.length) {
    const len = msg.readUInt32BE(o + 1);
    frames.push(msg.subarray(o, o + 5 + len + 16));
    o += 5 + len + 16;
  }
  return { header: msg.subarray(0, header.bodyStart), frames };
}

async function expectRejected(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(DecryptionFailed);
}

describe("framed encryption", () => {
  const plaintext = randomBytes(FRAME * 4 + 100);
  let msg: Buffer;
  let parts: { header: Buffer; frames: Buffer[] };

  beforeAll(async () => {
    msg = await k.keyring.encryptLarge(plaintext, context, { frameSize: FRAME });
    parts = split(msg);
  });

  it("round-trips, with 5 frames of which only the last is final", async () => {
    expect(parts.frames).toHaveLength(5);
    expect(parts.frames.map((f) => f[0])).toEqual([0, 0, 0, 0, 1]);
    expect((await k.keyring.decryptLarge(msg, context)).equals(plaintext)).toBe(true);
  });

  it("a dropped frame fails", async () => {
    for (let i = 0; i < parts.frames.length; i++) {
      const frames = parts.frames.filter((_, j) => j !== i);
      await expectRejected(k.keyring.decryptLarge(Buffer.concat([parts.header, ...frames]), context));
    }
  });

  it("reordered frames fail", async () => {
    const [a, b, ...rest] = parts.frames;
    await expectRejected(k.keyring.decryptLarge(Buffer.concat([parts.header, b!, a!, ...rest]), context));
  });

  it("a duplicated frame fails", async () => {
    const f = parts.frames;
    await expectRejected(k.keyring.decryptLarge(Buffer.concat([parts.header, f[0]!, f[1]!, f[1]!, f[2]!, f[3]!, f[4]!]), context));
  });

  it("truncation at a frame boundary (no final frame) and mid-frame fails", async () => {
    for (let n = 1; n < parts.frames.length; n++) await expectRejected(k.keyring.decryptLarge(Buffer.concat([parts.header, ...parts.frames.slice(0, n)]), context));
    await expectRejected(k.keyring.decryptLarge(msg.subarray(0, msg.length - 1), context));
    await expectRejected(k.keyring.decryptLarge(parts.header, context));
  });

  it("marking an earlier frame final (cutting the file short) fails", async () => {
    const f = Buffer.from(parts.frames[3]!);
    f[0] = 1;
    await expectRejected(k.keyring.decryptLarge(Buffer.concat([parts.header, ...parts.frames.slice(0, 3), f]), context));
  });

  it("data after the final frame fails", async () => {
    await expectRejected(k.keyring.decryptLarge(Buffer.concat([msg, Buffer.of(0)]), context));
    await expectRejected(k.keyring.decryptLarge(Buffer.concat([msg, parts.frames[4]!]), context));
  });

  it("frames spliced from another message under the same key fail", async () => {
    const other = split(await k.keyring.encryptLarge(plaintext, context, { frameSize: FRAME }));
    await expectRejected(k.keyring.decryptLarge(Buffer.concat([parts.header, parts.frames[0]!, other.frames[1]!, ...parts.frames.slice(2)]), context));
  });

  it("another context fails", async () => {
    await expectRejected(k.keyring.decryptLarge(msg, { ...context, object: "other.pdf" }));
  });

  it("empty input gives one empty final frame and round-trips", async () => {
    const empty = await k.keyring.encryptLarge(Buffer.alloc(0), context);
    expect(split(empty).frames).toHaveLength(1);
    expect((await k.keyring.decryptLarge(empty, context)).length).toBe(0);
  });

  it("input of exactly N frames ends with a full final frame", async () => {
    const exact = randomBytes(FRAME * 2);
    const m = await k.keyring.encryptLarge(exact, context, { frameSize: FRAME });
    expect(split(m).frames.map((f) => [f[0], f.readUInt32BE(1)])).toEqual([
      [0, FRAME],
      [1, FRAME],
    ]);
    expect((await k.keyring.decryptLarge(m, context)).equals(exact)).toBe(true);
  });
});

/** A pipeline sink that keeps every chunk. */
function collectInto(into: Buffer[]) {
  return async (src: AsyncIterable<Buffer>): Promise<void> => {
    for await (const c of src) into.push(c);
  };
}

describe("Node streams", () => {
  it("encrypt and decrypt streams round-trip chunked input of odd sizes, under a subject key", async () => {
    const input = randomBytes(300_000);
    const chunks = [];
    for (let o = 0; o < input.length; o += 7_777) chunks.push(input.subarray(o, o + 7_777));
    const encrypted: Buffer[] = [];
    await pipeline(Readable.from(chunks), k.keyring.encryptStream(context, { subject: "user-s" }), collectInto(encrypted));
    const out: Buffer[] = [];
    const ct = Buffer.concat(encrypted);
    // Feed the ciphertext back one byte-range at a time to exercise the parser's buffering.
    const pieces = [];
    for (let o = 0; o < ct.length; o += 1_000) pieces.push(ct.subarray(o, o + 1_000));
    await pipeline(Readable.from(pieces), k.keyring.decryptStream(context, { subject: "user-s" }), collectInto(out));
    expect(Buffer.concat(out).equals(input)).toBe(true);
    // Under another subject it fails.
    await expect(k.keyring.decryptLarge(ct, context, { subject: "user-t" })).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it("a truncated stream errors with DecryptionFailed", async () => {
    const ct = await k.keyring.encryptLarge(randomBytes(200_000), context);
    await expect(pipeline(Readable.from([ct.subarray(0, 100_000)]), k.keyring.decryptStream(context), collectInto([]))).rejects.toBeInstanceOf(DecryptionFailed);
  });
});
