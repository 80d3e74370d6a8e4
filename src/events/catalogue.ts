/**
 * The catalogue of Rampart's own security events. Each is logged with the
 * trace id and the actor and counted in the metrics; the catalogue says which
 * are also appended to the tamper-evident audit log. A runtime's table
 * (registry.ts) starts from it and adds the app's events.
 */

export interface EventSpec {
  readonly level: "info" | "warn";
  readonly audit: boolean;
  readonly description: string;
}

export const securityEvents = {
  "auth.registered": { level: "info", audit: true, description: "An account was created." },
  "auth.login.succeeded": { level: "info", audit: false, description: "A password (and MFA) login created a session." },
  "auth.login.failed": { level: "warn", audit: false, description: "A login failed (wrong password or unknown email)." },
  "auth.locked": { level: "warn", audit: true, description: "An account was locked after repeated failed logins." },
  "auth.unlocked": { level: "info", audit: true, description: "An admin unlocked an account." },
  "auth.logout": { level: "info", audit: false, description: "A session was ended by its user." },
  "auth.sessions.revoked": { level: "info", audit: true, description: "Sessions were revoked (logout-all, password change or reset, admin action)." },
  "auth.refresh.reused": { level: "warn", audit: true, description: "A spent refresh token was presented again; its session was revoked." },
  "auth.password.changed": { level: "info", audit: true, description: "A user changed their password." },
  "auth.password.reset.requested": { level: "info", audit: false, description: "A password reset was requested for an existing account." },
  "auth.password.reset": { level: "info", audit: true, description: "A password was reset with an emailed token." },
  "auth.register.existing": { level: "info", audit: true, description: "A registration named an email that already has an account; nothing changed, and the owner was sent a notice (`notified`: false within the notice cooldown or for a disabled account)." },
  "auth.email.verification.sent": { level: "info", audit: false, description: "An email-verification link was queued for an unverified account." },
  "auth.email.verified": { level: "info", audit: true, description: "A user verified their email address with an emailed token." },
  "mfa.enabled": { level: "info", audit: true, description: "TOTP MFA was enabled." },
  "mfa.disabled": { level: "warn", audit: true, description: "TOTP MFA was disabled." },
  "mfa.failed": { level: "warn", audit: false, description: "A wrong, replayed or over-limit MFA code." },
  "mfa.locked": { level: "warn", audit: true, description: "A user's second factor was locked after repeated wrong codes (login challenges and re-authenticated actions together)." },
  "mfa.backup-codes.regenerated": { level: "info", audit: true, description: "Backup codes were replaced." },
  "mfa.backup-code.used": { level: "info", audit: true, description: "A backup code was spent." },
  "apikey.created": { level: "info", audit: true, description: "An API key was created." },
  "apikey.revoked": { level: "info", audit: true, description: "An API key was revoked." },
  "user.updated": { level: "info", audit: true, description: "A profile was changed." },
  "user.disabled": { level: "warn", audit: true, description: "An admin disabled an account." },
  "user.roles.changed": { level: "warn", audit: true, description: "An admin changed a user's roles." },
  "signing-key.rotated": { level: "info", audit: true, description: "The access-token signing key was rotated." },
  "gdpr.consent.changed": { level: "info", audit: true, description: "A user granted or withdrew consent for a purpose." },
  "gdpr.exported": { level: "info", audit: true, description: "A user's data was exported (by the user or an admin)." },
  "gdpr.erased": { level: "warn", audit: true, description: "A user's data was erased and their key crypto-shredded." },
  "retention.purged": { level: "info", audit: false, description: "A retention job removed expired records." },
  "secret.rotated": { level: "info", audit: true, description: "A secret's value changed at its provider." },
  "quota.warning": { level: "info", audit: false, description: "A user's meter reached 80% of its plan's limit in the current period (src/quotas)." },
  "quota.exceeded": { level: "warn", audit: false, description: "A user's meter reached its plan's limit; requests are refused until the period resets (once per period)." },
  "quota.plan.changed": { level: "info", audit: true, description: "An admin changed a user's quota plan." },
  "webhook.rejected": { level: "warn", audit: false, description: "An inbound webhook delivery failed signature verification (forged, tampered, stale or future timestamp) (src/webhooks)." },
  "webhook.received": { level: "info", audit: false, description: "A verified inbound webhook event was stored in the inbox (`duplicate`: it had been received before and was not stored again)." },
  "webhook.dead-lettered": { level: "warn", audit: false, description: "An inbound webhook event failed every dispatch attempt and was moved to the dead state." },
  "webhook.replayed": { level: "info", audit: true, description: "An admin re-queued an inbound webhook event for dispatch." },
} as const satisfies Record<string, EventSpec>;

export type BuiltInEventName = keyof typeof securityEvents;
