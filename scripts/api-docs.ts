/**
 * docs/api.md: every route's request and response bodies, written from the
 * OpenAPI document the server generates from its route schemas (so the page
 * cannot describe a body the server does not validate or serialize).
 * scripts/update-api-docs.mjs writes the page; test/docs/api-docs.test.ts
 * fails when it is out of date.
 *
 * The page depends on nothing but the schemas: the app is built from a fixed
 * configuration (the defaults, an embedded database in the given directory,
 * no secrets from the environment), and nothing host- or time-specific of the
 * document (its server URL, the version) is written.
 */
import { loadConfig } from "../src/config/index.js";
import { createRuntime } from "../src/runtime/index.js";
import { buildApp } from "../src/server/app.js";
import { requiresNote } from "../src/server/openapi.js";

type Schema = Record<string, unknown>;

interface Media {
  schema?: Schema;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: {
    schemas?: Record<string, Schema>;
    securitySchemes?: Record<string, { type?: string; scheme?: string; description?: string }>;
  };
}

/** The configuration the page is generated with: every default, an embedded database, quiet logs. */
function docsConfig(dataDir: string) {
  return loadConfig({ NODE_ENV: "development", LOG_LEVEL: "error", RAMPART_DATA_DIR: dataDir });
}

/**
 * The OpenAPI document of the app `rampart serve` runs (every route group on),
 * built on an embedded database in `dataDir` (created and migrated when empty).
 */
export async function openApiDocument(dataDir: string): Promise<OpenApiDocument> {
  // No secrets from the environment: a key or setting of the machine that runs this must not shape the page.
  const runtime = await createRuntime(docsConfig(dataDir), { env: {} });
  try {
    const app = await buildApp(runtime);
    try {
      const res = await app.inject({ method: "GET", url: "/openapi.json" });
      if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}: ${res.body}`);
      return res.json() as OpenApiDocument;
    } finally {
      await app.close();
    }
  } finally {
    await runtime.close();
  }
}

/** docs/api.md for the app built on `dataDir` (see openApiDocument). */
export async function apiDocs(dataDir: string): Promise<string> {
  return renderApiDocs(await openApiDocument(dataDir));
}

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];
/** Line length past which a literal union or an object is broken over several lines. */
const WIDTH = 80;

const isObject = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);
const code = (text: string) => `\`${text}\``;
/** A table cell: pipes escaped (also inside code spans, as GFM requires), one line. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const propertyName = (name: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name));

/** The heading anchor GitHub gives a heading's text (lower case, punctuation but - and _ dropped, spaces to -). */
function anchor(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The members of a union schema, or undefined when it is not one. */
function unionMembers(s: Schema): Schema[] | undefined {
  const members = (s.anyOf ?? s.oneOf) as unknown;
  return Array.isArray(members) ? members.filter(isObject) : undefined;
}

const isNull = (s: Schema) => s.type === "null";

/** What a value of `s` is, as a TypeScript-like type; objects over several lines (indented by `indent`) when `multiline`. */
function typeOf(s: Schema, indent: string, multiline: boolean): string {
  if (typeof s.$ref === "string") return decodeURIComponent(s.$ref.slice(s.$ref.lastIndexOf("/") + 1));
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return union(s.enum.map((v) => JSON.stringify(v)), indent, multiline);
  const members = unionMembers(s);
  if (members) {
    const types = [...new Set(members.map((m) => typeOf(m, indent, multiline)))];
    return union(types, indent, multiline);
  }
  if (Array.isArray(s.allOf)) return s.allOf.filter(isObject).map((m) => typeOf(m, indent, multiline)).join(" & ");
  if (Array.isArray(s.type)) return union(s.type.map((t) => typeOf({ ...s, type: t }, indent, multiline)), indent, multiline);
  switch (s.type) {
    case "string":
    case "integer":
    case "number":
    case "boolean":
    case "null":
      return s.type;
    case "array": {
      const item = isObject(s.items) ? typeOf(s.items, indent, multiline) : "unknown";
      return /^[\w".]+$|^\{[\s\S]*\}$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
  }
  if (s.type === "object" || isObject(s.properties) || "additionalProperties" in s) return objectType(s, indent, multiline);
  return "unknown";
}

function union(types: string[], indent: string, multiline: boolean): string {
  const inline = types.join(" | ");
  if (!multiline || types.length < 2 || inline.length <= WIDTH || types.some((t) => t.includes("\n"))) return inline;
  return types.map((t) => `\n${indent}  | ${t}`).join("");
}

function objectType(s: Schema, indent: string, multiline: boolean): string {
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const inner = `${indent}  `;
  const members: { text: string; note: string }[] = [];
  for (const [name, prop] of Object.entries(isObject(s.properties) ? s.properties : {})) {
    if (!isObject(prop)) continue;
    const type = typeOf(prop, inner, multiline);
    members.push({ text: `${propertyName(name)}${required.has(name) ? "" : "?"}:${type.startsWith("\n") ? "" : " "}${type}`, note: noteText(prop) });
  }
  const extra = s.additionalProperties;
  if (extra === true || (isObject(extra) && Object.keys(extra).length === 0)) members.push({ text: "[key: string]: unknown", note: "" });
  else if (isObject(extra)) members.push({ text: `[key: string]: ${typeOf(extra, inner, multiline)}`, note: noteText(extra) });
  if (members.length === 0) return "{}";
  const inline = `{ ${members.map((m) => m.text).join("; ")} }`;
  if (!multiline || (inline.length <= WIDTH && !inline.includes("\n") && members.every((m) => m.note === ""))) return inline;
  const lines = members.map((m) => {
    const first = m.text.indexOf("\n");
    // A note goes on the member's first line: after the opening brace of a nested object.
    if (m.note === "") return `${inner}${m.text};`;
    return first === -1 ? `${inner}${m.text}; // ${m.note}` : `${inner}${m.text.slice(0, first)} // ${m.note}${m.text.slice(first)};`;
  });
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** Range of a lower and an upper bound, in `unit`. */
function range(min: unknown, max: unknown, unit: string): string | undefined {
  const suffix = unit === "" ? "" : ` ${unit}`;
  if (typeof min === "number" && typeof max === "number") return min === max ? `exactly ${min}${suffix}` : `${min}–${max}${suffix}`;
  if (typeof max === "number") return `≤ ${max}${suffix}`;
  if (typeof min === "number" && min > 0) return `≥ ${min}${suffix}`;
  if (typeof min === "number" && unit === "") return `≥ ${min}`;
  return undefined;
}

/** The constraints of a schema, in words. */
function constraints(s: Schema): string[] {
  const members = unionMembers(s);
  const nonNull = members?.filter((m) => !isNull(m));
  // `T | null`: the constraints are T's.
  const inner = nonNull && nonNull.length === 1 ? constraints(nonNull[0]!) : [];
  const out: string[] = [];
  const binary = s.format === "binary";
  if (typeof s.format === "string") out.push(s.format);
  const length = range(s.minLength, s.maxLength, binary ? "bytes" : "chars");
  if (length) out.push(length);
  if (typeof s.pattern === "string") out.push(`pattern ${code(s.pattern)}`);
  const bounds = range(s.exclusiveMinimum ?? s.minimum, s.exclusiveMaximum ?? s.maximum, "");
  if (bounds) out.push(s.exclusiveMinimum !== undefined || s.exclusiveMaximum !== undefined ? `${bounds} (exclusive)` : bounds);
  const items = range(s.minItems, s.maxItems, "items");
  if (items) out.push(items);
  if (s.uniqueItems === true) out.push("unique");
  // Limits of scalar items (an object item's fields carry their own).
  if (isObject(s.items) && !isObject(s.items.properties)) {
    const each = constraints(s.items);
    if (each.length > 0) out.push(`each ${each.join(", ")}`);
  }
  if (s.default !== undefined) out.push(`default ${code(JSON.stringify(s.default))}`);
  return [...inner, ...out];
}

/** What a table's notes column and a type's comments say of a schema: its constraints, then its description. */
function noteText(s: Schema, description = typeof s.description === "string" ? s.description : undefined): string {
  const limits = constraints(s).join("; ");
  // One line: it ends up in a table cell or after `//`.
  return [limits, description].filter((t) => t !== undefined && t !== "").join(" — ").replace(/\s*\n\s*/g, " ");
}

/** A field table: one row per property of an object schema (or per parameter). */
function fieldTable(rows: { name: string; schema: Schema; required: boolean; description?: string }[]): string {
  const lines = ["| field | type | required | notes |", "|---|---|---|---|"];
  for (const r of rows) {
    const note = noteText(r.schema, r.description ?? (typeof r.schema.description === "string" ? r.schema.description : undefined));
    lines.push(`| ${cell(code(r.name))} | ${cell(code(typeOf(r.schema, "", false)))} | ${r.required ? "yes" : "no"} | ${cell(note)} |`);
  }
  return lines.join("\n");
}

function objectRows(s: Schema) {
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  return Object.entries(isObject(s.properties) ? s.properties : {})
    .filter((e): e is [string, Schema] => isObject(e[1]))
    .map(([name, schema]) => ({ name, schema, required: required.has(name) }));
}

/** A closed object with fields: shown as a table; anything else as a type. */
const hasFieldTable = (s: Schema) => s.type === "object" && isObject(s.properties) && Object.keys(s.properties).length > 0 && !isObject(s.additionalProperties);

/** The `data` schema of a success envelope `{ success: true, data, traceId }`, or undefined when `s` is not one. */
function envelopeData(s: Schema): Schema | undefined {
  const props = isObject(s.properties) ? s.properties : undefined;
  if (!props || Object.keys(props).sort().join(",") !== "data,success,traceId") return undefined;
  const success = props.success;
  if (!isObject(success) || !(success.const === true || (Array.isArray(success.enum) && success.enum.length === 1 && success.enum[0] === true))) return undefined;
  return isObject(props.data) ? props.data : undefined;
}

/** A body as a type: a code block with the schema's description as its first line, or a sentence for raw bytes and any JSON. */
function shapeBlock(schema: Schema, said?: string): string[] {
  const description = typeof schema.description === "string" && schema.description !== said ? schema.description : undefined;
  if (schema.type === "string" && schema.format === "binary") return ["The raw bytes."];
  const type = typeOf(schema, "", true);
  if (type === "unknown") return [description ? `Any JSON value — ${description}` : "Any JSON value."];
  return ["```ts", ...(description ? [`// ${description}`] : []), type, "```"];
}

/** A request body: a closed object as a field table (its description above it), anything else as a type. */
function requestBodyBlock(schema: Schema, said?: string): string[] {
  if (!hasFieldTable(schema)) return shapeBlock(schema, said);
  const description = typeof schema.description === "string" && schema.description !== said ? [schema.description, ""] : [];
  return [...description, fieldTable(objectRows(schema))];
}

/** Media types with the same schema, listed together. */
function byContent(content: Record<string, Media> | undefined): { types: string[]; schema: Schema }[] {
  const groups = new Map<string, { types: string[]; schema: Schema }>();
  for (const type of Object.keys(content ?? {}).sort()) {
    const schema = content![type]!.schema ?? {};
    const key = JSON.stringify(schema);
    const group = groups.get(key);
    if (group) group.types.push(type);
    else groups.set(key, { types: [type], schema });
  }
  return [...groups.values()];
}

/** The permissions a route requires: the scopes of its security requirements (the document puts its guard's there). */
const permissionsOf = (op: Operation): string[] => [...new Set((op.security ?? []).flatMap((req) => Object.values(req).flat()))];

function authLine(doc: OpenApiDocument, op: Operation): string {
  const schemes = [...new Set((op.security ?? []).flatMap((req) => Object.keys(req)))].sort();
  if (schemes.length === 0) return "**Auth:** none.";
  const described = schemes.map((name) => {
    const scheme = doc.components?.securitySchemes?.[name];
    const what = scheme?.description ?? [scheme?.type, scheme?.scheme].filter(Boolean).join(" ");
    return what ? `${code(name)} — ${what}` : code(name);
  });
  const permissions = permissionsOf(op);
  return `**Auth:** ${described.join(" or ")}. ${permissions.length > 0 ? requiresNote(permissions) : "No permission required."}`;
}

/** The description without the permissions note the document adds for the UI (the Auth line says it). */
function descriptionOf(op: Operation): string | undefined {
  const permissions = permissionsOf(op);
  const note = permissions.length > 0 ? requiresNote(permissions) : undefined;
  if (op.description === undefined || note === undefined || !op.description.endsWith(note)) return op.description;
  const rest = op.description.slice(0, -note.length).trimEnd();
  return rest === "" ? undefined : rest;
}

/** The components shown in sections of their own, by name, and their headings. */
const SECTIONS: Record<string, string> = { ErrorEnvelope: "Error envelope", ProblemDocument: "Problem document" };
/** The body of every error answer: the envelope, or problem+json when the request asks for it. */
const ERROR_CONTENT = { "application/json": "ErrorEnvelope", "application/problem+json": "ProblemDocument" };

/** Whether a response's bodies are exactly those of an error answer (shown as a link, not its shape). */
function isErrorContent(content: Record<string, Media> | undefined): boolean {
  const types = Object.keys(content ?? {});
  return (
    types.length === Object.keys(ERROR_CONTENT).length &&
    Object.entries(ERROR_CONTENT).every(([type, name]) => content?.[type]?.schema?.$ref === `#/components/schemas/${name}`)
  );
}

interface Route {
  method: string;
  path: string;
  op: Operation;
  group: string;
}

function routesOf(doc: OpenApiDocument): Route[] {
  const routes: Route[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method) || typeof op !== "object" || op === null) continue;
      routes.push({ method: method.toUpperCase(), path, op, group: op.tags?.[0] ?? "untagged" });
    }
  }
  const order = (m: string) => METHODS.indexOf(m.toLowerCase());
  return routes.sort((a, b) => a.group.localeCompare(b.group, "en") || a.path.localeCompare(b.path, "en") || order(a.method) - order(b.method));
}

function routeSection(doc: OpenApiDocument, r: Route): string[] {
  const { op } = r;
  const out = [`### ${code(`${r.method} ${r.path}`)}`, ""];
  if (op.summary) out.push(`${op.summary}.`.replace(/\.\.$/, "."), "");
  const description = descriptionOf(op);
  if (description) out.push(description, "");
  if ((op.tags ?? []).length > 1) out.push(`Also under: ${op.tags!.slice(1).join(", ")}.`, "");
  out.push(authLine(doc, op), "");
  for (const where of ["path", "query", "header"]) {
    const params = (op.parameters ?? []).filter((p) => p.in === where);
    if (params.length === 0) continue;
    const title = { path: "Path parameters", query: "Query", header: "Headers" }[where];
    out.push(`**${title}**`, "");
    out.push(fieldTable(params.map((p) => ({ name: p.name, schema: p.schema ?? {}, required: p.required === true, ...(p.description ? { description: p.description } : {}) }))), "");
  }
  const body = op.requestBody;
  if (body) {
    for (const { types, schema } of byContent(body.content)) {
      out.push(`**Body** (${types.map(code).join(", ")}${body.required ? "" : "; optional"})`, "");
      out.push(...requestBodyBlock(schema), "");
    }
  }
  out.push("**Responses**", "");
  const statuses = Object.keys(op.responses ?? {}).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  for (const status of statuses) {
    const res = op.responses![status]!;
    // "Default Response" is the placeholder of @fastify/swagger, not a description.
    const description = res.description && res.description !== "Default Response" ? ` — ${res.description}` : "";
    if (isErrorContent(res.content)) {
      out.push(`${code(status)} [error](#${anchor(SECTIONS.ErrorEnvelope!)})${description}`, "");
      continue;
    }
    const contents = byContent(res.content);
    if (contents.length === 0) {
      out.push(`${code(status)}${description}: no body.`, "");
      continue;
    }
    for (const [i, { types, schema }] of contents.entries()) {
      const data = envelopeData(schema);
      // Said once for the status, after its first media type.
      out.push(`${code(status)} ${types.map(code).join(", ")}${data ? " (envelope `data`)" : ""}${i === 0 ? description : ""}`, "");
      out.push(...shapeBlock(data ?? schema, res.description), "");
    }
  }
  return out;
}

/** The markdown of docs/api.md for an OpenAPI document. */
export function renderApiDocs(doc: OpenApiDocument): string {
  const routes = routesOf(doc);
  const groups = [...new Set(routes.map((r) => r.group))];
  const out: string[] = [
    "# HTTP API",
    "",
    "<!-- Generated from the route schemas by `npx tsx scripts/update-api-docs.mjs`; do not edit by hand. -->",
    "",
    "Every route of `rampart serve` (every route group on, default configuration), with its",
    "parameters, request body and the body of each response, as the OpenAPI document at",
    "`GET /openapi.json` describes them. Routes the document hides (`/openapi.json` itself, `/metrics`,",
    "the `/docs` UI) are not listed; an app that embeds Rampart mounts only the groups it switches on",
    "([embedding](embedding.md#route-groups)).",
    "",
    "- Types are TypeScript-like: `?` marks an optional field, `integer` a whole number; the notes",
    "  give the limits the server enforces (a request outside them is `400 VALIDATION_FAILED`, every",
    "  failing field named). Request bodies are closed: an unknown field is refused.",
    "- A JSON success answer is the envelope `{ success: true, data, traceId }`; the shapes below are",
    "  its `data`.",
    "- **Auth** says whether the route needs a credential and which permissions it requires (every",
    "  one of them; an API key needs them among its scopes). The permissions of each role are in",
    "  [identity](identity.md#what-a-route-that-returns-data-requires).",
    "- Any route can answer an error: the [error envelope](#error-envelope) (or the",
    "  [problem document](#problem-document) when the request's `Accept` asks for",
    "  `application/problem+json`) with one of the codes of [errors](errors.md), whose page gives each",
    "  code's status and meaning. A route lists the errors every route like it can answer: `400` when",
    "  it takes parameters, a query or a body, `401` when it needs a credential, `403` when it requires",
    "  a permission, `429` when it is rate limited. It may answer other codes of that page (`404` for",
    "  an unknown id, say).",
    "",
    "## Routes",
    "",
    "| group | route | requires | summary |",
    "|---|---|---|---|",
  ];
  for (const r of routes) {
    const heading = `${r.method} ${r.path}`;
    const permissions = permissionsOf(r.op);
    const auth = permissions.length > 0 ? permissions.map(code).join(", ") : (r.op.security ?? []).length > 0 ? "a credential" : "—";
    out.push(`| [${cell(r.group)}](#${anchor(r.group)}) | [${cell(code(heading))}](#${anchor(heading)}) | ${auth} | ${cell(r.op.summary ?? "")} |`);
  }
  out.push("");
  for (const group of groups) {
    out.push(`## ${group}`, "");
    for (const r of routes.filter((x) => x.group === group)) out.push(...routeSection(doc, r));
  }
  for (const [name, heading] of Object.entries(SECTIONS)) {
    const schema = doc.components?.schemas?.[name];
    if (!schema) continue;
    out.push(`## ${heading}`, "");
    out.push(...shapeBlock(schema), "");
  }
  return `${out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}
