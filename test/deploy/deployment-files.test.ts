/**
 * The deployment files (Dockerfile, deploy/compose.yaml, deploy/k8s,
 * deploy/haproxy, deploy/prometheus) checked against the code, since images
 * cannot be pulled here: every variable they set is in the config spec and
 * parses; the configurations pass production preflight; probe paths and ports
 * are the server's; the commands they run exist in the CLI; the image user is
 * non-root and the Kubernetes pods meet the restricted profile; secrets are
 * referenced, never written in the files. HAProxy's configuration is checked
 * by haproxy itself (Debian's `haproxy` package; CI installs it).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSpec, loadConfig } from "../../src/config/index.js";
import { commands } from "../../src/cli/commands/index.js";
import { call } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { runMain } from "../cli/io.js";
import { ROOT } from "../helpers/process.js";
import { dockerfile, envNamesOf, secretValuesIn, type K8sObject, type PodSpec } from "./deploy-files.js";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const specVars = new Map(Object.values(configSpec).map((s) => [s.env, s]));
const secretVars = [...specVars.values()].filter((s) => "secret" in s && s.secret).map((s) => s.env);

const docker = dockerfile(read("Dockerfile"));
const compose = parse(read("deploy/compose.yaml"), { merge: true }) as { services: Record<string, any>; secrets: Record<string, { file: string }>; networks: any };
const k8s: K8sObject[] = readdirSync(join(ROOT, "deploy/k8s"))
  .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
  .flatMap((f) => parseAllDocuments(read(`deploy/k8s/${f}`)).map((d) => d.toJS() as K8sObject));
const byKind = (kind: string) => k8s.filter((o) => o.kind === kind);
const one = (kind: string) => {
  const all = byKind(kind);
  expect(all, kind).toHaveLength(1);
  return all[0]!;
};
const configMap = one("ConfigMap").data as Record<string, string>;
const pods: [string, PodSpec][] = [...byKind("Deployment"), ...byKind("Job")].map((o) => [o.metadata.name, o.spec.template.spec]);
const rampartServices = Object.entries(compose.services).filter(([, s]) => s.image === "rampart:latest");
const instances = rampartServices.filter(([, s]) => s.command === undefined);
const haproxy = read("deploy/haproxy/haproxy.cfg");
const prometheus = parse(read("deploy/prometheus/prometheus.yml")) as { rule_files: string[]; scrape_configs: any[] };

// The files deploy/secrets/generate.sh makes, in a directory of this test's own.
let secretsDir: string;
const generated = (name: string) => readFileSync(join(secretsDir, name), "utf8");
const envFile = () => Object.fromEntries(generated("rampart.env").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

beforeAll(() => {
  secretsDir = mkdtempSync(join(tmpdir(), "rampart-deploy-"));
  execFileSync("sh", [join(ROOT, "deploy/secrets/generate.sh"), secretsDir], { env: { PATH: process.env.PATH ?? "", SMTP_URL: "smtp://mailer:mail-pass@mail.example.com:587" }, stdio: "pipe" });
});
afterAll(() => rmSync(secretsDir, { recursive: true, force: true }));

describe("environment variables", () => {
  it("every variable the Dockerfile, compose and Kubernetes set is in the config spec", () => {
    const set = new Map<string, string[]>([
      ["Dockerfile ENV", Object.keys(docker.env)],
      ["generated rampart.env", Object.keys(envFile())],
      ["ConfigMap", Object.keys(configMap)],
      ...rampartServices.map(([name, s]) => [`compose ${name}`, Object.keys(s.environment)] as [string, string[]]),
      ...pods.flatMap(([name, pod]) => pod.containers.map((c) => [`k8s ${name}/${c.name}`, envNamesOf(c)] as [string, string[]])),
    ]);
    for (const [where, names] of set) {
      expect(names.length, where).toBeGreaterThan(0);
      for (const n of names) expect(specVars.has(n), `${where} sets ${n}, which is not in src/config/spec.ts`).toBe(true);
    }
  });

  it("their values parse: the image, each compose service and the ConfigMap load as a configuration", () => {
    const publicUrl = "https://rampart.example.com";
    expect(() => loadConfig(docker.env)).not.toThrow();
    for (const [name, s] of rampartServices) {
      const env = { ...envFile(), ...s.environment, RAMPART_PUBLIC_URL: publicUrl };
      expect(() => loadConfig(env), name).not.toThrow();
    }
    expect(() => loadConfig(configMap)).not.toThrow();
    // The compose public URL comes from the operator's environment, and is required.
    expect(instances[0]![1].environment.RAMPART_PUBLIC_URL).toMatch(/^\$\{RAMPART_PUBLIC_URL:\?.+\}$/);
  });

  it("the containers listen on every interface, on the port the probes, HAProxy and Prometheus use", () => {
    const composeEnv = instances.map(([, s]) => ({ ...s.environment, RAMPART_PUBLIC_URL: "https://rampart.example.com" }) as Record<string, string>);
    for (const env of [docker.env, configMap, ...composeEnv]) {
      expect(loadConfig(env).host).toBe("0.0.0.0");
      expect(loadConfig(env).port).toBe(8080);
    }
    expect(docker.expose).toEqual(["8080"]);
    for (const [name] of instances) {
      expect(haproxy).toMatch(new RegExp(`^\\s*server ${name} ${name}:8080 check`, "m"));
      expect(prometheus.scrape_configs[0].static_configs[0].targets).toContain(`${name}:8080`);
    }
    const deployment = one("Deployment");
    const container = deployment.spec.template.spec.containers[0]!;
    expect(container.ports).toEqual([{ name: "http", containerPort: Number(configMap.PORT) }]);
    expect(one("Service").spec.ports[0].targetPort).toBe("http");
  });
});

describe("production preflight passes with the files' configuration and generated secrets", { timeout: 120_000 }, () => {
  it("compose: a Rampart instance's environment plus the secret files", async () => {
    const s = instances[0]![1];
    const env = { ...envFile(), ...s.environment, RAMPART_PUBLIC_URL: "https://rampart.example.com", RAMPART_SECRETS: `files:${secretsDir}` };
    // Compose mounts every secret at /run/secrets/<name>; here they are the generated files.
    expect(s.secrets).toContain("db-ca.pem");
    env.DATABASE_SSL_CA = env.DATABASE_SSL_CA.replace(/^\/run\/secrets\//, `${secretsDir}/`);
    const r = await runMain(["preflight"], env);
    expect(r.stderr + r.stdout).toContain("preflight passed");
    expect(r.code).toBe(0);
  });

  it("Kubernetes: the ConfigMap, the connection secrets and the mounted key files", async () => {
    const { DATABASE_URL, REDIS_URL, SMTP_URL } = envFile();
    // The Secret rampart-keys holds the files generate.sh makes, db-ca.pem among them, mounted at /run/secrets/rampart.
    const env: Record<string, string> = { ...configMap, DATABASE_URL: DATABASE_URL!, REDIS_URL: REDIS_URL!, SMTP_URL: SMTP_URL!, RAMPART_SECRETS: `files:${secretsDir}` };
    env.DATABASE_SSL_CA = env.DATABASE_SSL_CA!.replace(/^\/run\/secrets\/rampart\//, `${secretsDir}/`);
    const r = await runMain(["preflight"], env);
    expect(r.stderr + r.stdout).toContain("preflight passed");
    expect(r.code).toBe(0);
  });
});

describe("probes and routes", () => {
  let t: TestApp;
  const metricsToken = "deploy-test-metrics-token-0123456789";
  beforeAll(async () => {
    t = await createTestApp("embedded", { env: { RAMPART_SECRET_METRICS_TOKEN: metricsToken } });
  });
  afterAll(async () => t.close());

  it("Kubernetes probes: startup and liveness on /health/live, readiness on /health/ready, all on the http port", async () => {
    const c = one("Deployment").spec.template.spec.containers[0]!;
    expect(c.startupProbe?.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(c.livenessProbe?.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(c.readinessProbe?.httpGet).toEqual({ path: "/health/ready", port: "http" });
    for (const path of ["/health/live", "/health/ready"]) {
      const res = await call(t.app, { method: "GET", url: path });
      expect(res.statusCode, path).toBe(200);
      expect(JSON.parse(res.body).status).toBe("pass");
    }
  });

  it("the image HEALTHCHECK fetches /health/live on PORT; HAProxy checks /health/ready; Prometheus scrapes /metrics with the token", async () => {
    expect(docker.healthcheck).toContain("'/health/live'");
    expect(docker.healthcheck).toContain("process.env.PORT");
    expect(haproxy).toMatch(/^\s*http-check send meth GET uri \/health\/ready /m);
    expect(haproxy).toMatch(/^\s*http-check expect status 200$/m);
    const job = prometheus.scrape_configs[0];
    expect(job.metrics_path).toBe("/metrics");
    expect(job.authorization).toEqual({ type: "Bearer", credentials_file: "/run/secrets/metrics-token" });
    expect(compose.services.prometheus.secrets).toContain("metrics-token");
    const scraped = await t.app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${metricsToken}` } });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.body).toContain("http_server_request_duration_seconds");
  });

  it("Prometheus loads the alert rules from where compose mounts them", () => {
    const mounts: string[] = compose.services.prometheus.volumes;
    for (const f of prometheus.rule_files) expect(mounts).toContain(`./prometheus/${f.split("/").pop()}:${f}:ro`);
  });
});

describe("commands", () => {
  const names = commands.map((c) => c.name);

  it("the image installs optional peers of package.json: the embedded database and the /docs UI", () => {
    const peers = (JSON.parse(read("package.json")) as { peerDependencies: Record<string, string> }).peerDependencies;
    const installed = /^ARG OPTIONAL_PEERS="([^"]*)"$/m.exec(read("Dockerfile"))![1]!.split(/\s+/);
    expect(installed).toEqual(expect.arrayContaining(["@electric-sql/pglite", "@fastify/swagger-ui"]));
    for (const p of installed) expect(peers[p], p).toBeDefined();
  });

  it("the image runs the CLI entry point, serve by default", () => {
    expect(docker.entrypoint).toEqual(["node", "dist/cli/main.js"]);
    expect(read("tsconfig.build.json")).toContain('"rootDir": "src"');
    expect(read("src/cli/main.ts")).toContain('from "./dispatch.js"');
    expect(docker.cmd).toEqual(["serve"]);
    expect(names).toContain("serve");
  });

  it("the migration Job and the compose one-shot run `rampart migrate`, and instances start after it", () => {
    expect(names).toContain("migrate");
    const job = one("Job");
    expect(job.spec.template.spec.containers[0]!.args).toEqual(["migrate"]);
    expect(compose.services.migrate.command).toEqual(["migrate"]);
    expect(compose.services.migrate.restart).toBe("no");
    expect(instances.length).toBe(3);
    for (const [name, s] of instances) {
      expect(s.depends_on.migrate, name).toEqual({ condition: "service_completed_successfully" });
      expect(s.command, name).toBeUndefined();
    }
    for (const c of one("Deployment").spec.template.spec.containers) expect(names).toContain(c.args?.[0]);
  });
});

describe("privileges", () => {
  it("the image runs as a numeric non-root user and declares the data directory a volume", () => {
    expect(docker.user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(docker.volumes).toEqual([docker.env.RAMPART_DATA_DIR]);
  });

  it("Kubernetes pods meet the restricted profile and write only to the data directory and /tmp", () => {
    // A pod's environment is the image's ENV overlaid with the ConfigMap.
    const effective = loadConfig({ ...docker.env, ...configMap });
    expect(effective.dataDir).toBe("/var/lib/rampart");
    const writable = new Set([effective.dataDir, effective.filesDir, "/tmp"]);
    for (const [name, pod] of pods) {
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.runAsUser, name).toBeGreaterThan(0);
      expect(pod.securityContext?.seccompProfile?.type, name).toBe("RuntimeDefault");
      expect(pod.automountServiceAccountToken, name).toBe(false);
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.hostPID ?? false).toBe(false);
      for (const v of pod.volumes ?? []) expect(v.hostPath, `${name} volume ${v.name}`).toBeUndefined();
      for (const c of pod.containers) {
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot, c.name).toBe(true);
        expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
        expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
        expect(sc.privileged ?? false, c.name).toBe(false);
        expect(sc.capabilities?.drop, c.name).toEqual(["ALL"]);
        expect(sc.capabilities?.add, c.name).toBeUndefined();
        expect(c.resources?.requests?.cpu && c.resources?.limits?.memory, `${c.name} resources`).toBeTruthy();
        for (const m of c.volumeMounts ?? []) if (!m.readOnly) expect(writable.has(m.mountPath), `${name} writes ${m.mountPath}`).toBe(true);
      }
    }
  });

  it("compose runs Rampart with a read-only root file system and a /tmp tmpfs", () => {
    for (const [name, s] of rampartServices) {
      expect(s.read_only, name).toBe(true);
      expect(s.tmpfs, name).toEqual(["/tmp"]);
    }
  });

  it("the PodDisruptionBudget, the autoscaler and the Service select the Deployment's pods", () => {
    const d = one("Deployment");
    const labels = d.spec.template.metadata.labels;
    expect(one("PodDisruptionBudget").spec.selector.matchLabels).toEqual(labels);
    expect(one("Service").spec.selector).toEqual(labels);
    const hpa = one("HorizontalPodAutoscaler").spec;
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    expect(Number(configMap.RAMPART_INSTANCES)).toBeGreaterThan(1);
  });
});

describe("secrets are referenced, never inlined", () => {
  it("no file sets a secret variable to a value; Kubernetes takes them from Secrets by name", () => {
    for (const v of secretVars) {
      expect(docker.env[v], `Dockerfile ${v}`).toBeUndefined();
      expect(configMap[v], `ConfigMap ${v}`).toBeUndefined();
      for (const [name, s] of rampartServices) expect(s.environment[v], `compose ${name} ${v}`).toBeUndefined();
    }
    for (const [name, pod] of pods) {
      for (const c of pod.containers) {
        for (const e of c.env ?? []) {
          if (secretVars.includes(e.name)) {
            expect(e.value, `${name} ${e.name}`).toBeUndefined();
            expect(e.valueFrom?.secretKeyRef?.name, `${name} ${e.name}`).toBe("rampart-connection");
          }
        }
      }
    }
    expect(byKind("Secret"), "a Secret object with data in the manifests").toEqual([]);
    expect(configMap.RAMPART_SECRETS).toBe("files:/run/secrets/rampart");
    const pod = one("Deployment").spec.template.spec as PodSpec;
    const keys = pod.volumes!.find((v) => v.secret)!;
    expect(keys.secret!.secretName).toBe("rampart-keys");
    const mount = pod.containers[0]!.volumeMounts!.find((m) => m.name === keys.name)!;
    expect(mount).toMatchObject({ mountPath: "/run/secrets/rampart", readOnly: true });
  });

  it("compose mounts secrets from deploy/secrets, which git and the image build context ignore", () => {
    for (const [name, s] of Object.entries(compose.secrets)) expect(s.file, name).toMatch(/^\.\/secrets\/[a-z.-]+$/);
    for (const [name, s] of rampartServices) expect(s.env_file, name).toEqual(["./secrets/rampart.env"]);
    expect(read("deploy/secrets/.gitignore").split("\n")).toContain("*");
    // The build context starts from nothing and lists what the build needs.
    expect(read(".dockerignore").split("\n").filter((l) => l !== "" && !l.startsWith("#"))[0]).toBe("**");
    // Every file compose mounts is one generate.sh makes.
    for (const s of Object.values(compose.secrets)) expect(() => generated(s.file.slice("./secrets/".length))).not.toThrow();
    expect(generated("master-key").trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("no deployment file holds a credential: no URL with a password, no key-length hex, no RAMPART_SECRET_* variable", () => {
    const files = ["Dockerfile", "deploy/compose.yaml", "deploy/haproxy/haproxy.cfg", "deploy/prometheus/prometheus.yml", ...readdirSync(join(ROOT, "deploy/k8s")).map((f) => `deploy/k8s/${f}`)];
    const generatedValues = ["master-key", "blind-index-key", "metrics-token", "postgres-password", "redis-password"].map((n) => generated(n).trim());
    for (const f of files) {
      const text = read(f);
      expect(secretValuesIn(text), f).toEqual([]);
      expect(text, f).not.toMatch(/RAMPART_SECRET_[A-Z]/);
      for (const v of generatedValues) expect(text.includes(v), f).toBe(false);
    }
  });
});

describe("HAProxy", () => {
  it("haproxy -c accepts the configuration", () => {
    const dir = mkdtempSync(join(tmpdir(), "rampart-haproxy-"));
    try {
      // The certificate path and Docker's resolver exist only inside the container.
      const cfg = haproxy.replace("/run/secrets/tls.pem", join(secretsDir, "tls.pem")).replace("127.0.0.11:53", "127.0.0.1:53");
      writeFileSync(join(dir, "haproxy.cfg"), cfg);
      const out = execFileSync("haproxy", ["-c", "-f", join(dir, "haproxy.cfg")], { encoding: "utf8", stdio: "pipe" });
      expect(out).toContain("Configuration file is valid");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("trusts forwarded headers from HAProxy's address only", () => {
    const address = compose.services.haproxy.networks.backend.ipv4_address;
    for (const [name, s] of instances) expect(s.environment.TRUST_PROXY, name).toBe(address);
  });
});
