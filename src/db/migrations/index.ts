/**
 * The one migration set, for PGlite and PostgreSQL alike. Names sort in the
 * order they apply; never edit an applied migration, add a new one.
 */
import type { Migration } from "kysely";
import * as m0001 from "./0001-foundation.js";
import * as m0002crypto from "./0002-crypto.js";
import * as m0003identity from "./0003-identity.js";
import * as m0004signingKeys from "./0004-signing-keys.js";
import * as m0005filesQuotas from "./0005-files-quotas.js";
import * as m0006webhooksIdempotency from "./0006-webhooks-idempotency.js";
import * as m0010audit from "./0010-audit.js";
import * as m0011consents from "./0011-consents.js";
import * as m0012emailVerification from "./0012-email-verification.js";
import * as m0013identityHardening from "./0013-identity-hardening.js";
import * as m0014blobDeletions from "./0014-blob-deletions.js";
import * as m0015webhookDedupe from "./0015-webhook-dedupe.js";
import * as m0016apiKeyLineage from "./0016-api-key-lineage.js";
import * as m0017backgroundTrace from "./0017-background-trace.js";

export const migrations: Record<string, Migration> = {
  "0001-foundation": m0001,
  "0002-crypto": m0002crypto,
  "0003-identity": m0003identity,
  "0004-signing-keys": m0004signingKeys,
  "0005-files-quotas": m0005filesQuotas,
  "0006-webhooks-idempotency": m0006webhooksIdempotency,
  "0010-audit": m0010audit,
  "0011-consents": m0011consents,
  "0012-email-verification": m0012emailVerification,
  "0013-identity-hardening": m0013identityHardening,
  "0014-blob-deletions": m0014blobDeletions,
  "0015-webhook-dedupe": m0015webhookDedupe,
  "0016-api-key-lineage": m0016apiKeyLineage,
  "0017-background-trace": m0017backgroundTrace,
};
