/**
 * `rampart secrets list` and `rampart secrets check` output and exit codes,
 * through runSecretsList / runSecretsCheck writing to a captured stream.
 */
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { formatAge, runSecretsCheck, runSecretsList } from "../../src/secrets/index.js";
import { FakeProvider, harness, type Harness } from "./helpers.js";

class Sink extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString("utf8");
    cb();
  }
}

let h: Harness | undefined;

afterEach(async () => {
  await h?.secrets.close();
  h = undefined;
});

describe("runSecretsList", () => {
  it("prints a table of name, provider, version, age and shadowed providers", async () => {
    const clockStart = Date.UTC(2026, 0, 1);
    const primary = new FakeProvider("aws:app/");
    primary.values.set("jwt-signing", { value: "value-one-1", version: "v-42", updatedAt: clockStart - 2 * 86_400_000 - 3 * 3_600_000 });
    const fallback = new FakeProvider("env").set("jwt-signing", "value-two-2").set("master-key", "value-three-3");
    h = harness({ providers: [primary, fallback] });
    const out = new Sink();
    expect(await runSecretsList(h.secrets, out)).toBe(0);
    expect(out.text).toBe(
      [
        "providers: aws:app/, env",
        "NAME         PROVIDER  VERSION  AGE    SHADOWS",
        "jwt-signing  aws:app/  v-42     2d 3h  env",
        "master-key   env       -        -      -",
        "",
      ].join("\n"),
    );
  });

  it("reports a provider that cannot be listed and exits 1", async () => {
    const broken = new FakeProvider("vault:secret/app");
    broken.failWith = new Error("down");
    h = harness({ providers: [broken] });
    const out = new Sink();
    expect(await runSecretsList(h.secrets, out)).toBe(1);
    expect(out.text).toContain("no secrets found\n");
    expect(out.text).toContain("error: vault:secret/app could not be listed: Error\n");
  });
});

describe("runSecretsCheck", () => {
  it("exits 0 when every required secret resolves", async () => {
    h = harness({ providers: [new FakeProvider("env").set("master-key", "value-1-abc", "3").set("jwt-signing", "value-2-abc")] });
    const out = new Sink();
    expect(await runSecretsCheck(h.secrets, ["master-key", "jwt-signing"], out)).toBe(0);
    expect(out.text).toBe(["ok  master-key   env (version 3)", "ok  jwt-signing  env", "2 ok, 0 failed", ""].join("\n"));
  });

  it("exits 1 and names the missing, failing and malformed secrets", async () => {
    const failing = new FakeProvider("first");
    h = harness({ providers: [failing, new FakeProvider("second").set("master-key", "value-1-abc")] });
    const out = new Sink();
    expect(await runSecretsCheck(h.secrets, ["master-key", "stripe-webhook", "Bad_Name"], out)).toBe(1);
    expect(out.text).toContain("ok       master-key      second\n");
    expect(out.text).toContain('MISSING  stripe-webhook  secret "stripe-webhook" not found; looked in: first (stripe-webhook), second (stripe-webhook)\n');
    expect(out.text).toContain("INVALID  Bad_Name        not a kebab-case secret name\n");
    expect(out.text).toContain("1 ok, 2 failed\n");

    failing.failWith = new Error("denied");
    await h.secrets.close();
    h = harness({ providers: [failing] });
    const out2 = new Sink();
    expect(await runSecretsCheck(h.secrets, ["master-key"], out2)).toBe(1);
    expect(out2.text).toContain("ERROR  master-key  Error\n");
  });

  it("checks every listed secret when no names are given", async () => {
    h = harness({ providers: [new FakeProvider("env").set("a-key", "value-a-123").set("b-key", "value-b-123")] });
    const out = new Sink();
    expect(await runSecretsCheck(h.secrets, [], out)).toBe(0);
    expect(out.text).toContain("2 ok, 0 failed\n");
  });
});

describe("formatAge", () => {
  it("shows the two largest units", () => {
    expect([null, 45, 12 * 60 + 5, 3 * 3600 + 5 * 60, 2 * 86_400 + 4 * 3600].map(formatAge)).toEqual(["-", "45s", "12m", "3h 5m", "2d 4h"]);
  });
});

describe("runSecretsCheck without names", () => {
  it("says there is nothing to check and exits 0 when no provider holds a secret", async () => {
    h = harness({ providers: [new FakeProvider("env")] });
    const out = new Sink();
    expect(await runSecretsCheck(h.secrets, [], out)).toBe(0);
    expect(out.text).toBe("no secrets to check\n");
  });

  it("exits 1 naming the provider that could not be listed, even with nothing else to check", async () => {
    const broken = new FakeProvider("vault:secret/app");
    broken.failWith = new Error("permission denied");
    h = harness({ providers: [broken] });
    const out = new Sink();
    expect(await runSecretsCheck(h.secrets, [], out)).toBe(1);
    expect(out.text).toBe("error: vault:secret/app could not be listed: Error\nno secrets to check\n");
    expect(out.text).not.toContain("permission denied");
  });

  it("reports a listing error before checking what the other providers listed, and a lookup the failing provider breaks", async () => {
    const broken = new FakeProvider("aws:app/");
    broken.failWith = new Error("throttled");
    h = harness({ providers: [broken, new FakeProvider("env").set("a-key", "value-a-123", "7")] });
    const out = new Sink();
    expect(await runSecretsCheck(h.secrets, [], out)).toBe(1);
    // a-key is resolved through the chain, whose first provider fails: the check reports that too (the error's
    // class only, never its message, which could carry a secret).
    expect(out.text).toBe("error: aws:app/ could not be listed: Error\nERROR  a-key  Error\n0 ok, 1 failed\n");
  });
});
