/**
 * Threats: (1) credential stuffing and typo probing with API-key-shaped
 * strings — a key with a bad checksum is refused before any database lookup,
 * so it costs no query; (2) forging a key from its public prefix — the
 * checksum is not authentication, the secret is; (3) a revoked or expired key
 * that keeps working; (4) telling failures apart — every failure is the same
 * null.
 */
import { describe, expect, it, vi } from "vitest";
import { authenticateApiKey, BASE62_ALPHABET, crc32, generateApiKey, toBase62, type StoredApiKey } from "../../../src/auth/api-keys/index.js";

interface Row extends StoredApiKey {
  id: string;
  scopes: string[];
}

function store(rows: Row[]) {
  return vi.fn(async (id: string) => rows.find((r) => r.id === id) ?? null);
}

const NOW = Date.UTC(2026, 0, 1);

describe("API key authentication", () => {
  it("a key with one flipped checksum character is rejected without a lookup", async () => {
    const k = generateApiKey();
    const findById = store([{ id: k.id, hash: k.hash, scopes: ["files:read"] }]);
    const last = k.key.at(-1) as string;
    const flipped = k.key.slice(0, -1) + (BASE62_ALPHABET[(BASE62_ALPHABET.indexOf(last) + 1) % 62] as string);
    expect(await authenticateApiKey(flipped, findById, NOW)).toBeNull();
    expect(findById).not.toHaveBeenCalled();
    // The genuine key does reach the store.
    expect(await authenticateApiKey(k.key, findById, NOW)).toMatchObject({ id: k.id });
    expect(findById).toHaveBeenCalledTimes(1);
  });

  it("a forged key with a valid checksum but a guessed secret is refused after the lookup", async () => {
    const k = generateApiKey();
    const findById = store([{ id: k.id, hash: k.hash, scopes: [] }]);
    const body = `${k.prefix}_${"A".repeat(32)}`;
    const forged = body + toBase62(crc32(body), 6);
    expect(await authenticateApiKey(forged, findById, NOW)).toBeNull();
    expect(findById).toHaveBeenCalledWith(k.id);
  });

  it("unknown ids, revoked keys and expired keys all give the same null", async () => {
    const live = generateApiKey();
    const revoked = generateApiKey();
    const expired = generateApiKey();
    const unknown = generateApiKey();
    const findById = store([
      { id: live.id, hash: live.hash, scopes: [], expiresAt: new Date(NOW + 1000) },
      { id: revoked.id, hash: revoked.hash, scopes: [], revokedAt: new Date(NOW - 1000) },
      { id: expired.id, hash: expired.hash, scopes: [], expiresAt: new Date(NOW) },
    ]);
    expect(await authenticateApiKey(live.key, findById, NOW)).toMatchObject({ id: live.id });
    for (const k of [revoked, expired, unknown]) expect(await authenticateApiKey(k.key, findById, NOW)).toBeNull();
  });

  it("the stored record holds no usable key: the hash does not authenticate as a key", async () => {
    const k = generateApiKey();
    const findById = store([{ id: k.id, hash: k.hash, scopes: [] }]);
    expect(k.hash).not.toContain(k.key.slice(16, 48));
    expect(await authenticateApiKey(k.hash, findById, NOW)).toBeNull();
  });
});
