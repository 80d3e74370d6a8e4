/** The error `serve` throws in production when preflight finds problems; its own module, so the CLI can recognise it without loading the server. */
import type { ConfigProblem } from "../http/preflight.js";

export type PreflightProblem = ConfigProblem;

export class PreflightError extends Error {
  override readonly name = "PreflightError";
  constructor(readonly problems: readonly PreflightProblem[]) {
    super(`refusing insecure production settings:\n${formatProblems(problems)}`);
  }
}

/** One problem per line: `  - VARIABLE: problem`. */
export function formatProblems(problems: readonly PreflightProblem[]): string {
  return problems.map((p) => `  - ${p.variable}: ${p.problem}`).join("\n");
}
