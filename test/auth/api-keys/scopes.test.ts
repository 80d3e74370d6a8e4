import { describe, expect, it } from "vitest";
import { hasScope, isValidScope, MAX_SCOPES, parseScopes } from "../../../src/auth/api-keys/index.js";
import { PERMISSIONS } from "../../../src/auth/permissions.js";
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
});
