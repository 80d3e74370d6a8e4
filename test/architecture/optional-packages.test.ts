/**
 * Optional peer packages (PGlite, pkcs11js, the AWS SDK clients,
 * @fastify/swagger-ui) are not installed with Rampart. A deployment that selects their feature
 * without installing them must fail at start with an error naming the
 * package; the check runs each feature in a child process where Node's own
 * resolver cannot find the packages (fixtures/hide-packages.mjs), and again
 * with them installed, where the same code starts or fails for another reason.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadOptionalPackage, OptionalPackageMissing } from "../../src/config/optional-package.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OPTIONAL = { "embedded-db": "@electric-sql/pglite", pkcs11: "pkcs11js", "aws-kms": "@aws-sdk/client-kms", "aws-secrets": "@aws-sdk/client-secrets-manager", "openapi-ui": "@fastify/swagger-ui" } as const;
type Feature = keyof typeof OPTIONAL;
interface Outcome {
  feature: Feature;
  started: boolean;
  name?: string;
  message?: string;
}

/** Runs the fixture in a fresh process with these packages hidden (an async child: the test worker stays responsive). */
async function runFeatures(hidden: string[]): Promise<Map<Feature, Outcome>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--no-warnings", "--import", "tsx", "--import", "./test/architecture/fixtures/hide-packages.mjs", "test/architecture/fixtures/optional-features.ts"],
    { cwd: ROOT, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", RAMPART_HIDE_PACKAGES: hidden.join(",") }, timeout: 120_000 },
  );
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as Outcome);
  return new Map(lines.map((o) => [o.feature, o]));
}

describe("optional peer packages", () => {
  it("a feature selected without its package fails naming the package and the command to install it", async () => {
    const outcomes = await runFeatures(Object.values(OPTIONAL));
    expect([...outcomes.keys()].sort()).toEqual(Object.keys(OPTIONAL).sort());
    const wording: Record<Feature, string> = {
      "embedded-db": "The embedded database (no DATABASE_URL)",
      pkcs11: "KEK provider 'pkcs11'",
      "aws-kms": "KEK provider 'aws-kms'",
      "aws-secrets": "Secrets provider 'aws:'",
      "openapi-ui": "The OpenAPI reference UI at /docs",
    };
    for (const [feature, pkg] of Object.entries(OPTIONAL) as [Feature, string][]) {
      const o = outcomes.get(feature)!;
      expect(o.started, feature).toBe(false);
      expect(o.message, feature).toBe(`${wording[feature]} needs the optional package '${pkg}': npm install ${pkg}`);
    }
  });

  it("with the packages installed the same code gets past loading them", async () => {
    const outcomes = await runFeatures([]);
    for (const feature of Object.keys(OPTIONAL) as Feature[]) {
      expect(outcomes.get(feature)!.message ?? "", feature).not.toContain("needs the optional package");
    }
    expect(outcomes.get("embedded-db")!.started).toBe(true);
    expect(outcomes.get("aws-kms")!.started).toBe(true);
    expect(outcomes.get("openapi-ui")!.started).toBe(true);
    // The PKCS#11 addon loaded and tried the module path it was given.
    expect(outcomes.get("pkcs11")!.message).toContain("/nonexistent/libpkcs11.so");
  });

  it("hiding one package leaves the others loadable", async () => {
    const outcomes = await runFeatures(["@fastify/swagger-ui"]);
    expect(outcomes.get("openapi-ui")!.message).toContain("'@fastify/swagger-ui'");
    expect(outcomes.get("aws-kms")!.started).toBe(true);
  });
});

describe("loadOptionalPackage", () => {
  const failing = (err: Error) => () => Promise.reject(err);
  const notFound = (message: string, code = "ERR_MODULE_NOT_FOUND") => Object.assign(new Error(message), { code });

  it("names the package and the feature, with Node's error as the cause", async () => {
    const cause = notFound("Cannot find package 'pkcs11js' imported from /app/x.js");
    const err = await loadOptionalPackage("pkcs11js", "KEK provider 'pkcs11'", failing(cause)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OptionalPackageMissing);
    expect((err as OptionalPackageMissing).packageName).toBe("pkcs11js");
    expect((err as Error).cause).toBe(cause);
  });

  it("does not blame the package for a missing dependency of its own or for an error it throws while loading", async () => {
    const inner = notFound("Cannot find package '@smithy/core' imported from /app/node_modules/@aws-sdk/client-kms/index.js");
    await expect(loadOptionalPackage("@aws-sdk/client-kms", "KEK provider 'aws-kms'", failing(inner))).rejects.toBe(inner);
    const addon = notFound("Cannot find module '../build/Release/pkcs11.node'", "MODULE_NOT_FOUND");
    await expect(loadOptionalPackage("pkcs11js", "KEK provider 'pkcs11'", failing(addon))).rejects.toBe(addon);
    const thrown = new TypeError("boom");
    await expect(loadOptionalPackage("pkcs11js", "KEK provider 'pkcs11'", failing(thrown))).rejects.toBe(thrown);
  });

  it("returns the module the importer gives", async () => {
    const mod = { marker: Symbol("module") };
    await expect(loadOptionalPackage("x", "feature", () => Promise.resolve(mod))).resolves.toBe(mod);
  });
});
