/** Public API of health checks. */
export { healthPlugin, type HealthPluginOptions } from "./plugin.js";
export { runChecks, type HealthCheck, type HealthReport, type HealthStatus, type CheckResult, type CheckReport, type RunChecksOptions } from "./checks.js";
