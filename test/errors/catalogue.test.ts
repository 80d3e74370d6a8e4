import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { docsAnchor, errorCatalogue, errorCodes } from "../../src/errors/index.js";

const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

describe("error catalogue and docs/errors.md", () => {
  const rows = new Map(
    [...doc.matchAll(/^\| \[`([A-Z_]+)`\]\(#([a-z_]+)\) \| (\d{3}) \| (.+) \|$/gm)].map((m) => [m[1]!, { anchor: m[2]!, status: Number(m[3]), message: m[4]! }]),
  );
  const sections = new Set([...doc.matchAll(/^## ([a-z_]+)$/gm)].map((m) => m[1]!.toUpperCase()));

  it("documents every catalogue code with its status and message", () => {
    for (const code of errorCodes) {
      const row = rows.get(code);
      expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
      expect(row!.status).toBe(errorCatalogue[code].status);
      expect(row!.message).toBe(errorCatalogue[code].message);
      expect(row!.anchor).toBe(code.toLowerCase());
      expect(sections.has(code), `docs/errors.md has no section for ${code}`).toBe(true);
    }
  });

  it("gives every code a docs anchor that resolves to its section of docs/errors.md", () => {
    const sectionAnchors = new Set([...doc.matchAll(/^## ([a-z_]+)$/gm)].map((m) => m[1]!));
    for (const code of errorCodes) {
      const [file, anchor] = docsAnchor(code).split("#");
      expect(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8")).toBe(doc);
      expect(sectionAnchors.has(anchor!), `${docsAnchor(code)} names no section`).toBe(true);
      expect(rows.get(code)?.anchor).toBe(anchor);
    }
  });

  it("documents no code that the catalogue lacks", () => {
    for (const code of rows.keys()) expect(errorCodes).toContain(code);
    for (const code of sections) expect(errorCodes).toContain(code);
  });

  it("uses the statuses DESIGN.md fixes for the wire contract", () => {
    const fixed: Record<string, number> = {
      VALIDATION_FAILED: 400, UNAUTHENTICATED: 401, INVALID_CREDENTIALS: 401, TOKEN_EXPIRED: 401, TOKEN_REVOKED: 401,
      REFRESH_TOKEN_REUSED: 401, INVALID_MFA_CODE: 401, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409, EMAIL_TAKEN: 409,
      PAYLOAD_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415, UNSUPPORTED_FILE_TYPE: 415, ACCOUNT_LOCKED: 423, RATE_LIMITED: 429,
      QUOTA_EXCEEDED: 429, WEBHOOK_SIGNATURE_INVALID: 400, IDEMPOTENCY_KEY_REUSED: 422, IDEMPOTENCY_IN_FLIGHT: 409,
      SERVICE_UNAVAILABLE: 503, INTERNAL_ERROR: 500,
    };
    for (const [code, status] of Object.entries(fixed)) expect(errorCatalogue[code as keyof typeof errorCatalogue]?.status, code).toBe(status);
  });
});
