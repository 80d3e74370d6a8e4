/** Public API of configuration: the typed spec, the loader, display helpers and the loader of optional packages. */
export { configSpec, type Config, type ConfigSpec, type VarSpec } from "./spec.js";
export { loadConfig, describeConfig, maskSecret, ConfigError } from "./load.js";
export type { TrustProxy } from "./parsers.js";
export { loadOptionalPackage, OptionalPackageMissing, type PackageImporter } from "./optional-package.js";
