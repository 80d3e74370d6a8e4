/**
 * Emits security events: one structured log line per event with the trace
 * id (from the request context) and the actor. Listeners (metrics, the audit
 * log) subscribe per runtime, never through module state.
 */
import type { Transaction } from "kysely";
import type { AuditLog } from "../audit/audit-log.js";
import { currentContext } from "../context/index.js";
import type { Tables } from "../db/index.js";
import type { Logger } from "../log/index.js";
import type { EventSpec } from "./catalogue.js";
import { EventRegistry, type AppEventSpec, type SecurityEventName } from "./registry.js";

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

export interface SecurityEventsOptions {
  /** The app's events, defined with the built-in catalogue (see define). */
  events?: Readonly<Record<string, AppEventSpec>>;
}

export class SecurityEvents {
  private readonly listeners: EventListener[] = [];
  /** The events this emitter knows: the built-in catalogue and the app's. */
  readonly catalogue: EventRegistry;

  constructor(
    private readonly log: Logger,
    private readonly audit?: AuditLog,
    options: SecurityEventsOptions = {},
  ) {
    this.catalogue = new EventRegistry(options.events);
  }

  /** Defines the app's events (at start, before they are emitted); throws EventConfigError naming an invalid one. */
  define(events: Readonly<Record<string, AppEventSpec>>): void {
    this.catalogue.define(events);
  }

  /** Every event name, built-in and the app's. */
  names(): readonly SecurityEventName[] {
    return this.catalogue.names();
  }

  on(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Logs the event, tells the listeners and, when the catalogue says so,
   * appends it to the audit log — inside `trx` when the event records a change
   * made in that transaction (so the change and its record commit together),
   * else in a transaction of its own. An unknown name throws EventConfigError
   * at once (a programming error, never a silently dropped record).
   */
  emit<DB extends Tables>(name: SecurityEventName, event: Omit<SecurityEvent, "name" | "traceId" | "ip">, trx?: Transaction<DB>): Promise<void> {
    const spec = this.catalogue.spec(name);
    // The app's transaction is typed over its own tables too (Kysely's withTables); Rampart's are among them.
    return this.deliver(name, spec, event, trx as Transaction<Tables> | undefined);
  }

  private async deliver(name: SecurityEventName, spec: EventSpec, event: Omit<SecurityEvent, "name" | "traceId" | "ip">, trx: Transaction<Tables> | undefined): Promise<void> {
    const ctx = currentContext();
    const full: SecurityEvent = { name, ...event, ...(ctx ? { traceId: ctx.traceId } : {}), ...(ctx?.ip ? { ip: ctx.ip } : {}) };
    this.log[spec.level]({ event: name, actor: full.actor, target: full.target, data: full.data }, `security event ${name}`);
    for (const l of this.listeners) {
      try {
        l(full);
      } catch (err) {
        this.log.error({ err, event: name }, "security event listener failed");
      }
    }
    if (spec.audit && this.audit) {
      const input = { actorType: full.actor.type, actorId: full.actor.id, action: name, target: full.target, ip: full.ip, traceId: full.traceId, data: full.data };
      await (trx ? this.audit.append(trx, input) : this.audit.appendNow(input));
    }
  }
}
