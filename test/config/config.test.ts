import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "../../src/config/index.js";

describe("config", () => {
  it("fills documented defaults", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe("127.0.0.1");
    expect(c.nodeEnv).toBe("development");
    expect(c.dataDir).toBe("./.rampart");
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.trustProxy).toBe(false);
    expect(c.shutdownTimeoutMs).toBe(10_000);
    expect(c.bodyLimitBytes).toBe(1_048_576);
    expect(c.publicUrl).toBe("http://127.0.0.1:8080");
  });

  it("is deeply frozen", () => {
    const c = loadConfig({ TRUST_PROXY: "10.0.0.0/8,127.0.0.1" });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.trustProxy)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it("parses typed values", () => {
    const c = loadConfig({ PORT: "9000", HOST: "::1", TRUST_PROXY: "2", DATABASE_POOL_MAX: "25", RAMPART_PUBLIC_URL: "https://id.example.com/" });
    expect(c.port).toBe(9000);
    expect(c.publicUrl).toBe("https://id.example.com");
    expect(c.trustProxy).toBe(2);
    expect(c.databasePoolMax).toBe(25);
    expect(loadConfig({ HOST: "::1" }).publicUrl).toBe("http://[::1]:8080");
  });

  const bad: [string, string, RegExp][] = [
    ["PORT", "abc", /^PORT: expected an integer from 0 to 65535, instead got 'abc'$/],
    ["PORT", "70000", /^PORT: expected an integer/],
    ["PORT", "80.5", /^PORT: expected an integer/],
    ["NODE_ENV", "prod", /^NODE_ENV: expected one of development, production, test, instead got 'prod'$/],
    ["LOG_LEVEL", "loud", /^LOG_LEVEL: expected one of/],
    ["RAMPART_PUBLIC_URL", "ftp://x", /^RAMPART_PUBLIC_URL: expected an absolute http\(s\) URL/],
    ["RAMPART_PUBLIC_URL", "https://x/?a=1", /^RAMPART_PUBLIC_URL: expected an http\(s\) URL without query/],
    ["DATABASE_POOL_MAX", "0", /^DATABASE_POOL_MAX: expected an integer from 1/],
    ["DATABASE_SSL", "maybe", /^DATABASE_SSL: expected one of disable, require, verify-full/],
    ["TRUST_PROXY", "everyone", /^TRUST_PROXY: expected false, true, a hop count/],
    ["SHUTDOWN_TIMEOUT_MS", "-1", /^SHUTDOWN_TIMEOUT_MS: expected an integer/],
    ["HOST", "http://x", /^HOST: expected a hostname or IP address/],
  ];
  for (const [name, value, message] of bad) {
    it(`refuses ${name}=${value} naming the variable`, () => {
      let caught: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).variable).toBe(name);
      expect((caught as Error).message).toMatch(message);
    });
  }

  it("masks secret values in errors", () => {
    expect(() => loadConfig({ DATABASE_URL: "mysql://admin:s3cretPassw0rd@db.internal/app" })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: "mysql://admin:s3cretPassw0rd@db.internal/app" });
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toMatch(/^DATABASE_URL: expected a URL with scheme postgres or postgresql, instead got/);
      expect(msg).not.toContain("s3cretPassw0rd");
      expect(msg).not.toContain("admin");
      expect(msg).toContain("(masked)");
    }
    try {
      loadConfig({ REDIS_URL: "not a url with hunter2hunter2" });
    } catch (err) {
      expect((err as Error).message).not.toContain("hunter2hunter2");
    }
  });

  it("describes the effective config with secrets masked", () => {
    const rows = describeConfig(loadConfig({ DATABASE_URL: "postgres://app:pa55word-xyz@db:5432/rampart", PORT: "9090" }));
    const byEnv = Object.fromEntries(rows.map((r) => [r.env, r]));
    expect(byEnv.DATABASE_URL!.value).toBe("postgres://****@db:5432/****");
    expect(byEnv.PORT).toMatchObject({ value: "9090", isDefault: false });
    expect(byEnv.HOST).toMatchObject({ value: "127.0.0.1", isDefault: true });
    expect(JSON.stringify(rows)).not.toContain("pa55word-xyz");
  });
});
