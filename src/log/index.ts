/** Public API of logging: the logger factory and the secret-value redactor. */
export { createLogger, resolveLogFormat, REDACT_PATHS, SECRET_BODY_FIELDS, SECRET_FIELDS, type Logger, type LoggerOptions } from "./logger.js";
export { SecretRedactor, REDACTED, MIN_SECRET_LENGTH, encodingsOf } from "./redactor.js";
