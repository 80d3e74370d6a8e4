import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientIpKey, requestKey } from "../../src/ratelimit/index.js";

const group = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
const full = (g: number[]) => g.map((x) => x.toString(16).padStart(4, "0")).join(":");
// The WHATWG URL serializer compresses IPv6 (longest zero run to ::, lower
// case, no leading zeros): an independent second spelling of each address.
const compressed = (g: number[]) => new URL(`http://[${full(g)}]/`).hostname.slice(1, -1);

describe("clientIpKey", () => {
  it("keeps IPv4 as is and maps IPv4-mapped IPv6 (both spellings) to IPv4", () => {
    expect(clientIpKey("192.0.2.1")).toBe("192.0.2.1");
    expect(clientIpKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientIpKey("::ffff:c000:201")).toBe("192.0.2.1");
    expect(clientIpKey("0:0:0:0:0:ffff:c000:0201")).toBe("192.0.2.1");
  });

  it("groups IPv6 by /64, ignoring a zone index", () => {
    expect(clientIpKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientIpKey("2001:DB8:0:0:ffff:ffff:ffff:ffff")).toBe("2001:db8:0:0::/64");
    expect(clientIpKey("2001:db8:0:1::1")).toBe("2001:db8:0:1::/64");
    expect(clientIpKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientIpKey("::1")).toBe("0:0:0:0::/64");
    expect(clientIpKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64");
  });

  it("passes through what is not an IP address", () => {
    expect(clientIpKey("/run/rampart.sock")).toBe("/run/rampart.sock");
  });

  it("property: every spelling of every address in one /64 has one key", () => {
    fc.assert(
      fc.property(groups, groups, (a, b) => {
        const sameNet = [...a.slice(0, 4), ...b.slice(4)];
        fc.pre(!(a.slice(0, 5).every((x) => x === 0) && a[5] === 0xffff));
        const key = clientIpKey(full(a));
        expect(clientIpKey(compressed(a))).toBe(key);
        expect(clientIpKey(compressed(sameNet))).toBe(key);
      }),
    );
  });

  it("property: addresses in different /64s have different keys", () => {
    fc.assert(
      fc.property(groups, groups, (a, b) => {
        fc.pre(a.slice(0, 4).join() !== b.slice(0, 4).join());
        fc.pre(![a, b].some((g) => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff));
        expect(clientIpKey(compressed(a))).not.toBe(clientIpKey(compressed(b)));
      }),
    );
  });
});

describe("requestKey", () => {
  it("uses the principal only for principal-keyed policies, the IP otherwise", () => {
    expect(requestKey("principal", "192.0.2.1", "user-1")).toBe("u:user-1");
    expect(requestKey("principal", "192.0.2.1", undefined)).toBe("ip:192.0.2.1");
    expect(requestKey("ip", "2001:db8::7", "user-1")).toBe("ip:2001:db8:0:0::/64");
  });
});
