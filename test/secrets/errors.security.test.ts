/**
 * Threat: secret values leaking through errors and CLI output. Errors thrown
 * to callers (and their cause chains) must not quote a value, even when a
 * backend answers with a malformed payload that contains one; secret names
 * cannot be used for path traversal; `rampart secrets list | check` and
 * `rampart config` never print a value.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { describeConfig, loadConfig } from "../../src/config/index.js";
import { FilesProvider, InvalidSecretNameError, runSecretsCheck, runSecretsList, SecretLoadError } from "../../src/secrets/index.js";
import { FakeProvider, harness, type Harness } from "./helpers.js";
import { VaultFake } from "./vault-fake.js";

const VALUE = "Leaky-Secret-Value-9f8e7d";
let h: Harness | undefined;

afterEach(async () => {
  await h?.secrets.close();
  h = undefined;
});

/** Every message and stack in an error's cause chain. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) parts.push(e.message, e.stack ?? "");
  return parts.join("\n");
}

class Sink extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString("utf8");
    cb();
  }
}

describe("errors carry no value", () => {
  it("(Vault HTTP fake) a malformed JSON body that contains the value", async () => {
    const vault = new VaultFake();
    await vault.start();
    try {
      vault.tokens.add("hvs.static-token-123456");
      // JSON.parse's own message would quote this text.
      vault.rawKvResponse = { status: 200, body: `{"data":{"data":{"api-key":"${VALUE}"}` };
      h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/app", VAULT_ADDR: vault.addr, VAULT_TOKEN: "hvs.static-token-123456" } });
      const err = await h.secrets.get("api-key").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SecretLoadError);
      expect((err as Error).message).toBe('secret "api-key" could not be loaded from vault:secret/app: GET /v1/secret/data/app answered HTTP 200 with a body that is not JSON');
      expect(errorText(err)).not.toContain(VALUE);
    } finally {
      await vault.stop();
    }
  });

  it("(Vault HTTP fake) an error status whose body echoes the value", async () => {
    const vault = new VaultFake();
    await vault.start();
    try {
      vault.tokens.add("hvs.static-token-123456");
      vault.rawKvResponse = { status: 500, body: JSON.stringify({ errors: [`internal error processing ${VALUE}`] }) };
      h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/app", VAULT_ADDR: vault.addr, VAULT_TOKEN: "hvs.static-token-123456" } });
      const err = await h.secrets.get("api-key").catch((e: unknown) => e);
      expect((err as Error).message).toContain("failed with HTTP 500");
      expect(errorText(err)).not.toContain(VALUE);
    } finally {
      await vault.stop();
    }
  });

  it("(Vault HTTP fake) a non-string value (an object holding the value)", async () => {
    const vault = new VaultFake();
    await vault.start();
    try {
      vault.tokens.add("hvs.static-token-123456");
      vault.put("secret/app", { "api-key": { nested: VALUE } });
      h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/app", VAULT_ADDR: vault.addr, VAULT_TOKEN: "hvs.static-token-123456" } });
      const err = await h.secrets.get("api-key").catch((e: unknown) => e);
      expect((err as Error).message).toContain('key "api-key" at vault:secret/app is an object, not a string');
      expect(errorText(err)).not.toContain(VALUE);
    } finally {
      await vault.stop();
    }
  });

  it("a provider error whose message quotes a value is reduced to its type", async () => {
    const p = new FakeProvider();
    p.failWith = new TypeError(`cannot parse ${VALUE}`);
    h = harness({ providers: [p] });
    const err = await h.secrets.get("api-key").catch((e: unknown) => e);
    expect((err as Error).message).toBe('secret "api-key" could not be loaded from fake: TypeError');
  });

  it("a value passed where a name belongs is not echoed", async () => {
    h = harness({ providers: [new FakeProvider()] });
    const longValue = `${VALUE}-${VALUE}`;
    const err = await h.secrets.get(longValue).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidSecretNameError);
    expect((err as Error).message).toBe(`invalid secret name: expected kebab-case (a-z, 0-9, single dashes), instead got a ${longValue.length}-character string`);
  });
});

describe("names cannot escape the files directory", () => {
  it("refuses traversal at the service and at the provider itself", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rampart-secrets-trav-"));
    try {
      writeFileSync(join(dir, "outside"), VALUE);
      const inner = join(dir, "inner");
      mkdirSync(inner);
      h = harness({ configEnv: { RAMPART_SECRETS: `files:${inner}` } });
      for (const name of ["../outside", `${dir}/outside`, "..", ".hidden"]) {
        await expect(h.secrets.get(name)).rejects.toBeInstanceOf(InvalidSecretNameError);
      }
      const provider = new FilesProvider(inner);
      for (const name of ["../outside", `${dir}/outside`, "..", "..\\outside", "a\0b"]) {
        await expect(provider.load(name)).rejects.toThrow(/refusing a secret name/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("CLI output and config display carry no value", () => {
  it("runSecretsList and runSecretsCheck print names, providers and versions only", async () => {
    h = harness({ providers: [new FakeProvider().set("api-key", VALUE, "v7")] });
    await h.secrets.get("api-key");
    const out = new Sink();
    expect(await runSecretsList(h.secrets, out)).toBe(0);
    expect(await runSecretsCheck(h.secrets, ["api-key", "missing-one"], out)).toBe(1);
    expect(out.text).toContain("api-key");
    expect(out.text).not.toContain(VALUE);
  });

  it("rampart config masks the Vault credentials", () => {
    const rows = describeConfig(loadConfig({ VAULT_TOKEN: "hvs.token-value-1", VAULT_ROLE_ID: "role-value-1", VAULT_SECRET_ID: "secret-id-value-1" }));
    const shown = rows.filter((r) => ["VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"].includes(r.env));
    expect(shown.map((r) => [r.env, r.value, r.secret])).toEqual([
      ["VAULT_TOKEN", "****", true],
      ["VAULT_ROLE_ID", "****", true],
      ["VAULT_SECRET_ID", "****", true],
    ]);
  });
});
