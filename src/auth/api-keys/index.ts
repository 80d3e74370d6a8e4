/** Public API of API keys: format, checksum, hashing, authentication and scopes. */
export {
  generateApiKey,
  parseApiKey,
  isApiKeyShaped,
  hashApiKey,
  apiKeyMatchesHash,
  authenticateApiKey,
  API_KEY_PREFIX,
  API_KEY_ID_LENGTH,
  API_KEY_SECRET_LENGTH,
  API_KEY_CHECKSUM_LENGTH,
  type GeneratedApiKey,
  type ParsedApiKey,
  type StoredApiKey,
} from "./api-key.js";
export { SCOPE_PATTERN, MAX_SCOPES, isValidScope, isSensitiveScope, parseScopes, hasScope, type ParseScopesOptions } from "./scopes.js";
export { crc32, toBase62, randomBase62, BASE62_ALPHABET } from "./encoding.js";
