/**
 * The separate metrics listener of METRICS_PORT: a bare HTTP server bound to
 * 127.0.0.1 (never a public interface) that answers `GET /metrics` without a
 * token, for a Prometheus agent or sidecar on the same host. Nothing else is
 * served on it, and it shares no hooks with the API server.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics.js";

/** Loopback only: the port is unauthenticated, so it must not be reachable from other hosts. */
export const METRICS_HOST = "127.0.0.1";

export interface MetricsListener {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

export interface MetricsListenerOptions {
  metrics: Pick<Metrics, "render" | "contentType">;
  /** 0 picks a free port. */
  port: number;
  /** Called when rendering fails (the scrape gets a 500 without details). */
  onError?: (err: unknown) => void;
}

/** Starts the listener; resolves once it accepts connections. */
export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const { metrics } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: unknown) => {
        options.onError?.(err);
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("metrics unavailable\n");
      },
    );
  });
  // A scraper's keep-alive connection must not hold shutdown open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, METRICS_HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${METRICS_HOST}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
