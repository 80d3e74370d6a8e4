/** Public API of scheduled jobs and retention. */
export { Scheduler, type Job, type JobStats } from "./scheduler.js";
export { purgeExpired, retentionJobs } from "./retention.js";
