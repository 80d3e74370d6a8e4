/**
 * Test fixtures for the secrets module: a scriptable in-memory provider, a
 * deferred promise, and a service built on a ManualClock with captured logs.
 */
import { loadConfig, type Config } from "../../src/config/index.js";
import { createLogger, SecretRedactor, type Logger } from "../../src/log/index.js";
import type { UpstreamRegistry } from "../../src/resilience/index.js";
import { ManualClock } from "../../src/runtime/clock.js";
import { createSecrets, type SecretProvider, type SecretsService, type SecretListing, type SecretValue } from "../../src/secrets/index.js";
import { LogCapture } from "../helpers/logs.js";

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A provider whose values, failures and latency the test controls; it counts its calls. */
export class FakeProvider implements SecretProvider {
  readonly values = new Map<string, SecretValue>();
  readonly previousValues = new Map<string, SecretValue>();
  calls = 0;
  previousCalls = 0;
  /** When set, load rejects with it. */
  failWith: Error | undefined;
  /** When set, load waits for it before answering. */
  gate: Promise<void> | undefined;
  /** The signal of the last call. */
  lastSignal: AbortSignal | undefined;

  constructor(readonly id = "fake") {}

  set(name: string, value: string, version?: string): this {
    this.values.set(name, version === undefined ? { value } : { value, version });
    return this;
  }

  locate(name: string): string {
    return `${this.id} (${name})`;
  }

  async load(name: string, signal: AbortSignal): Promise<SecretValue | undefined> {
    this.calls++;
    this.lastSignal = signal;
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return this.values.get(name);
  }

  async loadPrevious(name: string): Promise<SecretValue | undefined> {
    this.previousCalls++;
    if (this.failWith) throw this.failWith;
    return this.previousValues.get(name);
  }

  async list(): Promise<SecretListing[]> {
    if (this.failWith) throw this.failWith;
    return [...this.values].map(([name, v]) => ({ name, ...(v.version ? { version: v.version } : {}), ...(v.updatedAt !== undefined ? { updatedAt: v.updatedAt } : {}) }));
  }
}

export interface Harness {
  secrets: SecretsService;
  clock: ManualClock;
  logs: LogCapture;
  log: Logger;
  redactor: SecretRedactor;
  config: Config;
}

export interface HarnessOptions {
  /** Environment for the config loader (RAMPART_SECRETS, TTLs...). */
  configEnv?: Record<string, string>;
  /** Environment the `env` provider reads. */
  env?: Record<string, string | undefined>;
  providers?: SecretProvider[];
  /** Default 0: tests drive refreshDue() themselves. */
  refreshIntervalMs?: number;
  /** A redactor for the logger different from the one the service registers into (to see raw log lines). */
  logRedactor?: SecretRedactor;
  /** Where the remote providers' upstreams are registered (and their settings overridden). */
  upstreams?: UpstreamRegistry;
}

/** Builds a secrets service with a ManualClock and JSON logs captured at debug level. */
export function harness(options: HarnessOptions = {}): Harness {
  const config = loadConfig({ NODE_ENV: "test", ...options.configEnv });
  const clock = new ManualClock();
  const logs = new LogCapture();
  const redactor = new SecretRedactor();
  const log = createLogger({ level: "debug", format: "json", redactor: options.logRedactor ?? redactor, destination: logs });
  const secrets = createSecrets({
    config,
    env: options.env ?? {},
    redactor,
    log,
    clock,
    ...(options.providers ? { providers: options.providers } : {}),
    refreshIntervalMs: options.refreshIntervalMs ?? 0,
    ...(options.upstreams ? { upstreams: options.upstreams } : {}),
  });
  return { secrets, clock, logs, log, redactor, config };
}

/** Log records with the given `event` field. */
export function events(logs: LogCapture, event: string): Record<string, unknown>[] {
  return logs.records().filter((r) => r.event === event);
}
