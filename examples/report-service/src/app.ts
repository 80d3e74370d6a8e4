/**
 * The report service: Rampart for identity, protections and quotas, plus the
 * app's own reports, error codes, security events, quota meter and table.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { createRuntime, loadConfig, rampart, rampartServerOptions, type RuntimeOptions } from "rampart";
import { createLlm } from "./llm.js";
import { migrations, reportRoutes } from "./reports.js";
import { loadLlmSettings } from "./settings.js";

// Typing the app's names: a typo in a code, an event or a meter is a type error.
declare module "rampart" {
  interface AppErrorCodes {
    LLM_TIMEOUT: true;
    LLM_UNAVAILABLE: true;
    LLM_FAILED: true;
  }
  interface AppEvents {
    "report.generated": true;
    "report.failed": true;
  }
  interface AppMeters {
    "llm.tokens": true;
  }
}

export interface BuildAppOptions {
  /** Where log lines go (default stdout): tests read them from a stream of their own. */
  logDestination?: RuntimeOptions["logDestination"];
}

export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  // Both read before anything opens, so a bad setting stops the start with one line naming it.
  const config = loadConfig(process.env);
  const llmSettings = loadLlmSettings(process.env);
  // The runtime is built first so the instance gets the hardening only constructor options can give
  // (trace ids as request ids, strict validation, the redacting logger); the app's tables migrate with it.
  const runtime = await createRuntime(config, { migrations, ...(options.logDestination ? { logDestination: options.logDestination } : {}) });
  const app = Fastify(rampartServerOptions(runtime));
  // Added before the plugin's own hooks, so it runs after them: requests in flight finish before the stores close.
  app.addHook("onClose", () => runtime.close());
  try {
    await app.register(rampart, {
      runtime,
      routes: { identity: true, quotas: true },
      errors: {
        LLM_TIMEOUT: { status: 504, title: "LLM timeout", message: "The language model did not answer in time; try again." },
        LLM_UNAVAILABLE: { status: 503, title: "LLM unavailable", message: "The language model is unavailable; try again later." },
        LLM_FAILED: { status: 502, title: "LLM failed", message: "The language model could not produce this report." },
      },
      events: {
        // Audited: who spent how many tokens on which report stays in the tamper-evident log.
        "report.generated": { audited: true, description: "A report was generated and stored." },
        "report.failed": { audited: false, level: "warn", description: "The language model did not produce a report." },
      },
      quotas: { meters: ["llm.tokens"] },
    });
    await app.register(reportRoutes, { llm: createLlm(runtime, llmSettings) });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  return app;
}
