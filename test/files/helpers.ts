/** Helpers for the upload tests: posting multipart bodies and looking at the blob directory. */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { Runtime } from "../../src/runtime/index.js";
import { multipart, type Part } from "./fixtures.js";

export async function upload(app: FastifyInstance, token: string, parts: Part[]): Promise<LightMyRequestResponse & { json: () => any }> {
  const { payload, headers } = multipart(parts);
  return app.inject({ method: "POST", url: "/v1/files", payload, headers: { ...headers, authorization: `Bearer ${token}` } });
}

export function filesDir(runtime: Runtime): string {
  return runtime.config.filesDir ?? join(runtime.config.dataDir, "files");
}

/** Every committed blob on disk. */
export function blobPaths(runtime: Runtime): string[] {
  const root = join(filesDir(runtime), "blobs");
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)).map((n) => join(root, shard, n)));
}

/** Every upload still being written (must be none after any request). */
export function tempFiles(runtime: Runtime): string[] {
  const dir = join(filesDir(runtime), "tmp");
  return existsSync(dir) ? readdirSync(dir) : [];
}

export function readBlob(path: string): Buffer {
  return readFileSync(path);
}

export async function fileRows(runtime: Runtime, userId?: string): Promise<number> {
  let q = runtime.db.kysely.selectFrom("rampart_files").select((eb) => eb.fn.countAll<string>().as("n"));
  if (userId) q = q.where("user_id", "=", userId);
  return Number((await q.executeTakeFirstOrThrow()).n);
}
