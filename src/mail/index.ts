/** Public API of mail: transports (SMTP / development log) and the transactional outbox. */
export { createMailTransport, type MailMessage, type MailTransport } from "./transport.js";
export { Outbox, type OutboxOptions } from "./outbox.js";
