/** The configuration table (markdown) as the README shows it, derived from the spec. */
import { configSpec, type VarSpec } from "./spec.js";

export function configTableRows(): string[] {
  const rows = ["| variable | default | description |", "|---|---|---|"];
  for (const spec of Object.values(configSpec) as VarSpec<unknown>[]) {
    const def = spec.default === undefined ? "—" : `\`${spec.default}\``;
    rows.push(`| \`${spec.env}\`${spec.secret ? " (secret)" : ""} | ${def} | ${spec.description} |`);
  }
  return rows;
}
