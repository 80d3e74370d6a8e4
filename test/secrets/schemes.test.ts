/**
 * The secrets provider registry: a scheme a host app registers (`memvault:`)
 * sits in RAMPART_SECRETS next to the built-ins, is opened once per chain with
 * the runtime's upstreams and closed with it, works through createRuntime in
 * both storage modes and through the `rampart` plugin, and an unknown scheme
 * is refused at start naming it.
 */
import Fastify from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { SecretRedactor } from "../../src/log/index.js";
import { UpstreamRegistry } from "../../src/resilience/index.js";
import { ManualClock } from "../../src/runtime/clock.js";
import { buildProviderChain, secretsProviderRegistry, type SecretProvider, type SecretsProviderDefinition } from "../../src/secrets/index.js";
import { runPreflight } from "../../src/server/preflight.js";
import { rampart } from "../../src/server/rampart.js";
import { createTestEnv, stubSecretsEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

/** The app's secret store: values by path, and what the scheme did with it. */
function memVault(data: Record<string, Record<string, string>>) {
  const state = { opened: 0, closed: 0, upstreams: [] as string[] };
  const definition: SecretsProviderDefinition = {
    scheme: "memvault",
    usage: "memvault:<path>",
    accepts: (arg) => /^[a-z0-9-]+$/.test(arg),
    open(ctx) {
      state.opened++;
      // One upstream for every entry of the scheme, in the runtime's registry when there is one.
      const upstream = ctx.upstream("secrets.memvault");
      state.upstreams.push(upstream.name);
      return {
        provider(path): SecretProvider {
          return {
            id: `memvault:${path}`,
            upstream,
            locate: (name) => `memvault:${path} (key ${name})`,
            load: async (name) => {
              const value = data[path]?.[name];
              return value === undefined ? undefined : { value, version: "1" };
            },
            list: async () => Object.keys(data[path] ?? {}).map((name) => ({ name })),
          };
        },
        close() {
          state.closed++;
        },
      };
    },
  };
  return { definition, state };
}

describe("secrets provider registry", () => {
  it("an app scheme serves its entries before the next provider; opened once per chain with the runtime's upstream, closed with it", async () => {
    const { definition, state } = memVault({ "team-a": { "api-key": "from-team-a-0001" }, "team-b": { "api-key": "from-team-b-0001", other: "b-other-000001" } });
    const upstreams = new UpstreamRegistry({ log: pino({ level: "silent" }) });
    const chain = buildProviderChain({
      config: loadConfig({ RAMPART_SECRETS: "memvault:team-a,memvault:team-b,env" }),
      env: { RAMPART_SECRET_FALLBACK: "from-env-000001" },
      redactor: new SecretRedactor(),
      clock: new ManualClock(),
      upstreams,
      schemes: secretsProviderRegistry([definition]),
    });
    expect(chain.providers.map((p) => p.id)).toEqual(["memvault:team-a", "memvault:team-b", "env"]);
    expect(state).toEqual({ opened: 1, closed: 0, upstreams: ["secrets.memvault"] });
    expect(upstreams.get("secrets.memvault")).toBe(chain.providers[0]!.upstream);
    expect((await chain.providers[1]!.load("other", AbortSignal.timeout(1000)))?.value).toBe("b-other-000001");
    await chain.close();
    expect(state.closed).toBe(1);
  });

  it("a built-in scheme, a duplicate or a malformed scheme cannot be registered", () => {
    const { definition } = memVault({});
    expect(() => secretsProviderRegistry([{ ...definition, scheme: "env" }])).toThrow("expected a scheme not registered yet, instead got 'env', which is already registered");
    expect(() => secretsProviderRegistry([{ ...definition, scheme: "Mem Vault" }])).toThrow("instead got 'Mem Vault'");
    expect(secretsProviderRegistry([definition]).schemes()).toEqual(["env", "dotenv", "files", "aws", "vault", "memvault"]);
  });

  it("an app scheme's argument is checked by its own rule, naming the entry", () => {
    const { definition, state } = memVault({});
    const build = () =>
      buildProviderChain({ config: loadConfig({ RAMPART_SECRETS: "env,memvault:Bad_Path" }), env: {}, redactor: new SecretRedactor(), clock: new ManualClock(), schemes: secretsProviderRegistry([definition]) });
    expect(build).toThrow("RAMPART_SECRETS: expected memvault:<path>, instead got 'memvault:Bad_Path'");
    // Every entry is checked before any scheme opens.
    expect(state.opened).toBe(0);
  });

  it("the production preflight reads key material through the app's scheme", async () => {
    const { definition } = memVault({ keys: { "master-key": "ab".repeat(32), "blind-index-key": "cd".repeat(32) } });
    const config = loadConfig({ NODE_ENV: "production", RAMPART_SECRETS: "memvault:keys" });
    const problems = await runPreflight(config, { env: {}, log: pino({ level: "silent" }), secretsProviders: [definition] });
    expect(problems.filter((p) => /master-key|blind-index-key|RAMPART_SECRETS/.test(`${p.variable} ${p.problem}`))).toEqual([]);
    await expect(runPreflight(config, { env: {}, log: pino({ level: "silent" }) })).rejects.toThrow("unknown scheme 'memvault'");
  });
});

describe.each(testModes())("secrets provider schemes of a runtime (%s)", (mode) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv(mode);
  });
  afterAll(async () => env?.cleanup());

  it("RAMPART_SECRETS names an app scheme: createRuntime reads secrets through it, its upstream is the runtime's", async () => {
    const { definition, state } = memVault({ app: { "stripe-webhook": "whsec-from-memvault-01" } });
    const rt = await createTestRuntime(env, { env: { RAMPART_SECRETS: "memvault:app,env" }, secretsProviders: [definition] });
    try {
      expect(await rt.runtime.secrets.get("stripe-webhook")).toBe("whsec-from-memvault-01");
      expect(rt.runtime.secrets.providerIds).toEqual(["memvault:app", "env"]);
      expect(rt.runtime.upstreams.stats().map((s) => s.name)).toContain("secrets.memvault");
    } finally {
      await rt.runtime.close();
    }
    expect(state.closed).toBe(1);
  });

  it("an unregistered scheme is refused at runtime creation, naming it", async () => {
    await expect(createTestRuntime(env, { env: { RAMPART_SECRETS: "memvault:app,env" } })).rejects.toThrow("instead got 'memvault:app': unknown scheme 'memvault'");
  });

  it("the app's scheme is passed through the rampart plugin to the runtime it builds", async () => {
    const { definition } = memVault({ app: { "report-key": "report-key-value-01" } });
    const app = Fastify();
    // The plugin's runtime reads the `env` entry from process.env, as a host app's does.
    stubSecretsEnv(env);
    try {
      await app.register(rampart, { config: loadConfig({ ...env.env, RAMPART_SECRETS: "memvault:app,env", LOG_LEVEL: "silent" }), secretsProviders: [definition] });
      await app.ready();
      expect(await app.rampart.runtime.secrets.get("report-key")).toBe("report-key-value-01");
    } finally {
      await app.close();
      vi.unstubAllEnvs();
    }
  });
});
