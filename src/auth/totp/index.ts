/** Public API of TOTP MFA (RFC 6238), one-time use of codes, attempt caps and backup codes. */
export {
  generateTotpSecret,
  totpUri,
  totpStep,
  normalizeTotpCode,
  verifyTotp,
  TOTP_ALGORITHM,
  TOTP_DIGITS,
  TOTP_PERIOD_SECONDS,
  TOTP_WINDOW,
  TOTP_SECRET_BYTES,
  type TotpUriInput,
  type TotpMatch,
  type VerifyTotpInput,
} from "./totp.js";
export { createKvUsedStepStore, verifyTotpOnce, type UsedStepStore, type KvUsedStepStoreOptions, type VerifyTotpOnceInput } from "./used-steps.js";
export { createAttemptCounter, type AttemptCounter, type AttemptCounterOptions, type AttemptResult } from "./attempts.js";
export { totpQrCode, type QrFormat } from "./qr.js";
export {
  generateBackupCodes,
  formatBackupCode,
  normalizeBackupCode,
  hashBackupCode,
  findBackupCode,
  useBackupCode,
  BACKUP_CODE_COUNT,
  BACKUP_CODE_LENGTH,
  type BackupCodeSet,
  type BackupCodeUse,
} from "./backup-codes.js";
