/**
 * The structured logger: pino, JSON in production and pretty on a terminal in
 * development. Two layers of redaction are compiled once at construction:
 * pino's path redaction for fields that are secret by name (headers, body
 * fields), and the SecretRedactor for secret values wherever they appear.
 */
import { createRequire } from "node:module";
import pino, { type DestinationStream, type Logger } from "pino";
import type PinoPretty from "pino-pretty";
import { OptionalPackageMissing } from "../config/optional-package.js";
import { currentContext } from "../context/request-context.js";
import { REDACTED, type SecretRedactor } from "./redactor.js";

export type { Logger } from "pino";

/** Body / object fields that are always secret by name. */
export const SECRET_FIELDS = [
  "password",
  "currentPassword",
  "newPassword",
  "token",
  "accessToken",
  "refreshToken",
  "mfaToken",
  "secret",
  "apiKey",
  "key",
  "backupCodes",
  "privateKey",
] as const;

const HEADER_PATHS = ["authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"].flatMap((h) => [
  `req.headers["${h}"]`,
  `res.headers["${h}"]`,
  `headers["${h}"]`,
]);

/**
 * Fields secret only where a request body holds them: `code` is a TOTP or
 * backup code in `/v1/auth/mfa/*` bodies, but an error code (`err.code`,
 * `QUOTA_EXCEEDED`) or an event's data everywhere else, which operators need.
 */
export const SECRET_BODY_FIELDS = ["code"] as const;

export const REDACT_PATHS: string[] = [
  ...HEADER_PATHS,
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `body.${f}`, `req.body.${f}`, `data.${f}`, `details.${f}`]),
  ...SECRET_BODY_FIELDS.flatMap((f) => [`body.${f}`, `req.body.${f}`]),
];

export interface LoggerOptions {
  level: string;
  format: "json" | "pretty";
  redactor: SecretRedactor;
  /** Where lines go; defaults to stdout. Tests pass a capture stream. */
  destination?: DestinationStream;
}

/** Lines are written once this many bytes are buffered, or at the latest after FLUSH_INTERVAL_MS. */
const WRITE_BATCH_BYTES = 4096;
const FLUSH_INTERVAL_MS = 100;
let stdout: DestinationStream | undefined;

/**
 * Standard output for JSON lines, shared by every logger of the process:
 * asynchronous (a synchronous write per line stalls the event loop behind a
 * slow reader) and batched (one write per ~4 KiB instead of one per line:
 * each write is a round trip to libuv's thread pool). A line waits at most
 * FLUSH_INTERVAL_MS; pino writes what is buffered synchronously when the
 * process exits, fatal errors included, and runtime.close() flushes.
 */
function stdoutDestination(): DestinationStream {
  if (stdout) return stdout;
  const dest = pino.destination({ dest: 1, sync: false, minLength: WRITE_BATCH_BYTES });
  let pending = false;
  setInterval(() => {
    if (!pending) return;
    pending = false;
    // Without a callback: a callback waits for 'drain', and under steady load listeners would pile up.
    try {
      dest.flush();
    } catch {
      // Destroyed at exit: nothing left to write.
    }
  }, FLUSH_INTERVAL_MS).unref();
  stdout = {
    write(line: string) {
      pending = true;
      dest.write(line);
    },
    flush(cb?: (err?: Error) => void) {
      pending = false;
      dest.flush(cb);
    },
  } as DestinationStream;
  return stdout;
}

let lastMs = -1;
let lastTime = "";

/** pino's ISO time field, formatted once per millisecond: under load many lines share one. */
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * pino-pretty, a development convenience, is an optional peer package: a
 * deployment logs JSON and never installs it. Loaded synchronously (it is
 * CommonJS) because a logger is made before anything else starts.
 */
function loadPretty(): typeof PinoPretty | undefined {
  try {
    return createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
  } catch (err) {
    if ((err as { code?: unknown }).code === "MODULE_NOT_FOUND" && (err as Error).message.includes("'pino-pretty'")) return undefined;
    throw err;
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const { redactor } = options;
  const pretty = options.format === "pretty" ? loadPretty() : undefined;
  if (options.format === "pretty" && pretty === undefined) throw new OptionalPackageMissing("LOG_FORMAT=pretty", "pino-pretty");
  const destination: DestinationStream =
    pretty !== undefined
      ? pretty({ destination: options.destination ?? 1, sync: true, colorize: options.destination === undefined && process.stdout.isTTY, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" })
      : (options.destination ?? stdoutDestination());
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const ctx = currentContext();
        return ctx ? { traceId: ctx.traceId } : {};
      },
      hooks: {
        // Runs on the serialized line, after path redaction: masks registered
        // secret values wherever they occur (messages, error stacks, nested data).
        streamWrite: (line) => redactor.mask(line),
      },
    },
    destination,
  );
}

/** `auto`: pretty on a terminal in development when pino-pretty is installed, JSON otherwise. */
export function resolveLogFormat(format: "auto" | "json" | "pretty", nodeEnv: string): "json" | "pretty" {
  if (format !== "auto") return format;
  return nodeEnv === "development" && process.stdout.isTTY && loadPretty() !== undefined ? "pretty" : "json";
}
