/**
 * Fastify glue of src/server/unicode.ts, on every route of the app: the JSON
 * body parser decodes with a fatal UTF-8 decoder and refuses unpaired
 * surrogates, and a preValidation hook refuses query parameters that are not
 * percent-encoded UTF-8; both answer `400 VALIDATION_FAILED` naming the
 * fields. Path parameters need nothing here: the router refuses a path that
 * does not decode (raw-errors.ts). Register it on the root before any route
 * plugin, so every scope inherits the parser.
 */
import fp from "fastify-plugin";
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { RampartError } from "../../errors/index.js";
import { decodeUtf8, decodeUtf8Marking, illFormedPaths, malformedQueryFields, maySpellSurrogates, type FieldProblem } from "../unicode.js";

function notUnicode(fields: FieldProblem[]): RampartError {
  return new RampartError("VALIDATION_FAILED", { message: "The request contains text that is not valid Unicode.", details: { fields } });
}

function checkQuery(request: FastifyRequest, _reply: FastifyReply, next: HookHandlerDoneFunction): void {
  const url = request.url;
  const q = url.indexOf("?");
  if (q === -1 || url.indexOf("%", q) === -1) return next();
  const problems = malformedQueryFields(url.slice(q + 1));
  if (problems.length > 0) return next(notUnicode(problems));
  next();
}

const plugin: FastifyPluginCallback = (app, _opts, done) => {
  // Fastify's own parser after decoding, so prototype-poisoning keys are still refused.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body: Buffer, next) => {
    const text = decodeUtf8(body);
    // The common case: valid UTF-8 that spells no surrogate escape cannot hold an ill-formed string.
    if (text !== undefined && !maySpellSurrogates(text)) return parseJson(request, text, next);
    parseJson(request, text ?? decodeUtf8Marking(body), (err, value) => {
      if (err) return next(err);
      const problems = illFormedPaths(value, "body");
      if (problems.length > 0) return next(notUnicode(problems));
      next(null, value);
    });
  });
  app.addHook("preValidation", checkQuery);
  done();
};

/** Well-formed Unicode in JSON bodies and query strings (see the module comment). */
export const wellFormedTextPlugin = fp(plugin, { name: "rampart-well-formed-text", fastify: "5.x" });
