/**
 * Upload test material: minimal but well-formed files of each allowed type
 * (built here byte by byte from their specifications, not by the code under
 * test), hostile variants, and multipart bodies built by hand.
 */
import { randomBytes } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A valid PNG (W3C PNG §5): signature, IHDR, optional chunks, IDAT, IEND. `pad` adds a private ancillary chunk of random bytes, then `text` a tEXt comment. */
export function png(options: { width?: number; pad?: number; text?: string } = {}): Buffer {
  const w = options.width ?? 4;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(w, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const raw = Buffer.alloc(w * (1 + 3 * w));
  for (let y = 0; y < w; y++) for (let x = 0; x < 3 * w; x++) raw[y * (1 + 3 * w) + 1 + x] = (x * 37 + y * 11) & 0xff;
  const extra: Buffer[] = [];
  if (options.pad) extra.push(pngChunk("prVt", safeRandom(options.pad)));
  if (options.text !== undefined) extra.push(pngChunk("tEXt", Buffer.from(`Comment\0${options.text}`, "latin1")));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk("IHDR", ihdr), ...extra, pngChunk("IDAT", deflateSync(raw)), pngChunk("IEND", Buffer.alloc(0))]);
}

/** Random bytes without '<' (so padding can never spell markup by chance). */
export function safeRandom(n: number): Buffer {
  const b = randomBytes(n);
  for (let i = 0; i < n; i++) if (b[i] === 0x3c) b[i] = 0x3d;
  return b;
}

/** A 1×1 GIF89a (the classic 43-byte transparent pixel). */
export function gif(): Buffer {
  return Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
}

/** A JPEG: SOI, a JFIF APP0, a comment segment, EOI (enough for magic-byte sniffing). */
export function jpeg(): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const text = Buffer.from("rampart test image", "latin1");
  const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, text.length + 2]), text]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, com, Buffer.from([0xff, 0xd9])]);
}

/** A lossless WebP container (RIFF, WEBP, VP8L chunk with a 1×1 header). */
export function webp(): Buffer {
  const vp8l = Buffer.from([0x2f, 0x00, 0x00, 0x00, 0x00, 0x88, 0x88, 0x08, 0x00]);
  const chunk = Buffer.concat([Buffer.from("VP8L", "latin1"), Buffer.from([vp8l.length, 0, 0, 0]), vp8l, Buffer.alloc(vp8l.length % 2)]);
  const body = Buffer.concat([Buffer.from("WEBP", "latin1"), chunk]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(body.length);
  return Buffer.concat([Buffer.from("RIFF", "latin1"), size, body]);
}

/** A one-page PDF whose content stream shows `text`; `after` is inserted right after the header line. */
export function pdf(text = "Hello", options: { after?: string; padLines?: number } = {}): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const pad = Array.from({ length: options.padLines ?? 0 }, (_, i) => `% padding line ${i} ${"x".repeat(60)}`).join("\n");
  const src = [
    "%PDF-1.4",
    options.after ?? "%\u00e2\u00e3\u00cf\u00d3",
    "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
    "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj",
    "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj",
    `4 0 obj << /Length ${stream.length} >> stream`,
    stream,
    "endstream endobj",
    pad,
    "trailer << /Root 1 0 R >>",
    "%%EOF",
    "",
  ].join("\n");
  return Buffer.from(src, "latin1");
}

/** A minimal ZIP archive (one stored entry), as appended in GIFAR-style polyglots. */
export function zip(name = "a.class", data = Buffer.from("cafebabe")): Buffer {
  const n = Buffer.from(name, "latin1");
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(n.length, 28);
  const cdOffset = local.length + n.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(central.length + n.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, n, data, central, n, eocd]);
}

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data body (RFC 7578) built by hand. */
export function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----rampart${randomBytes(8).toString("hex")}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += "\r\n";
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, "utf8"), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data, "utf8"), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}

/** One file part named `file`. */
export function filePart(filename: string, data: Buffer | string, contentType = "application/octet-stream"): Part {
  return { name: "file", filename, contentType, data };
}
