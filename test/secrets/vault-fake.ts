/**
 * A local stand-in for HashiCorp Vault (Vault cannot run here), on node:http
 * and 127.0.0.1: the KV v2 read (`GET /v1/<mount>/data/<path>[?version=N]`)
 * and metadata (`GET /v1/<mount>/metadata/<path>`) endpoints, AppRole login
 * (`POST /v1/auth/approle/login`) and token renewal
 * (`POST /v1/auth/token/renew-self`), with the response shapes of Vault's API
 * documentation. Tokens can be revoked to exercise re-authentication, and
 * `faults` scripts outages (hang, 5xx, reset) before a request is handled.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Faults } from "../helpers/faults.js";

interface Version {
  data: Record<string, unknown>;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface FakeRequest {
  method: string;
  path: string;
  token: string | undefined;
  namespace: string | undefined;
}

export class VaultFake {
  readonly requests: FakeRequest[] = [];
  readonly kv = new Map<string, Version[]>();
  readonly tokens = new Set<string>();
  readonly faults = new Faults();
  roleId = "role-id-123456";
  secretId = "secret-id-abcdef";
  leaseSeconds = 3600;
  logins = 0;
  renewals = 0;
  /** When set, every KV read answers with this raw body and status (malformed responses). */
  rawKvResponse: { status: number; body: string } | undefined;
  /** When set, every KV metadata read answers with this raw body and status. */
  rawMetadataResponse: { status: number; body: string } | undefined;
  private server: Server | undefined;
  private issued = 0;

  get addr(): string {
    const a = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  /** Writes a new version of `<mount>/<path>` (as `vault kv put` does). */
  put(mountAndPath: string, data: Record<string, unknown>): number {
    const versions = this.kv.get(mountAndPath) ?? [];
    versions.push({ data, created_time: new Date(Date.UTC(2026, 0, 1) + versions.length * 86_400_000).toISOString(), deletion_time: "", destroyed: false });
    this.kv.set(mountAndPath, versions);
    return versions.length;
  }

  count(method: string, prefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async stop(): Promise<void> {
    this.faults.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private issue(): string {
    const token = `hvs.fake-token-${++this.issued}-${"x".repeat(8)}`;
    this.tokens.add(token);
    return token;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.faults.intercept(req, res)) return;
    const url = new URL(req.url ?? "/", "http://vault");
    const token = req.headers["x-vault-token"] as string | undefined;
    this.requests.push({ method: req.method ?? "", path: url.pathname, token, namespace: req.headers["x-vault-namespace"] as string | undefined });
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const send = (status: number, json: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
    };
    const auth = (lease: string): unknown => ({ auth: { client_token: lease, lease_duration: this.leaseSeconds, renewable: true, policies: ["default"] } });

    if (req.method === "POST" && url.pathname === "/v1/auth/approle/login") {
      const { role_id, secret_id } = JSON.parse(body || "{}") as { role_id?: string; secret_id?: string };
      if (role_id !== this.roleId || secret_id !== this.secretId) return send(400, { errors: ["invalid role or secret ID"] });
      this.logins++;
      return send(200, auth(this.issue()));
    }
    if (token === undefined || !this.tokens.has(token)) return send(403, { errors: ["permission denied"] });
    if (req.method === "POST" && url.pathname === "/v1/auth/token/renew-self") {
      this.renewals++;
      return send(200, auth(token));
    }
    const kv = /^\/v1\/([^/]+)\/(data|metadata)\/(.+)$/.exec(url.pathname);
    if (req.method === "GET" && kv) {
      const [, mount, kind, path] = kv;
      const versions = this.kv.get(`${mount}/${path}`);
      if (kind === "data" && this.rawKvResponse) {
        res.writeHead(this.rawKvResponse.status, { "content-type": "application/json" }).end(this.rawKvResponse.body);
        return;
      }
      if (kind === "metadata" && this.rawMetadataResponse) {
        res.writeHead(this.rawMetadataResponse.status, { "content-type": "application/json" }).end(this.rawMetadataResponse.body);
        return;
      }
      if (versions === undefined) return send(404, { errors: [] });
      if (kind === "metadata") {
        const meta = Object.fromEntries(versions.map((v, i) => [String(i + 1), { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed }]));
        return send(200, { data: { current_version: versions.length, oldest_version: 1, versions: meta } });
      }
      const n = url.searchParams.has("version") ? Number(url.searchParams.get("version")) : versions.length;
      const v = versions[n - 1];
      if (v === undefined) return send(404, { errors: [] });
      const metadata = { version: n, created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed, custom_metadata: null };
      return send(200, { request_id: "r", lease_id: "", renewable: false, lease_duration: 0, data: { data: v.data, metadata } });
    }
    return send(404, { errors: [] });
  }
}
