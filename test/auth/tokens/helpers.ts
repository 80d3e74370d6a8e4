/**
 * Shared set-up of the access-token tests: an AES-256-GCM sealer standing in
 * for src/crypto, services on test runtimes with a manual clock, and forging
 * helpers that build JWS compact tokens with node:crypto only (never jose), so
 * attack tokens do not depend on the library under test.
 */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, randomBytes, sign, type KeyObject } from "node:crypto";
import type { Config } from "../../../src/config/index.js";
import type { Runtime } from "../../../src/runtime/index.js";
import { ManualClock } from "../../../src/runtime/clock.js";
import { createAccessTokens, listSigningKeys, sealContext, settingsFromConfig, type AccessTokens, type AccessTokensOptions, type Sealer } from "../../../src/auth/tokens/index.js";
import { createTestEnv, type ModeName, type TestEnv } from "../../helpers/modes.js";
import { createTestRuntime } from "../../helpers/runtime.js";

/** AES-256-GCM with the context as additional authenticated data. */
export function testSealer(key: Buffer = randomBytes(32)): Sealer & { opened: number } {
  const aad = (context: Record<string, string>): Buffer => Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))));
  const sealer = {
    opened: 0,
    async seal(plaintext: Buffer, context: Record<string, string>): Promise<string> {
      const iv = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", key, iv).setAAD(aad(context));
      const ct = Buffer.concat([c.update(plaintext), c.final()]);
      return `t1:${Buffer.concat([iv, c.getAuthTag(), ct]).toString("base64url")}`;
    },
    async open(sealed: string, context: Record<string, string>): Promise<Buffer> {
      sealer.opened++;
      if (!sealed.startsWith("t1:")) throw new Error("not sealed");
      const raw = Buffer.from(sealed.slice(3), "base64url");
      const d = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12)).setAAD(aad(context));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]);
    },
  };
  return sealer;
}

/** Test variables: a short publish delay keeps rotation scenarios inside one token lifetime. */
export const TOKEN_ENV = { RAMPART_PUBLIC_URL: "https://id.example.test", JWT_AUDIENCE: "rampart-test", SIGNING_KEY_PUBLISH_DELAY_SECONDS: "120" };

/** An access-token service on a runtime, without background timers (tests drive reloads and checks). */
export function startTokens(runtime: Runtime, clock: ManualClock, sealer: Sealer, extra: Partial<AccessTokensOptions> = {}): Promise<AccessTokens> {
  return createAccessTokens({
    db: runtime.db.kysely,
    kv: runtime.kv,
    clock,
    log: runtime.log,
    sealer,
    settings: settingsFromConfig(runtime.config),
    reloadIntervalMs: 0,
    rotationCheckIntervalMs: 0,
    ...extra,
  });
}

export interface TokenFixture {
  env: TestEnv;
  clock: ManualClock;
  sealer: ReturnType<typeof testSealer>;
  /** A runtime and its service; more share the same stores through `instance()`. */
  runtime: Runtime;
  tokens: AccessTokens;
  /** Another instance: in postgres mode on its own runtime (own pool and Redis connections), in embedded mode on the same one. */
  instance(options?: Partial<AccessTokensOptions>): Promise<{ runtime: Runtime; tokens: AccessTokens }>;
  /** Closes the services of this fixture (the stores stay for the next one). */
  close(): Promise<void>;
}

/**
 * Stores in `mode` shared by the tests of a file (starting PGlite costs
 * seconds); each `fixture()` starts from an empty key table.
 */
export interface TokenStores {
  fixture(options?: Partial<AccessTokensOptions>): Promise<TokenFixture>;
  /** Empties the key table and starts `n` services at once, alternating between the two instances' runtimes. */
  startTogether(n: number): Promise<{ runtime: Runtime; services: AccessTokens[] }>;
  readonly config: Config;
  readonly clock: ManualClock;
  /** The two instances' runtimes (the same one in embedded mode). */
  readonly runtimes: readonly [Runtime, Runtime];
  close(): Promise<void>;
}

export async function tokenStores(mode: ModeName, env: Record<string, string> = {}): Promise<TokenStores> {
  const testEnv = await createTestEnv(mode, { ...TOKEN_ENV, ...env });
  const clock = new ManualClock();
  const a = (await createTestRuntime(testEnv, { clock })).runtime;
  // In postgres mode the other instance is a separate runtime: its own pool and Redis connections.
  const b = mode === "postgres" ? (await createTestRuntime(testEnv, { clock })).runtime : a;
  const reset = async (): Promise<void> => {
    await a.db.kysely.deleteFrom("rampart_signing_keys").execute();
    await a.db.kysely.deleteFrom("rampart_leases").execute();
  };
  return {
    config: a.config,
    clock,
    runtimes: [a, b],
    async startTogether(n) {
      await reset();
      const sealer = testSealer();
      return { runtime: a, services: await Promise.all(Array.from({ length: n }, (_, i) => startTokens(i % 2 === 0 ? a : b, clock, sealer))) };
    },
    async fixture(options = {}) {
      await reset();
      const sealer = testSealer();
      const services: AccessTokens[] = [];
      const make = async (runtime: Runtime, extra: Partial<AccessTokensOptions>): Promise<AccessTokens> => {
        const t = await startTokens(runtime, clock, sealer, extra);
        services.push(t);
        return t;
      };
      const tokens = await make(a, options);
      return {
        env: testEnv,
        clock,
        sealer,
        runtime: a,
        tokens,
        async instance(extra = {}) {
          return { runtime: b, tokens: await make(b, { ...options, ...extra }) };
        },
        async close() {
          for (const t of services) await t.close();
        },
      };
    },
    async close() {
      if (b !== a) await b.close();
      await a.close();
      await testEnv.cleanup();
    },
  };
}

export const b64 = (v: unknown): string => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** A compact JWS of `header` and `payload` signed by `signer` over the RFC 7515 §5.1 signing input. */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (input: Buffer) => Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = signer(Buffer.from(input));
  return `${input}.${typeof sig === "string" ? sig : sig.toString("base64url")}`;
}

export const ed25519Signer = (key: KeyObject) => (input: Buffer): Buffer => sign(null, input, key);
export const hmacSigner = (secret: Buffer | string) => (input: Buffer): Buffer => createHmac("sha256", secret).update(input).digest();

/** The private key of one of our stored keys, opened with the test sealer (what an attacker must not have). */
export async function ourPrivateKey(f: TokenFixture, kid: string): Promise<KeyObject> {
  const row = (await listSigningKeys(f.runtime.db.kysely)).find((k) => k.kid === kid);
  if (!row) throw new Error(`no stored key ${kid}`);
  return createPrivateKey({ key: await f.sealer.open(row.privateKeySealed, sealContext(kid)), format: "der", type: "pkcs8" });
}

/** Valid claims at the fixture's clock, to be altered one at a time by attack tests. */
export function validClaims(f: TokenFixture, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(f.clock.now() / 1000);
  return { iss: f.runtime.config.publicUrl, aud: f.runtime.config.jwtAudience, sub: "user-1", sid: "session-1", roles: ["user"], iat, exp: iat + 900, jti: "jti-1", ...overrides };
}

/** Polls until `fn` returns true (pub/sub delivery between instances is asynchronous). */
export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
