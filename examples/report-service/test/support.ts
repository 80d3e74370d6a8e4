/**
 * What the test files share: the environment of one test file, a fake
 * language model on a loopback port, sign-up, and a log capture.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, InjectOptions } from "fastify";

/**
 * Sets the environment `buildApp` reads, with a fresh data directory; returns
 * what removes it. DATABASE_URL / REDIS_URL, when the runner sets them, are
 * used as given.
 */
export async function useTestEnvironment(vars: Record<string, string>): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), "report-service-"));
  Object.assign(process.env, {
    RAMPART_DATA_DIR: dataDir,
    // With PostgreSQL every test file of a run shares one database, whose key rows open only with the master key that
    // wrapped them: fixed test keys instead of the development keys each fresh data directory would generate, and
    // one token issuer (a shared database refuses to start without these).
    RAMPART_PUBLIC_URL: "http://reports.test",
    RAMPART_SECRET_MASTER_KEY: testKey("master-key"),
    RAMPART_SECRET_BLIND_INDEX_KEY: testKey("blind-index-key"),
    ...vars,
  });
  return () => rm(dataDir, { recursive: true, force: true });
}

const testKey = (name: string) => createHash("sha256").update(`report-service test ${name}`).digest("hex");

export type Behaviour = { kind: "complete"; tokens: number } | { kind: "status"; status: number } | { kind: "stall" };

export interface FakeLlm {
  /** The LLM_URL to give the app. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: { authorization: string | undefined; body: { model: string; max_tokens: number; messages: { role: string; content: string }[] } }[];
  /** How requests are answered once `queue` is empty. */
  behaviour: Behaviour;
  /** Answers for the next requests, one each, before `behaviour` applies. */
  queue: Behaviour[];
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible `POST /chat/completions` on 127.0.0.1: answers a
 * completion with `usage.total_tokens`, an error status, or nothing at all.
 * With `apiKey` it answers 401 to a request without that bearer key.
 */
export async function startFakeLlm(apiKey?: string): Promise<FakeLlm> {
  const fake: FakeLlm = {
    url: "",
    requests: [],
    behaviour: { kind: "complete", tokens: 42 },
    queue: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const send = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") return send(res, 404, { error: { message: "not found" } });
      const body = JSON.parse(raw) as FakeLlm["requests"][number]["body"];
      fake.requests.push({ authorization: req.headers.authorization, body });
      if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`) return send(res, 401, { error: { message: "invalid api key" } });
      const behaviour = fake.queue.shift() ?? fake.behaviour;
      if (behaviour.kind === "stall") return; // never answers; the connection stays open until the client gives up
      if (behaviour.kind === "status") return send(res, behaviour.status, { error: { message: `status ${behaviour.status}` } });
      const topic = body.messages.at(-1)?.content ?? "";
      send(res, 200, {
        id: `chatcmpl-${randomUUID()}`,
        object: "chat.completion",
        model: "fake-model-1",
        choices: [{ index: 0, message: { role: "assistant", content: `# Report\n\n${topic}: all is well.` }, finish_reason: "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: behaviour.tokens - 10, total_tokens: behaviour.tokens },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(fake, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` });
}

/** Registers a fresh user and logs in; `ip` keeps each caller in a rate-limit bucket of its own. */
export async function signUp(app: FastifyInstance, ip: string): Promise<{ token: string; userId: string }> {
  const credentials = { email: `${randomUUID()}@example.com`, password: `correct horse battery staple ${randomUUID()}` };
  const registered = await app.inject({ method: "POST", url: "/v1/auth/register", payload: credentials, remoteAddress: ip });
  if (registered.statusCode !== 202) throw new Error(`register: ${registered.statusCode} ${registered.body}`);
  const login = await app.inject({ method: "POST", url: "/v1/auth/login", payload: credentials, remoteAddress: ip });
  if (login.statusCode !== 200) throw new Error(`login: ${login.statusCode} ${login.body}`);
  const data = login.json<{ data: { accessToken: string; user: { id: string } } }>().data;
  return { token: data.accessToken, userId: data.user.id };
}

/** A request with the caller's access token. */
export function as(app: FastifyInstance, token: string) {
  return (options: Omit<InjectOptions, "headers"> & { headers?: Record<string, string> }) =>
    app.inject({ ...options, headers: { authorization: `Bearer ${token}`, ...options.headers } });
}

/** A log destination that keeps every line, parsed. */
export function captureLogs(): { destination: { write(line: string): void }; lines: Record<string, unknown>[]; text: () => string } {
  const raw: string[] = [];
  return {
    destination: { write: (line) => void raw.push(line) },
    get lines() {
      return raw.flatMap((chunk) => chunk.split("\n")).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(""),
  };
}
