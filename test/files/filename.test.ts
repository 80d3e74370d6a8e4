/** Display names from client filenames, and the Content-Disposition they are sent back in (RFC 6266, RFC 8187). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contentDisposition, MAX_NAME_CHARS, sanitizeFilename } from "../../src/files/index.js";

describe("sanitizeFilename", () => {
  it("keeps an ordinary name as is, in NFC", () => {
    expect(sanitizeFilename("holiday photo.png")).toBe("holiday photo.png");
    expect(sanitizeFilename("Cafe\u0301.pdf")).toBe("Caf\u00e9.pdf");
  });

  it("keeps the last path segment only and drops leading dots", () => {
    expect(sanitizeFilename("C:\\Users\\me\\Desktop\\cv.pdf")).toBe("cv.pdf");
    expect(sanitizeFilename("/etc/passwd")).toBe("passwd");
    expect(sanitizeFilename("../..")).toBe("");
    expect(sanitizeFilename(".htaccess")).toBe("htaccess");
  });

  it("removes control, bidi-override and zero-width characters", () => {
    expect(sanitizeFilename("a\u0000b\u001fc\u007f\u0085.png")).toBe("abc.png");
    expect(sanitizeFilename("report\u202Egnp.exe")).toBe("reportgnp.exe");
    expect(sanitizeFilename("zero\u200Bwidth\uFEFF.gif")).toBe("zerowidth.gif");
  });

  it("caps the length in code points and keeps the extension", () => {
    const long = `${"é".repeat(500)}.jpeg`;
    const out = sanitizeFilename(long);
    expect(Array.from(out)).toHaveLength(MAX_NAME_CHARS);
    expect(out.endsWith(".jpeg")).toBe(true);
    const astral = `${"😀".repeat(300)}.png`;
    expect(Array.from(sanitizeFilename(astral)).length).toBe(MAX_NAME_CHARS);
    // No lone surrogate: the cut falls between code points.
    expect(sanitizeFilename(astral)).toBe(`${"😀".repeat(MAX_NAME_CHARS - 4)}.png`);
  });

  it("property: the result never holds a separator or control character, is NFC, bounded, and is stable", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 600 }), (raw) => {
        const out = sanitizeFilename(raw);
        // eslint-disable-next-line no-control-regex -- asserting control characters are gone
        expect(out).not.toMatch(/[/\\\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
        expect(out.normalize("NFC")).toBe(out);
        expect(Array.from(out).length).toBeLessThanOrEqual(MAX_NAME_CHARS);
        expect(out.startsWith(".")).toBe(false);
        expect(sanitizeFilename(out)).toBe(out);
      }),
    );
  });
});

describe("contentDisposition", () => {
  it("sends an ASCII fallback and the exact name as filename* (RFC 8187)", () => {
    expect(contentDisposition("plain.png")).toBe(`attachment; filename="plain.png"; filename*=UTF-8''plain.png`);
    expect(contentDisposition("naïve 100%.pdf")).toBe(`attachment; filename="na_ve 100_.pdf"; filename*=UTF-8''na%C3%AFve%20100%25.pdf`);
    expect(contentDisposition(`it's "x".gif`)).toBe(`attachment; filename="it's _x_.gif"; filename*=UTF-8''it%27s%20%22x%22.gif`);
  });

  it("property: the header has no CR/LF and filename* decodes back to the name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 100 }), (name) => {
        const h = contentDisposition(name);
        expect(h).not.toMatch(/[\r\n]/);
        const ext = /filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]*)$/.exec(h);
        expect(ext).not.toBeNull();
        expect(decodeURIComponent(ext![1]!)).toBe(name);
      }),
    );
  });
});
