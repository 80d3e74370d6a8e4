/**
 * Counters fed by the runtime's security events: one counter for every event
 * of the runtime's table (built-in and the app's), and the named auth counters operators alert on (login
 * failures, lockouts, refresh-token reuse, MFA failures). Labels come from the
 * catalogue only, never from the event's actor, target or data.
 */
import { Counter, type Registry } from "prom-client";
import { securityEvents } from "../events/catalogue.js";
import type { SecurityEventName } from "../events/registry.js";

export class SecurityEventMetrics {
  private readonly events: Counter<"event">;
  private readonly logins: Counter<"result">;
  private readonly lockouts: Counter;
  private readonly refreshReuse: Counter;
  private readonly mfaFailures: Counter;

  /**
   * @param names the runtime's event names (built-in and the app's), read at
   *   every scrape so that events the app defines after this is built have a
   *   series at 0 too; default the built-in catalogue.
   */
  constructor(registry: Registry, names: () => Iterable<string> = () => Object.keys(securityEvents)) {
    const registers = [registry];
    this.events = new Counter({
      name: "rampart_security_events_total",
      help: "Security events by name (docs/metrics.md lists the catalogue; the app's events too).",
      labelNames: ["event"],
      registers,
      collect() {
        for (const event of names()) this.inc({ event }, 0);
      },
    });
    this.logins = new Counter({ name: "rampart_auth_logins_total", help: "Password logins by result (success, failure).", labelNames: ["result"], registers });
    this.lockouts = new Counter({ name: "rampart_auth_lockouts_total", help: "Accounts locked after repeated failed logins.", registers });
    this.refreshReuse = new Counter({ name: "rampart_auth_refresh_reuse_total", help: "Spent refresh tokens presented again (the session was revoked).", registers });
    this.mfaFailures = new Counter({ name: "rampart_auth_mfa_failures_total", help: "Wrong, replayed or over-limit MFA codes.", registers });
    // Every series exists from the start, at 0.
    for (const event of names()) this.events.inc({ event }, 0);
    for (const result of ["success", "failure"]) this.logins.inc({ result }, 0);
    for (const c of [this.lockouts, this.refreshReuse, this.mfaFailures]) c.inc(0);
  }

  /** Counts one event. */
  count(name: SecurityEventName): void {
    this.events.inc({ event: name });
    switch (name) {
      case "auth.login.succeeded":
        this.logins.inc({ result: "success" });
        break;
      case "auth.login.failed":
        this.logins.inc({ result: "failure" });
        break;
      case "auth.locked":
        this.lockouts.inc();
        break;
      case "auth.refresh.reused":
        this.refreshReuse.inc();
        break;
      case "mfa.failed":
        this.mfaFailures.inc();
        break;
      default:
        break;
    }
  }
}
