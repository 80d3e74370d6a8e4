import { buildApp } from "./app.js";

const app = await buildApp();
const { host } = app.rampart.config;
await app.listen({ port: Number(process.env.PORT ?? 3000), host });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    // Requests in flight finish first (up to SHUTDOWN_TIMEOUT_MS), then the runtime closes.
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
