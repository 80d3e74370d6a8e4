/**
 * The load-test command's own packages, optional peers of Rampart: a
 * deployment that never runs `rampart loadtest` does not install them.
 * hdr-histogram-js (percentiles) is CommonJS and loaded synchronously on first
 * use; uplot (the report's charts) is read as files into the HTML report.
 * `assertLoadtestPackages` runs before a load test starts, so a missing one
 * is named at once rather than after the run.
 */
import { createRequire } from "node:module";
import { OptionalPackageMissing } from "../config/optional-package.js";

/**
 * The part of hdr-histogram-js's histogram the load test uses. Declared here,
 * not taken from the package, so that Rampart's published declarations never
 * name an optional peer (an app without it still type-checks).
 */
export interface Histogram {
  recordValue(value: number): void;
  getValueAtPercentile(percentile: number): number;
  reset(): void;
  readonly totalCount: number;
  readonly maxValue: number;
  readonly mean: number;
}

/** The part of hdr-histogram-js's module the load test uses. */
export interface HdrLibrary {
  build(options: { numberOfSignificantValueDigits: 1 | 2 | 3 | 4 | 5; lowestDiscernibleValue: number; highestTrackableValue: number; autoResize: boolean }): Histogram;
}

const FEATURE = "rampart loadtest";
const require = createRequire(import.meta.url);
let hdrLib: HdrLibrary | undefined;

function notFound(err: unknown, name: string): boolean {
  return (err as { code?: unknown }).code === "MODULE_NOT_FOUND" && String((err as Error).message).includes(`'${name}`);
}

/** hdr-histogram-js, loaded once. @throws OptionalPackageMissing when it is not installed. */
export function hdr(): HdrLibrary {
  if (hdrLib === undefined) {
    try {
      hdrLib = require("hdr-histogram-js") as HdrLibrary;
    } catch (err) {
      if (notFound(err, "hdr-histogram-js")) throw new OptionalPackageMissing(FEATURE, "hdr-histogram-js", { cause: err });
      throw err;
    }
  }
  return hdrLib;
}

/** Path of a file of uplot's distribution. @throws OptionalPackageMissing when uplot is not installed. */
export function uplotFile(file: string): string {
  try {
    return require.resolve(`uplot/dist/${file}`);
  } catch (err) {
    if (notFound(err, "uplot")) throw new OptionalPackageMissing(FEATURE, "uplot", { cause: err });
    throw err;
  }
}

/** Both packages are installed (the command calls this before it starts). */
export function assertLoadtestPackages(): void {
  hdr();
  uplotFile("uPlot.iife.min.js");
}
