import { loadConfig } from "../src/config/index.js";
import { serve } from "../src/server/serve.js";
const s = await serve(loadConfig({ ...process.env, PORT: "18081", RAMPART_DATA_DIR: "/tmp/rampart-scratch", LOG_LEVEL: "warn" }), { handleSignals: true });
process.stdout.write(`URL ${s.url}\n`);
