import { describe, expect, it } from "vitest";
import { hasScope, isSensitiveScope, isValidScope, MAX_SCOPES, parseScopes } from "../../../src/auth/api-keys/index.js";
import { PermissionRegistry, PERMISSIONS } from "../../../src/auth/permissions.js";
import { isRampartError } from "../../../src/errors/index.js";

describe("API key scopes", () => {
  it("are resource:action strings; every built-in permission is a valid scope", () => {
    for (const p of PERMISSIONS) expect(isValidScope(p), p).toBe(true);
    for (const bad of ["files", "files:", ":read", "Files:read", "files:read:all", "files:*", "files :read", "1files:read", `${"a".repeat(65)}:read`]) {
      expect(isValidScope(bad), bad).toBe(false);
    }
  });

  it("parseScopes deduplicates and sorts, and reports each bad entry by index", () => {
    expect(parseScopes(["files:write", "files:read", "files:write"])).toEqual(["files:read", "files:write"]);
    const err: unknown = (() => {
      try {
        parseScopes(["files:read", "FILES:READ", 7, "nope:x"], { allowed: PERMISSIONS });
      } catch (e) {
        return e;
      }
    })();
    expect(isRampartError(err) && err.code === "VALIDATION_FAILED").toBe(true);
    const fields = (isRampartError(err) ? err.details?.fields : []) as { path: string }[];
    expect(fields.map((f) => f.path)).toEqual(["body.scopes[1]", "body.scopes[2]", "body.scopes[3]"]);
    expect(() => parseScopes(Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `r${i}:read`))).toThrow();
  });

  it("hasScope is an exact match", () => {
    expect(hasScope(["files:read"], "files:read")).toBe(true);
    expect(hasScope(["files:read"], "files:write")).toBe(false);
    expect(hasScope([], "files:read")).toBe(false);
  });

  it("parseScopes takes up to MAX_SCOPES scopes; beyond, the error says how many it got", () => {
    const scopes = (n: number) => Array.from({ length: n }, (_, i) => `r${i}:read`);
    expect(parseScopes(scopes(MAX_SCOPES))).toHaveLength(MAX_SCOPES);
    expect(fieldsOf(() => parseScopes(scopes(MAX_SCOPES + 1), { path: "scopes" }))).toEqual([{ path: "scopes", message: `At most ${MAX_SCOPES} scopes, instead got ${MAX_SCOPES + 1}.` }]);
  });

  it("parseScopes explains each refusal: malformed (any type) or not allowed", () => {
    expect(fieldsOf(() => parseScopes([null, "files:read", "a:b"], { allowed: ["files:read"] }))).toEqual([
      { path: "body.scopes[0]", message: "A scope is `resource:action` in lower case (e.g. `files:read`)." },
      { path: "body.scopes[2]", message: "Unknown scope 'a:b'." },
    ]);
    // Only strings: a value that merely prints as a scope is refused.
    expect(fieldsOf(() => parseScopes([["files:read"]]))).toEqual([{ path: "body.scopes[0]", message: "A scope is `resource:action` in lower case (e.g. `files:read`)." }]);
    // A well-formed scope needs no allow-list.
    expect(parseScopes(["a:b"])).toEqual(["a:b"]);
  });

  it("isSensitiveScope: every :write scope and every permission the user role lacks", () => {
    expect(isSensitiveScope("notes:write")).toBe(true);
    expect(isSensitiveScope("me:write")).toBe(true);
    expect(isSensitiveScope("users:read")).toBe(true);
    expect(isSensitiveScope("audit:read")).toBe(true);
    expect(isSensitiveScope("me:read")).toBe(false);
    expect(isSensitiveScope("files:read")).toBe(false);
    // A name the built-in table does not know grants nothing: not sensitive.
    expect(isSensitiveScope("notes:read")).toBe(false);
    expect(isSensitiveScope("notes:writer")).toBe(false);
  });

  it("isSensitiveScope with a registry: the app's permissions the user role does not hold", () => {
    const registry = PermissionRegistry.create({ permissions: ["notes:read", "reports:read"], roles: { user: ["notes:read"], auditor: ["reports:read"] } });
    expect(isSensitiveScope("notes:read", registry)).toBe(false);
    expect(isSensitiveScope("reports:read", registry)).toBe(true);
    expect(isSensitiveScope("users:read", registry)).toBe(true);
    expect(isSensitiveScope("me:read", registry)).toBe(false);
    expect(isSensitiveScope("unknown:read", registry)).toBe(false);
    expect(isSensitiveScope("reports:write", registry)).toBe(true);
  });
});

/** The VALIDATION_FAILED fields `fn` throws. */
function fieldsOf(fn: () => unknown): unknown[] {
  try {
    fn();
  } catch (err) {
    if (isRampartError(err) && err.code === "VALIDATION_FAILED") return (err.details?.fields ?? []) as unknown[];
    throw err;
  }
  throw new Error("accepted");
}
