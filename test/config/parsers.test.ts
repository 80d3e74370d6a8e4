/**
 * The environment value parsers: what each accepts (trimmed), what it refuses
 * and what the refusal says it expected (the loader adds the variable name).
 */
import { describe, expect, it } from "vitest";
import { boolean, ConfigValueError, host, httpUrl, integer, nonEmpty, oneOf, purposeList, trustProxy, urlWithScheme } from "../../src/config/parsers.js";

/** The `expected` text of the ConfigValueError `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigValueError) return err.expected;
    throw err;
  }
  throw new Error("accepted");
}

describe("integer", () => {
  const port = integer(1, 65535);
  it("accepts the bounds and what lies between, trimmed, signed when allowed", () => {
    expect(port("1")).toBe(1);
    expect(port("65535")).toBe(65535);
    expect(port(" 8080\n")).toBe(8080);
    expect(integer(-5, 5)("-5")).toBe(-5);
    expect(integer(0, 10)("007")).toBe(7);
  });
  it("refuses values outside the bounds, fractions, exponents, empty and unsafe integers", () => {
    for (const raw of ["0", "65536", "-1", "1.5", "1e3", "", " ", "0x10", "12a", "+5"]) expect(refusal(() => port(raw))).toBe("an integer from 1 to 65535");
    const any = integer(0, Number.MAX_VALUE);
    expect(refusal(() => any("9007199254740993"))).toBe(`an integer from 0 to ${Number.MAX_VALUE}`);
    expect(any("9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("boolean", () => {
  it("reads true/1/yes and false/0/no in any case, trimmed", () => {
    for (const raw of ["true", "TRUE", " yes ", "1", "Yes"]) expect(boolean(raw)).toBe(true);
    for (const raw of ["false", "False", " no", "0", "NO"]) expect(boolean(raw)).toBe(false);
  });
  it("refuses anything else", () => {
    for (const raw of ["", "on", "off", "2", "y", "truee"]) expect(refusal(() => boolean(raw))).toBe("true or false");
  });
});

describe("oneOf", () => {
  const level = oneOf("debug", "info");
  it("accepts a listed value, trimmed, and names the choices otherwise", () => {
    expect(level(" info ")).toBe("info");
    expect(refusal(() => level("INFO"))).toBe("one of debug, info");
    expect(refusal(() => level(""))).toBe("one of debug, info");
  });
});

describe("httpUrl", () => {
  it("accepts absolute http(s) URLs and drops one trailing slash", () => {
    expect(httpUrl(" https://api.example.com/ ")).toBe("https://api.example.com");
    expect(httpUrl("http://localhost:3000/base/")).toBe("http://localhost:3000/base");
    expect(httpUrl("https://example.com/a/b")).toBe("https://example.com/a/b");
    // Trimmed like every value, no-break spaces included (the URL parser alone keeps them).
    expect(httpUrl("\u00a0https://example.com\u00a0")).toBe("https://example.com");
  });
  it("refuses other schemes, relative URLs, queries and fragments", () => {
    expect(refusal(() => httpUrl("ftp://example.com"))).toBe("an absolute http(s) URL");
    expect(refusal(() => httpUrl("/relative"))).toBe("an absolute http(s) URL");
    expect(refusal(() => httpUrl("https://example.com/?a=1"))).toBe("an http(s) URL without query or fragment");
    expect(refusal(() => httpUrl("https://example.com/#top"))).toBe("an http(s) URL without query or fragment");
  });
});

describe("urlWithScheme", () => {
  const redis = urlWithScheme("redis", "rediss");
  it("accepts the listed schemes and returns the value trimmed, unchanged otherwise", () => {
    expect(redis(" rediss://user:pw@cache:6380/2 ")).toBe("rediss://user:pw@cache:6380/2");
    expect(redis("redis://cache")).toBe("redis://cache");
    expect(redis("\u00a0redis://cache")).toBe("redis://cache");
  });
  it("refuses another scheme or a value that is not a URL", () => {
    expect(refusal(() => redis("http://cache"))).toBe("a URL with scheme redis or rediss");
    expect(refusal(() => redis("cache:6379"))).toBe("a URL with scheme redis or rediss");
    expect(refusal(() => redis("not a url"))).toBe("a URL with scheme redis or rediss");
  });
});

describe("nonEmpty and host", () => {
  it("nonEmpty trims and refuses blank values", () => {
    expect(nonEmpty("  x ")).toBe("x");
    expect(refusal(() => nonEmpty(" \t"))).toBe("a non-empty value");
  });
  it("host accepts names and IP literals only", () => {
    expect(host(" db.internal ")).toBe("db.internal");
    expect(host("10.0.0.1")).toBe("10.0.0.1");
    expect(host("::1")).toBe("::1");
    expect(host("a".repeat(253))).toBe("a".repeat(253));
    for (const raw of ["", "http://db", "db/path", "db name", "a".repeat(254)]) expect(refusal(() => host(raw))).toBe("a hostname or IP address");
  });
});

describe("trustProxy", () => {
  it("reads false (also empty), true, a hop count or a list of addresses and CIDRs", () => {
    expect(trustProxy("false")).toBe(false);
    expect(trustProxy("  ")).toBe(false);
    expect(trustProxy(" true ")).toBe(true);
    expect(trustProxy("2")).toBe(2);
    expect(trustProxy("12")).toBe(12);
    expect(trustProxy("10.0.0.0/8, 192.168.1.1 ,, ::1, fd00::/8, loopback")).toEqual(["10.0.0.0/8", "192.168.1.1", "::1", "fd00::/8", "loopback"]);
    expect(trustProxy("172.16.0.0/12,2001:db8::/128")).toEqual(["172.16.0.0/12", "2001:db8::/128"]);
  });
  it("refuses anything else in the list", () => {
    for (const raw of ["TRUE", "yes", "10.0.0.0/8,example.com", "10.0.0/8", "1.2.3.4/1234", "-1"]) {
      expect(refusal(() => trustProxy(raw))).toBe("false, true, a hop count, or a comma-separated list of IPs/CIDRs");
    }
  });
});

describe("purposeList", () => {
  it("splits, trims and deduplicates purposes in their order", () => {
    expect(purposeList(" marketing, analytics,marketing,, a-1 ")).toEqual(["marketing", "analytics", "a-1"]);
    expect(purposeList(`a${"b".repeat(39)}`)).toEqual([`a${"b".repeat(39)}`]);
  });
  it("refuses an empty list and malformed purposes", () => {
    expect(refusal(() => purposeList(" , "))).toBe("a comma-separated list of purposes like `marketing,analytics`");
    for (const raw of ["Marketing", "1st", "a_b", `a${"b".repeat(40)}`, "ok,bad purpose"]) {
      expect(refusal(() => purposeList(raw))).toBe("a comma-separated list of purposes like `marketing,analytics` (lower case, digits, hyphens)");
    }
  });
});
