/**
 * Password normalization. Passwords are any Unicode text, normalized with NFKC
 * (NIST SP 800-63B §5.1.1.2: "SHOULD apply the NFKC or NFKD normalization"),
 * so the same password typed on two keyboards or input methods (full-width
 * digits, a precomposed "é" or "e" + U+0301) hashes the same. Length is counted
 * in code points after normalization and a password is never truncated.
 */

/** Longest accepted password in code points (after NFKC). */
export const PASSWORD_MAX_LENGTH = 128;

/**
 * Inputs longer than this many UTF-16 code units are refused before they are
 * normalized: no password of {@link PASSWORD_MAX_LENGTH} code points comes
 * close, and NFKC can expand one code point to 18, so the bound keeps the
 * work on hostile input small.
 */
export const PASSWORD_MAX_INPUT_UNITS = 4 * PASSWORD_MAX_LENGTH * 2;

/** The NFKC form of a password. */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

/** Length in Unicode code points (a 😀 is one, not two UTF-16 units). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Whether a string is well-formed UTF-16. A lone surrogate cannot be encoded
 * as UTF-8 and would be replaced by U+FFFD before hashing, so two different
 * inputs would hash alike; such passwords are refused when set.
 */
export function isWellFormed(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}
