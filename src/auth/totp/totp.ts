/**
 * TOTP (RFC 6238) with the parameters every authenticator app supports:
 * HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch (T0 = 0), and one
 * step of drift either way (RFC 6238 §5.2). Verification returns the matched
 * time step so the caller can make each step usable once (used-steps.ts).
 */
import { randomBytes } from "node:crypto";
import { Secret, TOTP } from "otpauth";

/** The fixed TOTP parameters (the otpauth URL advertises them too). */
export const TOTP_ALGORITHM = "SHA1";
export const TOTP_DIGITS = 6;
/** Time step X in seconds (RFC 6238 §4.1; §5.2 recommends 30). */
export const TOTP_PERIOD_SECONDS = 30;
/** Steps accepted either side of the current one (RFC 6238 §5.2: "at most one time step"). */
export const TOTP_WINDOW = 1;
/** Secret size: RFC 4226 §4 R6 recommends 160 bits (the HMAC-SHA-1 output length). */
export const TOTP_SECRET_BYTES = 20;

/** A new random 160-bit secret, base32 (RFC 4648 §6, no padding) as authenticator apps expect it. */
export function generateTotpSecret(): string {
  return new Secret({ buffer: randomBytes(TOTP_SECRET_BYTES).buffer as ArrayBuffer }).base32;
}

export interface TotpUriInput {
  /** Base32 secret from generateTotpSecret(). */
  secret: string;
  /** The service name shown in the app (e.g. "Rampart"). */
  issuer: string;
  /** The account shown in the app (e.g. the user's email). */
  accountName: string;
}

/**
 * The `otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30`
 * URL of the Key Uri Format, for the QR code.
 */
export function totpUri(input: TotpUriInput): string {
  return new TOTP({ issuer: input.issuer, label: input.accountName, secret: Secret.fromBase32(input.secret), algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS }).toString();
}

/** The time step T = floor((now - T0) / X) of a Unix time in ms (RFC 6238 §4.2). */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** Strips the spaces people type ("123 456"); null unless exactly 6 ASCII digits remain. */
export function normalizeTotpCode(code: string): string | null {
  const c = code.replace(/[\s-]/g, "");
  return /^[0-9]{6}$/.test(c) ? c : null;
}

export type TotpMatch = { readonly ok: true; readonly step: number } | { readonly ok: false };

export interface VerifyTotpInput {
  /** Base32 secret. */
  secret: string;
  /** The code the user typed. */
  code: string;
  /** Current time, ms since the epoch (the runtime clock). */
  nowMs: number;
  /** Steps of drift accepted; default {@link TOTP_WINDOW}. */
  window?: number;
}

/**
 * Checks a code against the steps around `nowMs` (compared in constant time
 * by otpauth). Returns the matched time step; this alone does NOT stop a
 * replay: use verifyTotpOnce() or mark the step in a UsedStepStore.
 */
export function verifyTotp(input: VerifyTotpInput): TotpMatch {
  const token = normalizeTotpCode(input.code);
  if (token === null) return { ok: false };
  const delta = TOTP.validate({
    token,
    secret: Secret.fromBase32(input.secret),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    timestamp: input.nowMs,
    window: input.window ?? TOTP_WINDOW,
  });
  return delta === null ? { ok: false } : { ok: true, step: totpStep(input.nowMs) + delta };
}
