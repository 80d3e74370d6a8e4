/**
 * Whom a request's bucket belongs to. The client IP is what Fastify's
 * `request.ip` reports: the socket peer, or with TRUST_PROXY the right-most
 * `X-Forwarded-For` entry not added by a trusted proxy (proxy-addr). A client
 * can prepend anything to that header, never append past the proxy, so
 * spoofed entries do not change its key.
 *
 * IPv6 clients are grouped by /64: one subscriber line or host gets a whole
 * /64 (RFC 6177, RFC 7421), so keying single addresses would let one client
 * rotate through 2^64 of them. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a
 * dual-stack socket reports for IPv4 peers) is keyed as the IPv4 address.
 */
import { isIPv4, isIPv6 } from "node:net";

function ipv6Groups(address: string): number[] {
  let s = address;
  // An embedded IPv4 tail (RFC 4291 §2.2, form 3) becomes two hex groups.
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const [a, b, c, d] = tail.split(".").map(Number) as [number, number, number, number];
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = s.split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  if (rest === undefined) return h.map((g) => parseInt(g, 16));
  const t = rest === "" ? [] : rest.split(":");
  return [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t].map((g) => parseInt(g, 16));
}

/**
 * The rate-limit key of a client address: IPv4 as is, IPv6 as its /64 prefix
 * (`2001:db8:0:1::/64`), IPv4-mapped IPv6 as IPv4. Anything that is not an IP
 * address (a Unix socket path) is returned unchanged.
 */
export function clientIpKey(ip: string): string {
  const zone = ip.indexOf("%");
  const address = zone === -1 ? ip : ip.slice(0, zone);
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return ip;
  const g = ipv6Groups(address);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    const hi = g[6]!;
    const lo = g[7]!;
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(":")}::/64`;
}

/**
 * The bucket key for a request under a policy keyed `by` principal or IP:
 * `u:<user or API key id>` when a principal is known and the policy allows
 * it, else `ip:<clientIpKey>`.
 */
export function requestKey(by: "principal" | "ip", ip: string, principal: string | undefined): string {
  if (by === "principal" && principal) return `u:${principal}`;
  return `ip:${clientIpKey(ip)}`;
}
