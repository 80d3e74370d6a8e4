/** Public API of mail: transports (SMTP / development log) and the transactional outbox. */
export { createMailTransport, smtpUpstreamOptions, SMTP_UPSTREAM, type MailMessage, type MailTransport, type MailTransportOptions } from "./transport.js";
export { Outbox, type OutboxOptions } from "./outbox.js";
