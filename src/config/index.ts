/** Public API of configuration: the typed spec, the loader and display helpers. */
export { configSpec, type Config, type ConfigSpec, type VarSpec } from "./spec.js";
export { loadConfig, describeConfig, maskSecret, ConfigError } from "./load.js";
export type { TrustProxy } from "./parsers.js";
