/**
 * The generator's own ceiling: the same client and scheduler, driving a bare
 * node:http hello-world in a child process on loopback (hello-server.ts) at
 * doubling rates, then bisecting between the last rate that held and the
 * first that did not. A rate holds when every arrival started and got its
 * 200 and the P99 latency from the scheduled start stayed under
 * HOLD_P99_MS: past the ceiling the generator's own queue grows and shows
 * up in exactly that number. The result is a lower bound of what the
 * generator alone can do (the hello-world shares the machine), and the
 * arrival rate above which a load test measures the generator more than the
 * server.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { extname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hdr } from "./packages.js";
import { HttpClient } from "./client.js";
import { startOpenModel } from "./scheduler.js";

/** A rate holds while P99 latency from the scheduled start stays under this (loopback hello-world answers in well under 1 ms). */
export const HOLD_P99_MS = 50;
/** Warn when the offered request rate reaches this share of the ceiling. */
export const NEAR_CEILING = 0.5;

export interface CalibrationStep {
  /** Requests per second offered. */
  rate: number;
  scheduled: number;
  completed: number;
  errors: number;
  dropped: number;
  p99Ms: number;
  held: boolean;
}

export interface Calibration {
  /** Highest request rate that held, per second (0 when even the first step did not). */
  ceiling: number;
  stepMs: number;
  steps: CalibrationStep[];
}

export interface CalibrateOptions {
  /** Length of each rate step (ms). */
  stepMs?: number;
  /** Bisect between the last rate that held and the first that did not. */
  refine?: boolean;
  startRate?: number;
  maxRate?: number;
  signal?: AbortSignal;
}

interface HelloServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts hello-server in a child process: under tsx when this module runs from source, plain node from the build. */
async function startHelloServer(): Promise<HelloServer> {
  const self = fileURLToPath(import.meta.url);
  const script = self.slice(0, -extname(self).length).replace(/calibrate$/, "hello-server") + extname(self);
  const loader = extname(self) === ".ts" ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] : [];
  const child = spawn(process.execPath, [...loader, script], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } });
  let out = "";
  let err = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^URL (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`the calibration server exited (${code}) before listening: ${err.trim()}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin.end();
      }),
  };
}

async function step(client: HttpClient, rate: number, stepMs: number, signal?: AbortSignal): Promise<CalibrationStep> {
  const h = hdr().build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, autoResize: true });
  let completed = 0;
  let errors = 0;
  const run = startOpenModel({
    shape: { segments: [{ name: "step", durationMs: stepMs, from: rate, to: rate }] },
    maxInFlight: 1000,
    ...(signal ? { signal } : {}),
    onArrival: (arrival) => ({
      run: async () => {
        try {
          const res = await client.request({ method: "GET", path: "/" });
          if (res.status === 200) completed++;
          else errors++;
        } catch {
          errors++;
        }
        h.recordValue(Math.max(1, Math.round((performance.now() - arrival.scheduledAt) * 1000)));
      },
    }),
  });
  const counts = await run.done;
  const dropped = Object.values(counts.dropped).reduce((a, b) => a + b, 0);
  const p99Ms = h.totalCount > 0 ? Math.round(h.getValueAtPercentile(99)) / 1000 : 0;
  const held = !counts.interrupted && dropped === 0 && errors === 0 && completed === counts.scheduled && p99Ms <= HOLD_P99_MS;
  return { rate, scheduled: counts.scheduled, completed, errors, dropped, p99Ms, held };
}

/** Measures the ceiling; see the module comment. */
export async function calibrate(options: CalibrateOptions = {}): Promise<Calibration> {
  const stepMs = options.stepMs ?? 2000;
  const maxRate = options.maxRate ?? 128_000;
  const server = await startHelloServer();
  const client = new HttpClient(new URL(server.url), { timeoutMs: 5000 });
  const steps: CalibrationStep[] = [];
  try {
    // Opens the sockets and warms the JIT so the first step measures a steady client.
    await step(client, 200, 500, options.signal);
    let held = 0;
    let failed: number | undefined;
    for (let rate = options.startRate ?? 500; rate <= maxRate && !options.signal?.aborted; rate *= 2) {
      const s = await step(client, rate, stepMs, options.signal);
      steps.push(s);
      if (!s.held) {
        failed = rate;
        break;
      }
      held = rate;
    }
    for (let i = 0; options.refine !== false && failed !== undefined && i < 3 && !options.signal?.aborted && failed - held > held / 8; i++) {
      const rate = Math.round((held + failed) / 2);
      const s = await step(client, rate, stepMs, options.signal);
      steps.push(s);
      if (s.held) held = rate;
      else failed = rate;
    }
    return { ceiling: held, stepMs, steps };
  } finally {
    client.close();
    await server.stop();
  }
}

/** A warning when the offered peak request rate is near the ceiling, else undefined. */
export function ceilingWarning(peakRequestsPerSecond: number, ceiling: number): string | undefined {
  if (ceiling <= 0) return "the generator did not hold even the lowest calibration rate: its latencies measure this machine more than the target";
  const share = peakRequestsPerSecond / ceiling;
  if (share < NEAR_CEILING) return undefined;
  return `the offered peak (about ${Math.round(peakRequestsPerSecond)} requests/s) is ${Math.round(share * 100)}% of this generator's ceiling (${ceiling} requests/s): latencies include the generator's own queueing; lower --rate or split the load over several hosts`;
}
