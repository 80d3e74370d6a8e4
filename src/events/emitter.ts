/**
 * Emits security events: one structured log line per event with the trace
 * id (from the request context) and the actor. Listeners (metrics, the audit
 * log) subscribe per runtime, never through module state.
 */
import { currentContext } from "../context/index.js";
import type { Logger } from "../log/index.js";
import { securityEvents, type SecurityEventName } from "./catalogue.js";

export interface Actor {
  type: "user" | "api-key" | "admin" | "system" | "anonymous";
  id?: string;
}

export interface SecurityEvent {
  name: SecurityEventName;
  actor: Actor;
  /** What the event is about (`user:<id>`, `session:<id>`, ...); never personal data in clear. */
  target?: string;
  data?: Record<string, unknown>;
  traceId?: string;
  ip?: string;
}

export type EventListener = (event: SecurityEvent) => void;

export class SecurityEvents {
  private readonly listeners: EventListener[] = [];

  constructor(private readonly log: Logger) {}

  on(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  emit(name: SecurityEventName, event: Omit<SecurityEvent, "name" | "traceId" | "ip">): void {
    const ctx = currentContext();
    const full: SecurityEvent = { name, ...event, ...(ctx ? { traceId: ctx.traceId } : {}), ...(ctx?.ip ? { ip: ctx.ip } : {}) };
    const spec = securityEvents[name];
    this.log[spec.level]({ event: name, actor: full.actor, target: full.target, data: full.data }, `security event ${name}`);
    for (const l of this.listeners) {
      try {
        l(full);
      } catch (err) {
        this.log.error({ err, event: name }, "security event listener failed");
      }
    }
  }
}
