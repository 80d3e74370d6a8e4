/** The polyglot scanner on its own: markers across chunk boundaries, ZIP trailers, and no false alarms on binary data. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasZipTrailer, PolyglotScanner } from "../../src/files/index.js";
import { gif, safeRandom, zip } from "./fixtures.js";

function scan(chunks: Buffer[]) {
  const s = new PolyglotScanner();
  for (const c of chunks) {
    const f = s.push(c);
    if (f) return f;
  }
  return s.finish();
}

describe("PolyglotScanner", () => {
  it("finds markup near the start only as whole tags", () => {
    expect(scan([Buffer.from("GIF89a<html>")])).toBe("markup-at-start");
    expect(scan([Buffer.from("%PDF-1.4\n<!-- x -->")])).toBe("markup-at-start");
    expect(scan([Buffer.from("%PDF-1.4\n<svg\n")])).toBe("markup-at-start");
    expect(scan([Buffer.from("%PDF-1.4\n<</Title (x)>> <FEFF0041> <divx")])).toBeUndefined();
  });

  it("finds active markup anywhere, also when a chunk boundary cuts it", () => {
    const pad = safeRandom(5000);
    expect(scan([pad, Buffer.from("..<scr"), Buffer.from("IPT>")])).toBe("active-markup");
    expect(scan([pad, Buffer.from("javas"), Buffer.from("cript:alert(1)")])).toBe("active-markup");
    expect(scan([pad, Buffer.from("<html"), Buffer.from(" lang=en>")])).toBe("active-markup");
    expect(scan([pad, Buffer.from("<html")])).toBe("active-markup");
    expect(scan([pad, Buffer.from("<htmlx")])).toBeUndefined();
  });

  it("finds a ZIP appended to a GIF (GIFAR), with or without an archive comment", () => {
    expect(scan([gif(), zip()])).toBe("appended-archive");
    const withComment = Buffer.concat([gif(), zip()]);
    const commented = Buffer.concat([withComment, Buffer.from("comment!")]);
    commented.writeUInt16LE(8, withComment.length - 2);
    expect(hasZipTrailer(commented)).toBe(true);
    // The signature with a comment length that does not reach the end is not an archive.
    const fake = Buffer.concat([safeRandom(100), Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18), safeRandom(40)]);
    expect(hasZipTrailer(fake)).toBe(false);
  });

  it("property: binary data without '<' and without a ZIP trailer is never flagged, however it is chunked", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200_000 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 8 }), (size, cuts) => {
        const data = safeRandom(size);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const c of cuts) {
          if (at >= size) break;
          chunks.push(data.subarray(at, Math.min(size, at + c)));
          at += c;
        }
        if (at < size) chunks.push(data.subarray(at));
        expect(scan(chunks)).toBeUndefined();
      }),
      { numRuns: 50 },
    );
  });
});
