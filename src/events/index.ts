/** Public API of security events. */
export { securityEvents, type SecurityEventName, type EventSpec } from "./catalogue.js";
export { SecurityEvents, type SecurityEvent, type Actor, type EventListener } from "./emitter.js";
