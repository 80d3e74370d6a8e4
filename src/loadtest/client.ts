/**
 * The load generator's HTTP client: node:http (node:https for an https URL)
 * with one keep-alive Agent and no socket limit.
 *
 * Why not global fetch: on this project's machines a node:http keep-alive
 * client drives a bare node:http hello-world at about 25,000 requests per
 * second from one process, fetch (undici behind WHATWG streams) at about
 * 4,000-6,500 — the generator's ceiling is what bounds the arrival rate a
 * single host can offer without measuring its own queueing, so the faster
 * client wins. No socket limit: a request waiting for a free socket in the
 * Agent would be the generator's queueing, not the server's (it would still
 * be counted, since latency runs from the scheduled time, but it would not
 * be load on the server).
 *
 * Every request has a deadline (`timeoutMs`, from the send); the body is read
 * up to `maxBodyBytes` so a runaway answer cannot exhaust the generator.
 */
import http from "node:http";
import https from "node:https";
import { VERSION } from "../version.js";

export interface ClientResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class ClientRequestError extends Error {
  override readonly name = "ClientRequestError";
  /** `timeout`, or the socket error code (`ECONNREFUSED`, `ECONNRESET`, ...). */
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  timeoutMs: number;
  maxBodyBytes?: number;
}

export interface RequestSpec {
  method: "GET" | "POST" | "DELETE";
  /** Path under the base URL (`/v1/me`). */
  path: string;
  /** A JSON body. */
  json?: unknown;
  /** Sent as `Authorization: Bearer <credential>` (an access token or an API key). */
  bearer?: string;
}

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly prefix: string;
  private readonly hostname: string;
  private readonly maxBody: number;

  constructor(
    readonly baseUrl: URL,
    private readonly options: ClientOptions,
  ) {
    const secure = baseUrl.protocol === "https:";
    this.transport = secure ? https : http;
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: Infinity }) : new http.Agent({ keepAlive: true, maxSockets: Infinity });
    this.prefix = baseUrl.pathname.replace(/\/+$/, "");
    // URL keeps the brackets of an IPv6 literal ([::1]); the socket wants the address.
    this.hostname = baseUrl.hostname.replace(/^\[(.*)\]$/, "$1");
    this.maxBody = options.maxBodyBytes ?? 1 << 20;
  }

  request(spec: RequestSpec): Promise<ClientResponse> {
    const body = spec.json === undefined ? undefined : Buffer.from(JSON.stringify(spec.json));
    const headers: http.OutgoingHttpHeaders = { "user-agent": `rampart-loadtest/${VERSION}`, accept: "application/json" };
    if (body) {
      headers["content-type"] = "application/json";
      headers["content-length"] = body.length;
    }
    if (spec.bearer) headers.authorization = `Bearer ${spec.bearer}`;
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        { protocol: this.baseUrl.protocol, hostname: this.hostname, port: this.baseUrl.port, path: this.prefix + spec.path, method: spec.method, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size <= this.maxBody) chunks.push(chunk);
          });
          res.on("end", () => {
            clearTimeout(deadline);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", (err) => fail(err));
          // Cut mid-body (the deadline, a reset): the request's error names why; this catches a silent close.
          res.on("close", () => {
            if (!res.complete) fail(new ClientRequestError("ECONNRESET", "the connection closed before the answer was complete"));
          });
        },
      );
      let failed = false;
      const fail = (err: Error & { code?: string }) => {
        if (failed) return;
        failed = true;
        clearTimeout(deadline);
        reject(err instanceof ClientRequestError ? err : new ClientRequestError(err.code ?? "network", err.message));
      };
      const deadline = setTimeout(() => {
        fail(new ClientRequestError("timeout", `no complete answer within ${this.options.timeoutMs} ms`));
        req.destroy();
      }, this.options.timeoutMs);
      req.on("error", fail);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The `data` of a success envelope, or the `code` and `message` of an error envelope; undefined fields for anything else. */
export function envelope(res: ClientResponse): { data?: Record<string, unknown>; code?: string; message?: string } {
  try {
    const parsed = JSON.parse(res.body) as { data?: unknown; code?: unknown; message?: unknown };
    return {
      ...(parsed.data && typeof parsed.data === "object" ? { data: parsed.data as Record<string, unknown> } : {}),
      ...(typeof parsed.code === "string" ? { code: parsed.code } : {}),
      ...(typeof parsed.message === "string" ? { message: parsed.message } : {}),
    };
  } catch {
    return {};
  }
}

/** Seconds of a `Retry-After` header (delta form), or undefined. */
export function retryAfterSeconds(res: ClientResponse): number | undefined {
  const raw = res.headers["retry-after"];
  const n = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
