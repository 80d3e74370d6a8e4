/** Public API of GDPR: export, erasure with crypto-shredding, consent. */
export { exportUser, EXPORT_TABLES, type GdprDeps } from "./export.js";
export { erase, eraseSelf, type ErasureReceipt } from "./erase.js";
export { listConsents, consentHistory, setConsent, type ConsentState, type ConsentChange } from "./consents.js";
export { gdprRoutes } from "./routes.js";
