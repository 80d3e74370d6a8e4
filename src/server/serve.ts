/**
 * Runs the server: production preflight → runtime → schema policy → app → listen, and a graceful
 * shutdown on SIGTERM/SIGINT: first SHUTDOWN_DRAIN_MS of serving on while
 * `/health/ready` answers 503 (a load balancer stops sending meanwhile, so no
 * request meets a closed listener), then stop accepting, let in-flight
 * requests finish within SHUTDOWN_TIMEOUT_MS (then cut the rest), close
 * pools, exit 0.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/index.js";
import { aggregatedByPrimary, startMetricsListener, type MetricsListener } from "../metrics/index.js";
import { createRuntime, type Runtime, type RuntimeOptions } from "../runtime/index.js";
import { retentionJobs, Scheduler } from "../jobs/index.js";
import { buildApp, type BuildAppOptions } from "./app.js";
import { assertProductionReady } from "./preflight.js";

export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** `http://host:port` the server listens on. */
  url: string;
  /** `http://127.0.0.1:port` of the metrics listener when METRICS_PORT is set (src/metrics/listener.ts). */
  metricsUrl?: string;
  /** Graceful stop; idempotent. Resolves when pools are closed. */
  shutdown(reason?: string): Promise<void>;
}

export interface ServeOptions extends BuildAppOptions {
  runtime?: RuntimeOptions;
  /** Install SIGTERM/SIGINT handlers that shut down and exit the process with 0. */
  handleSignals?: boolean;
}

export async function serve(config: Config, options: ServeOptions = {}): Promise<RunningServer> {
  const started = performance.now();
  // Production refuses insecure settings, all listed at once, before anything starts (preflight.ts).
  if (config.nodeEnv === "production") await assertProductionReady(config, options.runtime);
  const runtime = await createRuntime(config, options.runtime);
  let app: FastifyInstance;
  let metricsListener: MetricsListener | undefined;
  try {
    app = await buildApp(runtime, options);
    await app.listen({ port: config.port, host: config.host });
    // METRICS_PORT: /metrics on loopback without a token instead of on the main port (in a cluster the primary's).
    const metrics = app.metrics;
    if (metrics && config.metricsPort !== undefined && !aggregatedByPrimary()) {
      metricsListener = await startMetricsListener({ metrics, port: config.metricsPort, onError: (err) => runtime.log.error({ err }, "rendering metrics failed") }).catch(async (err: unknown) => {
        await app.close();
        throw err;
      });
    }
  } catch (err) {
    await runtime.close();
    throw err;
  }
  // Retention purges and audit-head checkpoints, one instance at a time (leases).
  const scheduler = new Scheduler(runtime);
  scheduler.start(retentionJobs(runtime), { runNow: true });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  runtime.log.info(
    { url, ...(metricsListener ? { metricsUrl: metricsListener.url } : {}), database: runtime.db.kind, kv: runtime.kv.kind, startupMs: Math.round(performance.now() - started) },
    "rampart listening",
  );

  let stopping: Promise<void> | undefined;
  const shutdown = (reason = "shutdown"): Promise<void> => {
    stopping ??= (async () => {
      if (config.shutdownDrainMs > 0) {
        // Readiness fails from now on (the report names `shutdown`); every request is still served.
        runtime.healthChecks.push({ name: "shutdown", probe: () => Promise.resolve({ status: "fail", output: "shutting down" }) });
        runtime.log.info({ reason, drainMs: config.shutdownDrainMs }, "shutting down: readiness fails while requests are still served");
        await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
      }
      runtime.log.info({ reason, timeoutMs: config.shutdownTimeoutMs }, "shutting down: finishing in-flight requests");
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), config.shutdownTimeoutMs);
      });
      await metricsListener?.close();
      await scheduler.stop();
      const outcome = await Promise.race([app.close().then(() => "closed" as const), deadline]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        runtime.log.warn("shutdown timeout reached: closing remaining connections");
        app.server.closeAllConnections();
        await app.close().catch(() => undefined);
      }
      await runtime.close();
    })();
    return stopping;
  };

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          runtime.log.error({ err }, "error during shutdown");
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  return { app, runtime, url, ...(metricsListener ? { metricsUrl: metricsListener.url } : {}), shutdown };
}
