// Preloaded (`--import`, through NODE_OPTIONS) into every child process of a
// coverage run: records V8 block coverage of the process and, when it exits,
// writes the coverage of Rampart's own modules (src/) with the exact code V8
// ran, into RAMPART_CHILD_COVERAGE_DIR; scripts/coverage.mjs turns it into
// Istanbul coverage through the code's source map.
//
// Node's own NODE_V8_COVERAGE keeps only line lengths of the code, and tsx
// emits whitespace-minified code (a module on one or two lines), from which no
// line or branch can be placed; the code itself, fetched from the inspector,
// lets each covered range be mapped back to the TypeScript it came from.
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.env.RAMPART_CHILD_COVERAGE_DIR;
const srcPrefix = pathToFileURL(join(import.meta.dirname, "..", "..", "src")).href + "/";

if (dir) {
  const session = new Session();
  session.connect();
  // The in-process session answers synchronously, so the exit handler can still ask.
  const post = (method, params) => {
    let result;
    session.post(method, params, (err, r) => {
      if (err) throw err;
      result = r;
    });
    return result;
  };
  post("Profiler.enable");
  post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  post("Debugger.enable");
  process.on("exit", () => {
    const { result } = post("Profiler.takePreciseCoverage");
    const scripts = result
      .filter((s) => s.url.startsWith(srcPrefix) && !s.url.includes("/node_modules/"))
      .map((s) => ({ url: s.url, functions: s.functions, source: post("Debugger.getScriptSource", { scriptId: s.scriptId }).scriptSource }));
    if (scripts.length > 0) writeFileSync(join(dir, `child-${process.pid}-${Date.now()}.json`), JSON.stringify(scripts));
  });
}
