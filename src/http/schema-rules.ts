/**
 * Rules for request schemas (params, querystring, body): every input is
 * bounded before a handler sees it, so one request cannot smuggle unknown
 * fields (mass assignment) or make the server hold megabytes of one string or
 * an array of a million items. Checked when a route is registered; a route
 * that breaks a rule fails the build of the app, naming the route and where
 * in its schema the rule is broken.
 *
 * - objects: `additionalProperties: false`;
 * - strings: `maxLength` (DEFAULT_MAX_LENGTH where the field has no natural limit),
 *   unless `const` or `enum` already bound them;
 * - arrays: `maxItems` of at most MAX_ITEMS;
 * - no schema may accept anything (`{}`): give it a type.
 *
 * Response schemas are exempt: they describe what we send.
 */

/** The maxLength to give a free-text field that has no natural limit. */
export const DEFAULT_MAX_LENGTH = 500;

/** The largest maxItems a request array may declare. */
export const MAX_ITEMS = 100;

export interface SchemaViolation {
  /** JSON Pointer into the part's schema (`/properties/scopes/items`); empty for the root. */
  readonly pointer: string;
  readonly problem: string;
}

type Schema = Record<string, unknown>;

/** Resolves a `$ref` to a shared schema (added with addSchema); undefined when unknown. */
export type SchemaResolver = (ref: string) => unknown;

const COMBINATORS = ["anyOf", "oneOf", "allOf"] as const;

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function typesOf(s: Schema): Set<string> {
  const t = s.type;
  const types = new Set<string>(Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : typeof t === "string" ? [t] : []);
  if (types.size === 0) {
    // Keywords that only make sense for one type imply it, so `{ properties: {...} }` is still checked as an object.
    if ("properties" in s || "patternProperties" in s || "additionalProperties" in s || "required" in s) types.add("object");
    if ("items" in s || "prefixItems" in s || "maxItems" in s) types.add("array");
    if ("maxLength" in s || "minLength" in s || "pattern" in s || "format" in s) types.add("string");
  }
  return types;
}

/**
 * The rule violations of one request part's JSON schema; empty when it
 * follows every rule. `resolve` follows `$ref`s to shared schemas; an
 * unresolvable reference is a violation (it cannot be checked).
 */
export function requestSchemaViolations(schema: unknown, resolve: SchemaResolver = () => undefined): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  const seen = new Set<unknown>();

  const walk = (node: unknown, pointer: string): void => {
    if (node === true) {
      out.push({ pointer, problem: "accepts any value (true schema); give it a type" });
      return;
    }
    if (!isSchema(node)) return;
    if (typeof node.$ref === "string") {
      const target = resolve(node.$ref);
      if (target === undefined) out.push({ pointer, problem: `refers to '${node.$ref}', which is not a shared schema the check can follow` });
      // A reference cycle is checked once.
      else if (!seen.has(target)) {
        seen.add(target);
        walk(target, pointer);
      }
      return;
    }
    const bounded = "const" in node || Array.isArray(node.enum);
    const combined = COMBINATORS.some((k) => Array.isArray(node[k]));
    const types = typesOf(node);
    if (types.size === 0 && !bounded && !combined) {
      out.push({ pointer, problem: "accepts any value; give it a type" });
    }
    if (types.has("object")) {
      if (node.additionalProperties !== false) out.push({ pointer, problem: "is an object without additionalProperties: false" });
      if (isSchema(node.properties)) for (const [k, v] of Object.entries(node.properties)) walk(v, `${pointer}/properties/${escapePointer(k)}`);
      if (isSchema(node.patternProperties)) for (const [k, v] of Object.entries(node.patternProperties)) walk(v, `${pointer}/patternProperties/${escapePointer(k)}`);
    }
    if (types.has("string") && !bounded && typeof node.maxLength !== "number") {
      out.push({ pointer, problem: `is a string without maxLength (use ${DEFAULT_MAX_LENGTH} where the field has no natural limit)` });
    }
    if (types.has("array")) {
      if (typeof node.maxItems !== "number") out.push({ pointer, problem: `is an array without maxItems (at most ${MAX_ITEMS})` });
      else if (node.maxItems > MAX_ITEMS) out.push({ pointer, problem: `is an array with maxItems ${node.maxItems}, more than ${MAX_ITEMS}` });
      if (Array.isArray(node.items)) node.items.forEach((v, i) => walk(v, `${pointer}/items/${i}`));
      else if (node.items !== undefined) walk(node.items, `${pointer}/items`);
      if (Array.isArray(node.prefixItems)) node.prefixItems.forEach((v, i) => walk(v, `${pointer}/prefixItems/${i}`));
      if (isSchema(node.additionalItems)) walk(node.additionalItems, `${pointer}/additionalItems`);
    }
    for (const k of COMBINATORS) {
      const list = node[k];
      if (Array.isArray(list)) list.forEach((v, i) => walk(v, `${pointer}/${k}/${i}`));
    }
    for (const k of ["then", "else"] as const) if (node[k] !== undefined) walk(node[k], `${pointer}/${k}`);
  };

  walk(schema, "");
  return out;
}
