/** Public API of security events. */
export { securityEvents, type BuiltInEventName, type EventSpec } from "./catalogue.js";
export { EventRegistry, EventConfigError, EVENT_NAME_PATTERN, type AppEvents, type AppEventSpec, type SecurityEventName } from "./registry.js";
export { SecurityEvents, type SecurityEvent, type SecurityEventsOptions, type Actor, type EventListener } from "./emitter.js";
