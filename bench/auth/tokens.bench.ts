/**
 * Access-token benchmark: verifications per second of Rampart's verifier with
 * its cache off (every token fully verified) and on (a hot token), against two
 * baselines measured in the same run: jose's `jwtVerify` alone and a raw
 * node:crypto Ed25519 verification of the signing input. Also the cost of the
 * revocation check per request (local set, memory kv, Redis in strict and
 * pub/sub modes), which is what a protected route adds after verification.
 */
import { createPrivateKey, createPublicKey, verify as edVerify } from "node:crypto";
import { hash as argon2Hash, verify as argon2Verify, type Algorithm } from "@node-rs/argon2";
import { jwtVerify, SignJWT } from "jose";
import pino from "pino";
import { RevocationList, type RevocationConsistency } from "../../src/auth/revocation/index.js";
import { EPOCH_KEY } from "../../src/auth/revocation/revocation-log.js";
import { issueAccessToken } from "../../src/auth/tokens/issuer.js";
import { generateSigningKey, importPublicKey } from "../../src/auth/tokens/key-material.js";
import { AccessTokenVerifier } from "../../src/auth/tokens/verifier.js";
import type { AccessTokenSettings } from "../../src/auth/tokens/index.js";
import { MemoryKv } from "../../src/kv/memory.js";
import { RedisKv } from "../../src/kv/redis.js";
import type { KvStore } from "../../src/kv/types.js";
import { systemClock } from "../../src/runtime/clock.js";

const settings: AccessTokenSettings = { issuer: "https://bench.example", audience: "rampart", ttlSeconds: 900, clockSkewSeconds: 30, rotationMs: 30 * 86_400_000, publishDelayMs: 600_000 };
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const ROUNDS = 5;

/** Ops/s of `fn` with `concurrency` calls in flight, for ROUND_MS. */
async function rate(fn: () => unknown, concurrency = 1): Promise<number> {
  let n = 0;
  const end = performance.now() + ROUND_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs every case in alternating rounds (so drift hits all alike) and returns the median of each. */
async function measure(cases: Record<string, [() => unknown, number?]>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (const [fn] of Object.values(cases)) for (let i = 0; i < 200; i++) await fn(); // warm-up
  for (let r = 0; r < ROUNDS; r++) for (const [name, [fn, c]] of Object.entries(cases)) (samples[name] ??= []).push(await rate(fn, c ?? 1));
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

async function revocationCases(kv: KvStore, label: string, closers: (() => Promise<void>)[]): Promise<Record<string, [() => unknown, number?]>> {
  const log = pino({ level: "silent" });
  const make = (consistency: RevocationConsistency) => RevocationList.create({ kv, clock: systemClock, log, retentionMs: 930_000, consistency, syncIntervalMs: 0 });
  const strict = await make("strict");
  const pubsub = await make("pubsub");
  await strict.revokeSession("revoked-sid");
  // The log counter has no practical expiry: remove it with the lists.
  closers.push(() => strict.close(), () => pubsub.close(), async () => void (await kv.del(EPOCH_KEY)));
  return {
    [`revocation check, ${label}, strict, not revoked (one kv read)`]: [() => strict.isRevoked("live-sid"), 1],
    [`revocation check, ${label}, strict, not revoked, 32 in flight (reads shared)`]: [() => strict.isRevoked("live-sid"), 32],
    [`revocation check, ${label}, revoked (local set)`]: [() => strict.isRevoked("revoked-sid"), 1],
    [`revocation check, ${label}, pubsub, not revoked (local set only)`]: [() => pubsub.isRevoked("live-sid"), 1],
  };
}

export async function run(): Promise<string> {
  const key = generateSigningKey();
  const privateKey = createPrivateKey({ key: key.privatePkcs8, format: "der", type: "pkcs8" });
  const publicKey = await importPublicKey(key.publicJwk);
  const nodePublicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: key.publicJwk.x }, format: "jwk" });
  const ring = { verificationKey: () => publicKey, trusts: () => true };
  const uncached = new AccessTokenVerifier({ ring, clock: systemClock, settings, cacheSize: 0 });
  const cached = new AccessTokenVerifier({ ring, clock: systemClock, settings, cacheSize: 10_000 });
  const { token } = await issueAccessToken({ kid: key.kid, privateKey }, settings, { sub: "user-1", sid: "session-1", roles: ["user"] }, Date.now());
  const [h, p, s] = token.split(".") as [string, string, string];
  const joseOptions = { algorithms: ["EdDSA"], issuer: settings.issuer, audience: settings.audience, typ: "at+jwt" };

  const results = await measure({
    "node:crypto Ed25519 verify (signature only)": [() => edVerify(null, Buffer.from(`${h}.${p}`), nodePublicKey, Buffer.from(s, "base64url"))],
    "jose jwtVerify": [() => jwtVerify(token, publicKey, joseOptions)],
    "Rampart verifier, cache off": [() => uncached.verify(token)],
    "Rampart verifier, cache on (hot token)": [() => cached.verify(token)],
    // WebCrypto verifies off the main thread, so requests in flight use both cores.
    "jose jwtVerify, 8 in flight": [() => jwtVerify(token, publicKey, joseOptions), 8],
    "Rampart verifier, cache off, 8 in flight": [() => uncached.verify(token), 8],
  });
  const base = results["jose jwtVerify"]!;
  const raw = results["node:crypto Ed25519 verify (signature only)"]!;
  const rows = Object.entries(results).map(([name, ops]) => `| ${name} | ${Math.round(ops)} | ${(ops / base).toFixed(2)} | ${(ops / raw).toFixed(2)} |`);

  // Signing: Rampart's synchronous node:crypto issuer against jose's SignJWT (WebCrypto, whose
  // Ed25519 job runs on libuv's thread pool), idle and while argon2 keeps that pool busy, as
  // @node-rs/argon2's async hashes did during logins before the hasher moved to its own threads.
  const input = { sub: "user-1", sid: "session-1", roles: ["user"] };
  const joseSign = () =>
    new SignJWT({ sid: input.sid, roles: input.roles })
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: key.kid })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject(input.sub)
      .setIssuedAt()
      .setExpirationTime("15m")
      .setJti("jti")
      .sign(privateKey);
  const rampartSign = () => issueAccessToken({ kid: key.kid, privateKey }, settings, input, Date.now());
  const idleSign = await measure({ "jose SignJWT": [joseSign], "Rampart issuer (node:crypto sign)": [rampartSign] });
  const phc = await argon2Hash("bench password", { algorithm: 2 as Algorithm, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  let hashing = true;
  const background = Array.from({ length: 4 }, async () => {
    while (hashing) await argon2Verify(phc, "bench password");
  });
  const busySign = await measure({ "jose SignJWT, argon2 on the thread pool": [joseSign], "Rampart issuer, argon2 on the thread pool": [rampartSign] });
  hashing = false;
  await Promise.all(background);
  const signBase = idleSign["jose SignJWT"]!;
  const signRows = Object.entries({ ...idleSign, ...busySign }).map(([name, ops]) => `| ${name} | ${Math.round(ops)} | ${(1000 / ops).toFixed(3)} | ${(ops / signBase).toFixed(2)} |`);

  const memory = new MemoryKv({ clock: systemClock });
  const closers: (() => Promise<void>)[] = [];
  const revCases = await revocationCases(memory, "memory kv", closers);
  let redis: RedisKv | undefined;
  if (process.env.BENCH_REDIS_URL) {
    redis = new RedisKv({ url: process.env.BENCH_REDIS_URL, prefix: `bench:tokens:${process.pid}:`, log: pino({ level: "silent" }) });
    for (let i = 0; redis.redis.status !== "ready" && i < 50; i++) await new Promise((r) => setTimeout(r, 100));
    Object.assign(revCases, await revocationCases(redis, "Redis", closers));
  }
  const rev = await measure(revCases);
  for (const c of closers) await c();
  await memory.close();
  await redis?.close();
  const revRows = Object.entries(rev).map(([name, ops]) => `| ${name} | ${Math.round(ops)} | ${(ops / base).toFixed(2)} |`);

  return [
    "### Access tokens: verification",
    "",
    `One process, ${ROUNDS} alternating rounds of ${ROUND_MS} ms per case (median), one verification in flight unless noted. Ratios against jose's \`jwtVerify\` (one in flight) and a raw node:crypto Ed25519 verification of the signing input, measured in the same run.`,
    "",
    "| case | verifications/s | vs jose | vs node:crypto |",
    "|---|---|---|---|",
    ...rows,
    "",
    "### Access tokens: signing",
    "",
    `One in flight, ${ROUNDS} alternating rounds of ${ROUND_MS} ms per case (median). "argon2 on the thread pool": four @node-rs/argon2 async verifications (m=19456 t=2) kept running on libuv's pool meanwhile.`,
    "",
    "| case | tokens/s | ms per token | vs jose (idle) |",
    "|---|---|---|---|",
    ...signRows,
    "",
    "### Access tokens: revocation check per request",
    "",
    `Strict mode (default) syncs with the kv log on a local miss (one read of its counter, shared by the checks in flight) so a logout is refused on every instance at once; pub/sub mode answers from the local copy alone.${redis ? "" : " Set BENCH_REDIS_URL for the Redis rows."}`,
    "",
    "| case | checks/s | vs jose jwtVerify |",
    "|---|---|---|",
    ...revRows,
    "",
  ].join("\n");
}
