/**
 * Production refusals for the connection to PostgreSQL, for `rampart
 * preflight`: a database reached over the network is reached through TLS
 * that verifies the server (DATABASE_SSL=verify-full). Plain connections
 * carry the password and every row in clear text; `require` encrypts but
 * accepts any certificate, so whoever sits on the path can pose as the
 * database and read it all. Loopback (127.0.0.0/8, ::1, localhost, a unix
 * socket) never leaves the machine and needs neither.
 */
import { readFileSync } from "node:fs";
import type { Config } from "../config/index.js";
import { isLoopbackHost, parsePostgresUrl } from "./postgres-url.js";

export interface DatabaseProblem {
  variable: string;
  problem: string;
}

export type DatabasePreflightConfig = Pick<Config, "databaseUrl" | "databaseSsl" | "databaseSslCa">;

const FIX = "set DATABASE_SSL=verify-full (with DATABASE_SSL_CA naming the CA bundle when the server's certificate comes from a private CA)";

/**
 * What production refuses in the database connection settings; `source`
 * names where the URL came from (`DATABASE_URL` or `secret database-url`).
 */
export function databasePreflight(config: DatabasePreflightConfig, source = "DATABASE_URL"): DatabaseProblem[] {
  if (config.databaseUrl === undefined) return [];
  const problems: DatabaseProblem[] = [];
  const { host } = parsePostgresUrl(config.databaseUrl);
  if (!isLoopbackHost(host)) {
    if (config.databaseSsl === "disable") {
      problems.push({ variable: "DATABASE_SSL", problem: `is disable, but ${source} reaches PostgreSQL at ${host} over the network: the password and every row would travel in clear text; ${FIX}` });
    } else if (config.databaseSsl === "require") {
      problems.push({
        variable: "DATABASE_SSL",
        problem: `is require for PostgreSQL at ${host} (${source}): it encrypts but accepts any certificate, so anyone on the path can pose as the database; ${FIX}`,
      });
    }
  }
  if (config.databaseSsl === "verify-full" && config.databaseSslCa !== undefined) {
    const trouble = caTrouble(config.databaseSslCa);
    if (trouble !== undefined) problems.push({ variable: "DATABASE_SSL_CA", problem: trouble });
  }
  return problems;
}

/** Why the CA bundle cannot serve verify-full, or undefined when it holds a PEM certificate. */
function caTrouble(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return `cannot read the CA bundle ${file} (${typeof code === "string" ? code : "unreadable"})`;
  }
  return text.includes("-----BEGIN CERTIFICATE-----") ? undefined : `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
}
