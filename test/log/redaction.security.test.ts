/**
 * Threat: secrets leaking into logs — credentials in headers or request bodies,
 * and loaded secret values (keys, passwords, URLs) printed inside messages,
 * error stacks or nested objects, as is or base64 / URL-encoded.
 */
import { describe, expect, it } from "vitest";
import { createLogger, SecretRedactor } from "../../src/log/index.js";
import { LogCapture } from "../helpers/logs.js";

function setup() {
  const redactor = new SecretRedactor();
  const out = new LogCapture();
  const log = createLogger({ level: "info", format: "json", redactor, destination: out });
  return { redactor, out, log };
}

describe("log redaction", () => {
  it("redacts credential headers by name", () => {
    const { out, log } = setup();
    log.info({ req: { headers: { authorization: "Bearer eyJabc.def.ghi", cookie: "sid=abcdef123456", "x-api-key": "rp_live_key" } } }, "in");
    log.info({ res: { headers: { "set-cookie": "sid=zzzzzz999999; HttpOnly" } } }, "out");
    expect(out.text).not.toContain("eyJabc.def.ghi");
    expect(out.text).not.toContain("abcdef123456");
    expect(out.text).not.toContain("zzzzzz999999");
    expect(out.text).not.toContain("rp_live_key");
    expect(out.records()[0]).toMatchObject({ req: { headers: { authorization: "[REDACTED]", cookie: "[REDACTED]" } } });
  });

  it("redacts secret body fields by name", () => {
    const { out, log } = setup();
    log.info({ body: { email: "a@b.c", password: "correct horse battery", refreshToken: "rt-123456789", code: "123456" } }, "login");
    log.info({ password: "top-level-pass", nested: { token: "nested-token-value", secret: "nested-secret" } }, "x");
    for (const s of ["correct horse battery", "rt-123456789", "123456", "top-level-pass", "nested-token-value", "nested-secret"]) expect(out.text).not.toContain(s);
    expect(out.records()[0]).toMatchObject({ body: { email: "a@b.c", password: "[REDACTED]", refreshToken: "[REDACTED]", code: "[REDACTED]" } });
  });

  it("keeps error codes and event data codes readable: `code` is secret only in a request body", () => {
    const { out, log } = setup();
    const err = Object.assign(new Error("refused"), { code: "QUOTA_EXCEEDED" });
    log.warn({ err, data: { code: "LLM_TIMEOUT" }, req: { body: { code: "654321" } } }, "refused");
    expect(out.text).not.toContain("654321");
    expect(out.records()[0]).toMatchObject({ err: { code: "QUOTA_EXCEEDED" }, data: { code: "LLM_TIMEOUT" }, req: { body: { code: "[REDACTED]" } } });
  });

  it("masks a registered secret value wherever it appears, including inside longer strings", () => {
    const { redactor, out, log } = setup();
    const secret = "sk_live_4f9a8b7c6d5e";
    redactor.register(secret);
    log.info(`connecting with key=${secret}; retrying`);
    log.info({ detail: { url: `https://api.example.com/?k=${secret}` } }, "nested");
    log.error({ err: new Error(`upstream rejected ${secret}`) }, "failed");
    expect(out.text).not.toContain(secret);
    expect(out.records()[0]!.msg).toBe("connecting with key=[REDACTED]; retrying");
    expect(out.text).toContain("upstream rejected [REDACTED]");
  });

  it("masks base64, base64url and URL-encoded forms of a registered secret", () => {
    const { redactor, out, log } = setup();
    const secret = "p@ss w/rd?&=+ünïcode";
    redactor.register(secret);
    const forms = [
      Buffer.from(secret).toString("base64"),
      Buffer.from(secret).toString("base64url"),
      encodeURIComponent(secret),
    ];
    for (const f of forms) log.info(`value ${f} end`);
    log.info({ quoted: `say "${secret}"` }, "json-escaped");
    for (const f of [...forms, secret]) expect(out.text).not.toContain(f);
    expect(out.lines).toHaveLength(4);
    for (const r of out.records()) expect(JSON.stringify(r)).toContain("[REDACTED]");
  });

  it("masks a secret containing JSON-escaped characters", () => {
    const { redactor, out, log } = setup();
    const secret = 'quote"back\\slash-secret';
    redactor.register(secret);
    log.info({ v: `x${secret}y` }, "m");
    expect(out.records()[0]!.v).toBe("x[REDACTED]y");
  });

  it("masks the longer of two overlapping secrets whole", () => {
    const { redactor, out, log } = setup();
    redactor.register("abcdef");
    redactor.register("abcdefghijkl");
    log.info("v=abcdefghijkl");
    expect(out.records()[0]!.msg).toBe("v=[REDACTED]");
  });

  it("does not register values too short to mask safely", () => {
    const { redactor, out, log } = setup();
    expect(redactor.register("abc")).toBe(false);
    log.info("abc stays readable");
    expect(out.records()[0]!.msg).toBe("abc stays readable");
  });
});
