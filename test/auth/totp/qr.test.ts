/**
 * The enrolment QR code must scan back to the exact otpauth:// URL. Decoded by
 * ZBar (Debian `zbar-tools`), an independent reader; the SVG is rasterized by
 * librsvg (`librsvg2-bin`) first, as a browser would render it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateTotpSecret, totpQrCode, totpUri } from "../../../src/auth/totp/index.js";

const dir = mkdtempSync(join(tmpdir(), "rampart-qr-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dataUrlBytes(dataUrl: string, mime: string): Buffer {
  const prefix = `data:${mime};base64,`;
  expect(dataUrl.startsWith(prefix)).toBe(true);
  return Buffer.from(dataUrl.slice(prefix.length), "base64");
}

function zbar(pngPath: string): string {
  const r = spawnSync("zbarimg", ["--quiet", "--raw", pngPath], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`zbarimg failed (${r.status}): ${r.stderr}`);
  return r.stdout.replace(/\n$/, "");
}

describe("TOTP enrolment QR code", () => {
  const url = totpUri({ secret: generateTotpSecret(), issuer: "Rampart", accountName: "grace.hopper@example.com" });

  it("PNG data URL scans to the otpauth URL", async () => {
    const png = dataUrlBytes(await totpQrCode(url, "png"), "image/png");
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    const file = join(dir, "code.png");
    writeFileSync(file, png);
    expect(zbar(file)).toBe(url);
  });

  it("SVG data URL (the default) renders and scans to the otpauth URL", async () => {
    const svg = dataUrlBytes(await totpQrCode(url), "image/svg+xml").toString("utf8");
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const svgFile = join(dir, "code.svg");
    const pngFile = join(dir, "code-from-svg.png");
    writeFileSync(svgFile, svg);
    const r = spawnSync("rsvg-convert", ["--width", "400", "--background-color", "white", "-o", pngFile, svgFile], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(zbar(pngFile)).toBe(url);
  });
});
