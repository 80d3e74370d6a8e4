/** Public API of password hashing (argon2id, off the event loop) and the password policy. */
export {
  createPasswordHasher,
  DEFAULT_HASH_QUEUE,
  defaultHashConcurrency,
  type PasswordHasher,
  type PasswordHasherOptions,
  type PasswordHasherStats,
  type VerifyResult,
  type HashObservation,
  type HashOperation,
  type DurationStats,
} from "./hasher.js";
export {
  ARGON2_FLOOR,
  ARGON2_OUTPUT_BYTES,
  ARGON2_SALT_BYTES,
  argon2ParamsFromConfig,
  argon2ParamProblems,
  assertProductionParams,
  passwordPreflight,
  phcNeedsRehash,
  WeakArgon2ParamsError,
  type Argon2Params,
  type PasswordHasherConfig,
} from "./params.js";
export {
  createPasswordPolicy,
  DEFAULT_MIN_STRENGTH_SCORE,
  type PasswordPolicy,
  type PasswordPolicyOptions,
  type PolicyCheck,
  type PolicyContext,
  type PolicyRefusal,
} from "./policy.js";
export { createInlineStrengthEstimator, createWorkerStrengthEstimator, ZXCVBN_LIMITS, type StrengthEstimate, type StrengthEstimator } from "./strength.js";
export { normalizePassword, codePointLength, PASSWORD_MAX_LENGTH } from "./normalize.js";
export { QueueFullError } from "./semaphore.js";
