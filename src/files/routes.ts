/**
 * Routes: upload, list, download and delete the caller's files. The
 * multipart parser is registered in this plugin's scope only, so no other
 * route accepts multipart bodies. Its limits hold the body to one file of at
 * most UPLOAD_MAX_BYTES (plus one byte, so the core sees the overflow and
 * answers 413) and a handful of small parts, which the handler refuses.
 */
import multipart from "@fastify/multipart";
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { guard, principalOf } from "../auth/plugin.js";
import { isRampartError, RampartError } from "../errors/index.js";
import { appendWarning, formatWarning, WARNING_HEADER, type Quotas } from "../quotas/index.js";
import type { Runtime } from "../runtime/index.js";
import { Envelope, ok } from "../server/envelope.js";
import { contentDisposition } from "./filename.js";
import { createFiles, type Files } from "./files.js";
import { DownloadResponse, FileIdParams, FileSchema, ListQuery, uploadBody } from "./schemas.js";
import type { StagedUpload } from "./upload.js";

export interface FileRoutesOptions {
  runtime: Runtime;
  /** Meters `files.bytes` (the app passes `app.quotas`); without it uploads are not metered. */
  quotas?: Quotas;
  /** An existing service (else one is built from the runtime). */
  files?: Files;
}

const tags = ["files"];
const security = [{ bearer: [] }];

function onePart(): RampartError {
  return new RampartError("VALIDATION_FAILED", { message: "Send exactly one file part and nothing else.", details: { fields: [{ path: "body.file", message: "must be the only part" }] } });
}

/** Errors of the multipart parser, as catalogue errors. */
function notUnicodeName(): RampartError {
  return new RampartError("VALIDATION_FAILED", { message: "The request contains text that is not valid Unicode.", details: { fields: [{ path: "body.file.filename", message: "is not valid Unicode" }] } });
}

function fromMultipart(err: unknown): unknown {
  if (isRampartError(err)) return err;
  const code = (err as { code?: unknown }).code;
  if (code === "FST_REQ_FILE_TOO_LARGE") return new RampartError("PAYLOAD_TOO_LARGE", { cause: err });
  if (code === "FST_FILES_LIMIT" || code === "FST_FIELDS_LIMIT" || code === "FST_PARTS_LIMIT") return onePart();
  if (code === "FST_INVALID_MULTIPART_CONTENT_TYPE") return new RampartError("UNSUPPORTED_MEDIA_TYPE", { message: "Send the file as multipart/form-data." });
  if (err instanceof Error && /multipart|boundary|part terminated|unexpected end/i.test(err.message)) {
    return new RampartError("VALIDATION_FAILED", { message: "The multipart body is malformed.", cause: err });
  }
  return err;
}

export const fileRoutes: FastifyPluginAsync<FileRoutesOptions> = async (app, opts) => {
  const { config } = opts.runtime;
  const files = opts.files ?? (await createFiles(opts.runtime, opts.quotas));
  await files.sweep().catch((err: unknown) => opts.runtime.log.warn({ err }, "upload sweep failed"));
  await app.register(multipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: config.uploadMaxBytes + 1, files: 2, fields: 1, parts: 2, fieldSize: 1024, headerPairs: 20 },
  });

  const upload = async (request: FastifyRequest, reply: FastifyReply) => {
    const userId = principalOf(request).userId;
    if (!request.isMultipart()) throw new RampartError("UNSUPPORTED_MEDIA_TYPE", { message: "Send the file as multipart/form-data." });
    let staged: StagedUpload | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.type !== "file" || staged) throw onePart();
        // Past its size limit busboy would read and discard the rest of the body: stop reading instead.
        part.file.once("limit", () => {
          request.raw.unpipe();
          request.raw.pause();
        });
        // The multipart parser decodes the name as UTF-8 and marks undecodable bytes with U+FFFD:
        // refuse them like every other text field (src/server/unicode.ts) instead of storing the mark.
        if (part.filename.includes("\uFFFD")) throw notUnicodeName();
        staged = await files.stage(userId, part.filename, part.file);
      }
      if (!staged) throw new RampartError("VALIDATION_FAILED", { message: "The body holds no file.", details: { fields: [{ path: "body.file", message: "is required" }] } });
      const accepted = staged;
      staged = undefined;
      const { file, warnings } = await files.commit(accepted);
      if (warnings.length > 0) reply.header(WARNING_HEADER, appendWarning(reply.getHeader(WARNING_HEADER), formatWarning(warnings)));
      reply.code(201);
      return ok(request, { file });
    } catch (err) {
      if (staged) await files.discard(staged);
      // Refused before the body was read to its end: close rather than read the rest.
      if (!request.raw.readableEnded) reply.header("connection", "close");
      throw fromMultipart(err);
    }
  };

  app.post(
    "/files",
    {
      config: { idempotent: true },
      preHandler: guard("files:write"),
      // The body is a stream the handler checks part by part; the schema documents it.
      validatorCompiler: () => () => true,
      schema: { tags, security, summary: "Upload one file (multipart/form-data); stored encrypted, counted against files.bytes", body: uploadBody(config.uploadMaxBytes), response: { 201: Envelope(Type.Object({ file: FileSchema })) } },
    },
    upload,
  );

  app.get(
    "/files",
    { preHandler: guard("files:read"), config: { compress: true }, schema: { tags, security, summary: "The caller's files, newest first", querystring: ListQuery, response: { 200: Envelope(Type.Object({ files: Type.Array(FileSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) })) } } },
    async (request) => ok(request, await files.list(principalOf(request).userId, request.query as { cursor?: string; limit?: number })),
  );

  app.get(
    "/files/:id",
    { preHandler: guard("files:read"), schema: { tags, security, summary: "Download one of the caller's files (others' are not found)", params: FileIdParams, response: { 200: DownloadResponse } } },
    async (request, reply) => {
      const { file, body } = await files.open(principalOf(request).userId, (request.params as { id: string }).id);
      reply
        .header("content-type", file.contentType)
        .header("content-length", String(file.size))
        .header("content-disposition", contentDisposition(file.name))
        .header("x-content-type-options", "nosniff")
        // The bytes are the user's, not ours: never a document with our origin's rights.
        .header("content-security-policy", "sandbox; default-src 'none'; frame-ancestors 'none'")
        .header("cache-control", "private, no-store");
      return reply.send(body);
    },
  );

  app.delete(
    "/files/:id",
    { preHandler: guard("files:write"), schema: { tags, security, summary: "Delete one of the caller's files (its bytes go back to the quota of the period they were counted in)", params: FileIdParams, response: { 200: Envelope(Type.Object({ deleted: Type.Boolean() })) } } },
    async (request) => {
      await files.remove(principalOf(request).userId, (request.params as { id: string }).id);
      return ok(request, { deleted: true });
    },
  );
};
