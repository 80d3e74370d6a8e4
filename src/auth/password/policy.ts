/**
 * The password policy for new passwords (registration, change, reset): any
 * Unicode, NFKC-normalized, PASSWORD_MIN_LENGTH..128 code points and never
 * truncated, not on the shipped common-password list, and not weak by the
 * zxcvbn estimate (score below 3 by default; NIST SP 800-63B §5.1.1.2 asks for
 * a blocklist check and no composition rules, which is what this is).
 */
import type { Config } from "../../config/index.js";
import { RampartError } from "../../errors/index.js";
import { PASSWORD_MAX_INPUT_UNITS, PASSWORD_MAX_LENGTH, normalizePassword } from "./normalize.js";
import { commonListKey, loadCommonPasswords, passwordEncodingProblem, passwordLengthProblem } from "./policy-rules.js";
import { createWorkerStrengthEstimator, type StrengthEstimator } from "./strength.js";

/** zxcvbn score a password needs by default (3: "safely unguessable: moderate protection from offline slow-hash scenario"). */
export const DEFAULT_MIN_STRENGTH_SCORE = 3;

export type PolicyRefusal = "encoding" | "too_short" | "too_long" | "common" | "weak";

export type PolicyCheck =
  | { readonly ok: true; readonly normalized: string; readonly score: number }
  | { readonly ok: false; readonly reason: PolicyRefusal; readonly message: string };

export interface PolicyContext {
  /** Words the password must not lean on: the email, its local part, the user's name. */
  userInputs?: readonly string[];
  /** The field path in VALIDATION_FAILED details. Default `body.password`. */
  path?: string;
}

export interface PasswordPolicyOptions {
  /** Where estimates run; default a worker thread. */
  estimator?: StrengthEstimator;
  /** Lowest accepted zxcvbn score (0-4). Default {@link DEFAULT_MIN_STRENGTH_SCORE}. */
  minScore?: number;
}

export interface PasswordPolicy {
  readonly minLength: number;
  readonly maxLength: number;
  /** Checks a candidate password; resolves with the NFKC form to hash, or why it is refused. */
  check(password: string, context?: PolicyContext): Promise<PolicyCheck>;
  /**
   * Like check(), but throws `RampartError("VALIDATION_FAILED")` with
   * `details.fields: [{ path, message }]` on refusal.
   */
  assertAcceptable(password: string, context?: PolicyContext): Promise<string>;
  /** Stops the estimator's worker. */
  close(): Promise<void>;
}

const MESSAGES = {
  common: "This password is on a list of commonly used passwords; choose another.",
  weak: "This password is too easy to guess; use a longer phrase of unrelated words.",
} as const;

/** Builds the policy from the config (PASSWORD_MIN_LENGTH). */
export function createPasswordPolicy(config: Pick<Config, "passwordMinLength">, options: PasswordPolicyOptions = {}): PasswordPolicy {
  const minLength = config.passwordMinLength;
  const minScore = options.minScore ?? DEFAULT_MIN_STRENGTH_SCORE;
  if (!Number.isInteger(minScore) || minScore < 0 || minScore > 4) throw new RangeError(`minScore must be an integer from 0 to 4, instead got ${minScore}`);
  const estimator = options.estimator ?? createWorkerStrengthEstimator();
  const common = loadCommonPasswords();

  async function check(password: string, context: PolicyContext = {}): Promise<PolicyCheck> {
    if (password.length > PASSWORD_MAX_INPUT_UNITS) return { ok: false, reason: "too_long", message: passwordLengthProblem(password, minLength) ?? "" };
    const normalized = normalizePassword(password);
    const encoding = passwordEncodingProblem(normalized);
    if (encoding) return { ok: false, reason: "encoding", message: encoding };
    const length = passwordLengthProblem(normalized, minLength);
    if (length) return { ok: false, reason: length.includes("at least") ? "too_short" : "too_long", message: length };
    if (common.has(commonListKey(normalized))) return { ok: false, reason: "common", message: MESSAGES.common };
    const userInputs = (context.userInputs ?? []).flatMap(expandUserInput);
    const { score } = await estimator.estimate(normalized, userInputs);
    if (score < minScore) return { ok: false, reason: "weak", message: MESSAGES.weak };
    return { ok: true, normalized, score };
  }

  return {
    minLength,
    maxLength: PASSWORD_MAX_LENGTH,
    check,
    async assertAcceptable(password, context = {}) {
      const result = await check(password, context);
      if (result.ok) return result.normalized;
      throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: context.path ?? "body.password", message: result.message }] } });
    },
    close: () => estimator.close(),
  };
}

/** An email also contributes its local part and the words in it ("jane.doe@x" → "jane", "doe"). */
function expandUserInput(input: string): string[] {
  const lower = input.normalize("NFKC").toLowerCase();
  const local = lower.split("@")[0] ?? lower;
  return [...new Set([lower, local, ...local.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 3)])];
}
