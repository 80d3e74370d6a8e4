/**
 * `rampart secrets check` with no names given: when the providers list no
 * secret there is nothing to check (exit 0), unless a provider could not be
 * listed (named, exit 1); a listing error is reported even when the listed
 * secrets resolve.
 */
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { runSecretsCheck } from "../../src/secrets/index.js";
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
