/**
 * The app's own permission, event and error-code names are typed by module
 * augmentation of interfaces the root entry re-exports. Checked from a
 * consumer's point of view: a file that imports "rampart" and declares
 * `declare module "rampart" { ... }` is compiled with tsc; the declared names
 * are accepted, and undeclared ones must stay type errors (`@ts-expect-error`
 * fails the compile when the line type-checks).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

const consumer = `
import Fastify from "fastify";
import { guard, rampart, RampartError, type SecurityEvents } from "rampart";

declare module "rampart" {
  interface AppPermissions { "notes:read": true; "notes:write": true }
  interface AppEvents { "payment.refunded": true }
  interface AppErrorCodes { NOTE_LOCKED: true }
}

export async function start(): Promise<void> {
  const app = Fastify();
  await app.register(rampart, { permissions: ["notes:read", "notes:write"], events: { "payment.refunded": { audited: true } }, errors: { NOTE_LOCKED: { status: 409, message: "This note is locked." } } });
  app.get("/notes", { preHandler: app.rampart.guard("notes:read", "me:read") }, async () => "ok");
  app.post("/notes", { preHandler: guard("notes:write") }, async () => {
    throw new RampartError("NOTE_LOCKED");
  });
  app.get("/me", { preHandler: guard() }, async () => "ok");
  // @ts-expect-error an undeclared permission
  guard("notes:delete");
  // @ts-expect-error an undeclared error code
  new RampartError("NOTE_GONE");
  new RampartError("FORBIDDEN");
}

export function emit(events: SecurityEvents): Promise<void> {
  void events.emit("auth.locked", { actor: { type: "system" } });
  // @ts-expect-error an undeclared event
  void events.emit("payment.lost", { actor: { type: "system" } });
  return events.emit("payment.refunded", { actor: { type: "system" }, data: { amount: 5 } });
}
`;

describe("typing of the app's names by module augmentation", () => {
  it("accepts the declared names and refuses the others, from a consumer importing 'rampart'", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rampart-augment-"));
    try {
      writeFileSync(join(dir, "consumer.ts"), consumer);
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            esModuleInterop: true,
            types: ["node"],
            typeRoots: [join(root, "node_modules/@types")],
            paths: { rampart: [join(root, "src/index.ts")], fastify: [join(root, "node_modules/fastify")] },
          },
          files: ["consumer.ts"],
        }),
      );
      const out = await promisify(execFile)(join(root, "node_modules/.bin/tsc"), ["-p", dir], { cwd: dir }).then(
        (r) => r.stdout,
        (err: { stdout?: string }) => err.stdout ?? String(err),
      );
      // Only the consumer's diagnostics matter here (library files are checked by the project's own tsc run).
      const consumerErrors = out.split("\n").filter((line) => line.startsWith("consumer.ts"));
      expect(consumerErrors).toEqual([]);
      expect(out).not.toMatch(/error TS5\d\d\d|error TS6\d\d\d/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
