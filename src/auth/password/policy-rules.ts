/**
 * The cheap, synchronous password rules: well-formed Unicode, length in code
 * points after NFKC, and membership of the shipped common-password list
 * (NIST SP 800-63B §5.1.1.2: compare against "passwords obtained from
 * previous breach corpuses" and "dictionary words").
 */
import { COMMON_PASSWORDS_CHUNKS } from "./common-passwords.data.js";
import { PASSWORD_MAX_LENGTH, codePointLength, isWellFormed } from "./normalize.js";

/** Why a normalized password is refused on length, or null. */
export function passwordLengthProblem(normalized: string, minLength: number): string | null {
  const n = codePointLength(normalized);
  if (n < minLength) return `Password must be at least ${minLength} characters.`;
  if (n > PASSWORD_MAX_LENGTH) return `Password must be at most ${PASSWORD_MAX_LENGTH} characters (it is never truncated).`;
  return null;
}

/** Why a normalized password is refused on encoding, or null. */
export function passwordEncodingProblem(normalized: string): string | null {
  return isWellFormed(normalized) ? null : "Password contains an invalid Unicode sequence.";
}

/** The lookup form of a password in the common list: NFKC, then lower case. */
export function commonListKey(normalized: string): string {
  return normalized.toLowerCase();
}

/** The shipped common-password list as a set of lookup keys (build once per policy). */
export function loadCommonPasswords(): ReadonlySet<string> {
  const set = new Set<string>();
  for (const chunk of COMMON_PASSWORDS_CHUNKS) for (const p of chunk.split("\n")) set.add(p);
  return set;
}
