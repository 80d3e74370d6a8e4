/**
 * The table of security events of one runtime: Rampart's catalogue plus the
 * events the host app defines at start (`events: { "payment.refunded": {
 * audited: true } }`). Emitting a name the table does not hold is a
 * programming error; an app event marked audited is appended to the
 * tamper-evident audit log like a built-in one.
 */
import { securityEvents, type BuiltInEventName, type EventSpec } from "./catalogue.js";

/**
 * The host app's event names, declared by module augmentation so that
 * `runtime.events.emit()` accepts them:
 *
 * @example
 * declare module "rampart" {
 *   interface AppEvents { "payment.refunded": true }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the host app's declaration merging
export interface AppEvents {}

/** An event `emit()` accepts: a built-in one or one the app declared. */
export type SecurityEventName = BuiltInEventName | (keyof AppEvents & string);

/** How the app defines one event. */
export interface AppEventSpec {
  /** Appended to the audit log (hash chain) when emitted. */
  audited: boolean;
  /** Log level of the event's line (default "info"). */
  level?: "info" | "warn";
  description?: string;
}

/** Lower-case dotted names, two segments at least (`payment.refunded`, `order.line-item.removed`). */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}(?:\.[a-z][a-z0-9_-]{0,63})+$/;

/** Thrown when an event definition is not valid, or an event is emitted that nobody defined. */
export class EventConfigError extends Error {
  override readonly name = "EventConfigError";
}

export class EventRegistry {
  private readonly specs = new Map<string, EventSpec>(Object.entries(securityEvents));

  /** Built-in catalogue plus `events` (validated; see define). */
  constructor(events?: Readonly<Record<string, AppEventSpec>>) {
    if (events) this.define(events);
  }

  /**
   * Adds the app's events. All or nothing: the first invalid entry throws
   * EventConfigError naming it and none is added. A name is lower-case and
   * dotted, not a built-in one, and not defined before with another spec.
   */
  define(events: Readonly<Record<string, AppEventSpec>>): void {
    const added = new Map<string, EventSpec>();
    for (const [name, spec] of Object.entries(events)) {
      if (!EVENT_NAME_PATTERN.test(name)) throw new EventConfigError(`events: '${name}' is not an event name (lower-case dotted, e.g. \`payment.refunded\`)`);
      if (Object.hasOwn(securityEvents, name)) throw new EventConfigError(`events: '${name}' is a built-in event; choose a name of the app's own`);
      if (typeof spec !== "object" || spec === null || typeof spec.audited !== "boolean") throw new EventConfigError(`events.${name}: expected { audited: boolean }, instead got '${JSON.stringify(spec)}'`);
      const level = spec.level ?? "info";
      if (level !== "info" && level !== "warn") throw new EventConfigError(`events.${name}.level: expected "info" or "warn", instead got '${String(level)}'`);
      const entry: EventSpec = Object.freeze({ level, audit: spec.audited, description: spec.description ?? "" });
      // A second app on the same runtime may define the same event again; never differently.
      const before = this.specs.get(name);
      if (before && (before.level !== entry.level || before.audit !== entry.audit || before.description !== entry.description)) {
        throw new EventConfigError(`events: '${name}' is already defined differently`);
      }
      added.set(name, entry);
    }
    for (const [name, spec] of added) this.specs.set(name, spec);
  }

  has(name: string): name is SecurityEventName {
    return this.specs.has(name);
  }

  /** The spec of `name`; throws EventConfigError for a name nobody defined. */
  spec(name: string): EventSpec {
    const spec = this.specs.get(name);
    if (!spec) throw new EventConfigError(`unknown security event '${name}'; define it in the \`events\` option`);
    return spec;
  }

  /** Every event name, built-in first. */
  names(): readonly SecurityEventName[] {
    return [...this.specs.keys()] as SecurityEventName[];
  }
}
