/**
 * Password hashing benchmark: hashes (and verifies) per second through
 * Rampart's hasher — NFKC, concurrency cap, queue, stats — against raw
 * @node-rs/argon2 at the same parameters and the same concurrency, measured
 * in alternating rounds in one run. Goal: ratio ≥ 0.9. Also the event loop's
 * delay while the hasher is saturated, against idle (hashing must not block it).
 */
import { availableParallelism } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { hash as rawHash, verify as rawVerify, type Algorithm, type Options } from "@node-rs/argon2";
import { createPasswordHasher } from "../../src/auth/password/index.js";
import { loadConfig } from "../../src/config/index.js";

const ROUNDS = 9;
const PER_ROUND = 40;

interface Pair {
  base: number;
  target: number;
}

async function pair(targetFirst: boolean, base: () => Promise<number>, target: () => Promise<number>): Promise<Pair> {
  if (targetFirst) {
    const t = await target();
    return { target: t, base: await base() };
  }
  const b = await base();
  return { base: b, target: await target() };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

/** Runs `n` tasks with at most `c` in flight; returns tasks per second. */
async function ratePool(n: number, c: number, task: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** Submits all `n` tasks at once (the hasher queues them); returns tasks per second. */
async function rateBurst(n: number, task: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => task(i)));
  return n / ((performance.now() - t0) / 1000);
}

async function loopDelayP99(during: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await during();
  h.disable();
  return h.percentile(99) / 1e6;
}

export async function run(): Promise<string> {
  const config = loadConfig({});
  const hasher = createPasswordHasher(config);
  const c = hasher.maxConcurrency;
  const options: Options = { algorithm: 2 as Algorithm, memoryCost: config.argon2MemoryKib, timeCost: config.argon2Iterations, parallelism: config.argon2Parallelism, outputLen: 32 };
  const pw = (i: number) => `benchmark password number ${i}`;
  const stored = await hasher.hash(pw(0));

  await ratePool(2 * c, c, (i) => rawHash(pw(i), options)); // warm-up
  // Each round measures baseline and target back to back, so a noisy neighbour
  // hits both; the reported ratio is the median of the per-round ratios.
  const pairs = { hash: [] as Pair[], verify: [] as Pair[], dummy: [] as Pair[] };
  for (let r = 0; r < ROUNDS; r++) {
    const flip = r % 2 === 1; // alternate which side goes first
    pairs.hash.push(await pair(flip, () => ratePool(PER_ROUND, c, (i) => rawHash(pw(i), options)), () => rateBurst(PER_ROUND, (i) => hasher.hash(pw(i)))));
    pairs.verify.push(await pair(flip, () => ratePool(PER_ROUND, c, () => rawVerify(stored, pw(0), options)), () => rateBurst(PER_ROUND, () => hasher.verify(stored, pw(0)))));
    pairs.dummy.push(await pair(flip, () => ratePool(PER_ROUND, c, () => rawVerify(stored, pw(0), options)), () => rateBurst(PER_ROUND, () => hasher.dummyVerify(pw(0)))));
  }
  const idleP99 = await loopDelayP99(() => new Promise((r) => setTimeout(r, 1000)));
  const busyP99 = await loopDelayP99(() => rateBurst(3 * PER_ROUND, (i) => hasher.hash(pw(i))));

  const line = (name: string, ps: Pair[]) =>
    `| ${name} | ${median(ps.map((p) => p.base)).toFixed(1)} | ${median(ps.map((p) => p.target)).toFixed(1)} | **${median(ps.map((p) => p.target / p.base)).toFixed(2)}** |`;
  return [
    "### Passwords: argon2id hashing through the hasher",
    "",
    `m=${config.argon2MemoryKib} KiB, t=${config.argon2Iterations}, p=${config.argon2Parallelism}; concurrency cap ${c} (cores: ${availableParallelism()}); ` +
      `${PER_ROUND} operations per round, median of ${ROUNDS} paired rounds (ratio = median of per-round ratios). Baseline: raw @node-rs/argon2 with ${c} in flight; ` +
      `target: all ${PER_ROUND} submitted at once to the hasher (queued behind its cap). Goal ≥ 0.9.`,
    "",
    "| operation | raw argon2 /s | hasher /s | ratio |",
    "|---|---|---|---|",
    line("hash", pairs.hash),
    line("verify (correct password)", pairs.verify),
    line("dummyVerify (unknown user) vs raw verify", pairs.dummy),
    "",
    `Event loop delay p99 while the hasher is saturated: ${busyP99.toFixed(1)} ms (idle: ${idleP99.toFixed(1)} ms).`,
    "",
  ].join("\n");
}
