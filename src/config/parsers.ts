/**
 * Small, strict parsers for environment values. Each returns the parsed value or
 * throws ConfigValueError saying what was expected; the loader adds the variable
 * name and the (masked when secret) received value.
 */

export class ConfigValueError extends Error {
  constructor(readonly expected: string) {
    super(expected);
  }
}

export function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigValueError(`an integer from ${min} to ${max}`);
    const n = Number(raw.trim());
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigValueError(`an integer from ${min} to ${max}`);
    return n;
  };
}

export function boolean(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === "true" || v === "1" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "no") return false;
  throw new ConfigValueError("true or false");
}

export function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new ConfigValueError(`one of ${values.join(", ")}`);
    return v;
  };
}

export function httpUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new ConfigValueError("an absolute http(s) URL");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new ConfigValueError("an absolute http(s) URL");
  if (u.search || u.hash) throw new ConfigValueError("an http(s) URL without query or fragment");
  return u.toString().replace(/\/$/, "");
}

export function urlWithScheme(...schemes: string[]) {
  return (raw: string): string => {
    let u: URL;
    try {
      u = new URL(raw.trim());
    } catch {
      throw new ConfigValueError(`a URL with scheme ${schemes.join(" or ")}`);
    }
    if (!schemes.includes(u.protocol.replace(/:$/, ""))) throw new ConfigValueError(`a URL with scheme ${schemes.join(" or ")}`);
    return raw.trim();
  };
}

export function nonEmpty(raw: string): string {
  const v = raw.trim();
  if (v === "") throw new ConfigValueError("a non-empty value");
  return v;
}

export function host(raw: string): string {
  const v = raw.trim();
  // A hostname, IPv4 or IPv6 literal; no scheme, port or path.
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(v)) throw new ConfigValueError("a hostname or IP address");
  return v;
}

/**
 * TRUST_PROXY: `false` (default), `true` (trust every hop: only behind a proxy
 * you control), a hop count, or a comma-separated list of addresses / CIDRs.
 */
export type TrustProxy = boolean | number | string[];

export function trustProxy(raw: string): TrustProxy {
  const v = raw.trim();
  if (v === "false" || v === "") return false;
  if (v === "true") return true;
  if (/^\d+$/.test(v)) return Number(v);
  const parts = v.split(",").map((p) => p.trim()).filter(Boolean);
  const cidr = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]+|loopback|linklocal|uniquelocal)(?:\/\d{1,3})?$/;
  for (const p of parts) if (!cidr.test(p)) throw new ConfigValueError("false, true, a hop count, or a comma-separated list of IPs/CIDRs");
  return parts;
}

/** A comma-separated list of consent purposes (`marketing,analytics`). */
export function purposeList(raw: string): string[] {
  const list = [...new Set(raw.split(",").map((p) => p.trim()).filter(Boolean))];
  if (list.length === 0) throw new ConfigValueError("a comma-separated list of purposes like `marketing,analytics`");
  for (const p of list) if (!/^[a-z][a-z0-9-]{0,39}$/.test(p)) throw new ConfigValueError("a comma-separated list of purposes like `marketing,analytics` (lower case, digits, hyphens)");
  return list;
}
