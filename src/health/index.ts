/** Public API of health checks (framework-free; the Fastify plugin is `rampart/health/plugin`). */
export { runChecks, type HealthCheck, type HealthReport, type HealthStatus, type CheckResult, type CheckReport, type RunChecksOptions } from "./checks.js";
