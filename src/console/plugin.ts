/**
 * Fastify glue of the web console: serves the single-page app that
 * `npm run build` writes to `dist/console/app` (Vite, sources in `console/`)
 * under `/console`, with a policy of its own (docs/console.md):
 *
 * - every answer of this scope carries the console's CSP (headers.ts,
 *   `CONSOLE_CSP_DIRECTIVES`) instead of the API's `default-src 'none'`;
 * - hashed assets (`/console/assets/*`) are cacheable for a year and
 *   immutable, the HTML is `no-cache` so a new build is picked up at once;
 * - any other path under `/console` that does not look like a file is a route
 *   of the app and gets its HTML (client-side routing);
 * - `/reset-password` and `/verify-email`, the pages the identity mails link
 *   to, lead to the console's screens of the same name.
 *
 * The API the console calls is the JSON API under `/v1`; nothing here reads
 * or writes any state.
 *
 * The built files are read once at start and served from memory, one route
 * per file, with a strong ETag. Written here rather than with @fastify/static:
 * the set of files is fixed by the build, so no request path is ever resolved
 * on the file system (nothing to traverse), and a static-file server would add
 * some 7 MB of dependencies (a glob library and its caches) to every install
 * for a few hundred kilobytes of assets.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { RampartError } from "../errors/index.js";
import { CONSOLE_CSP_DIRECTIVES, serializeCsp } from "../http/headers.js";

export interface ConsolePluginOptions {
  /** Directory of the built app (holding `index.html` and `assets/`); default `dist/console/app`. */
  root?: string;
}

/** Where the built app is: next to this file once compiled, or under dist/ when run from the sources. */
export function defaultConsoleRoot(): string {
  const compiled = fileURLToPath(new URL("./app/", import.meta.url));
  if (existsSync(join(compiled, "index.html"))) return compiled;
  return fileURLToPath(new URL("../../dist/console/app/", import.meta.url));
}

export const IMMUTABLE = "public, max-age=31536000, immutable";
const HTML_CACHE = "no-cache";
/** A path whose last segment has an extension names a file, not a screen of the app. */
const looksLikeFile = (path: string) => /\.[A-Za-z0-9]{1,8}$/.test(path);

/** Media types of what Vite emits. A file of another kind is not served. */
const MEDIA_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

interface BuiltFile {
  readonly urlPath: string;
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

/** Every servable file under `root` (dot files and unknown kinds left out), read into memory. */
function readBuild(root: string): BuiltFile[] {
  const files: BuiltFile[] = [];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = relative(root, join(entry.parentPath, entry.name)).split(sep).join("/");
    const type = MEDIA_TYPES[extname(rel).toLowerCase()];
    if (type === undefined || rel.split("/").some((part) => part.startsWith("."))) continue;
    const body = readFileSync(join(root, rel));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    const cacheControl = rel === "index.html" ? HTML_CACHE : rel.startsWith("assets/") ? IMMUTABLE : "public, max-age=3600";
    files.push({ urlPath: `/console/${rel}`, body, type, etag, cacheControl });
  }
  return files;
}

/** A conditional GET whose ETag still matches gets 304 with no body (RFC 9110 §13.1.2). */
function sendFile(request: FastifyRequest, reply: FastifyReply, file: BuiltFile): FastifyReply {
  reply.header("etag", file.etag).header("cache-control", file.cacheControl);
  const inm = request.headers["if-none-match"];
  if (inm !== undefined && (inm.trim() === "*" || inm.split(",").some((tag) => tag.trim().replace(/^W\//, "") === file.etag))) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

export const consolePlugin: FastifyPluginAsync<ConsolePluginOptions> = async (app, opts) => {
  const root = opts.root ?? defaultConsoleRoot();
  const csp = serializeCsp(CONSOLE_CSP_DIRECTIVES);
  // onSend runs after the root security-headers hook wrote the API policy: this one replaces it.
  app.addHook("onSend", (_request, reply, payload, done) => {
    reply.header("content-security-policy", csp);
    done(null, payload);
  });
  const hidden = { schema: { hide: true } };

  // The mailed links (publicUrl + /reset-password?token=..., /verify-email?token=...).
  for (const page of ["reset-password", "verify-email"]) {
    app.get(`/${page}`, hidden, async (request, reply) => {
      const q = request.url.indexOf("?");
      return reply.redirect(`/console/${page}${q === -1 ? "" : request.url.slice(q)}`, 302);
    });
  }

  if (!existsSync(join(root, "index.html"))) {
    // A checkout run from the sources before `npm run build`: say so rather than serve nothing.
    const notBuilt = async () => {
      throw new RampartError("SERVICE_UNAVAILABLE", { message: "The console is not built: run `npm run build`, then restart." });
    };
    app.get("/console", hidden, notBuilt);
    app.get("/console/*", hidden, notBuilt);
    return;
  }
  const build = readBuild(root);
  const index = build.find((f) => f.urlPath === "/console/index.html")!;
  // The built files are public code and styles, never secrets: they may be compressed.
  for (const file of build) app.get(file.urlPath, { ...hidden, config: { compress: true } }, async (request, reply) => sendFile(request, reply, file));

  app.get("/console", hidden, async (request, reply) => sendFile(request, reply, index));
  app.get("/console/*", hidden, async (request, reply) => {
    const path = (request.params as { "*": string })["*"];
    if (path.startsWith("assets/") || looksLikeFile(path)) throw new RampartError("NOT_FOUND", { message: "No such file in the console." });
    return sendFile(request, reply, index);
  });
};
