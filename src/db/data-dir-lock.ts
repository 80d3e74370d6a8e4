/**
 * An exclusive lock on the embedded database directory. PGlite is an in-process
 * Postgres: two processes opening the same directory would corrupt it, so the
 * second one must be refused with a clear message (e.g. `rampart migrate` while
 * `rampart serve` runs). The lock file holds the owner's pid; a lock whose
 * process is gone is stale and taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
}

export function lockDataDir(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(path, "utf8") === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(path, "utf8").trim());
      // A second open in this same process is refused too: two PGlite instances on one directory diverge.
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new DataDirLockedError(`the embedded database is in use by ${owner === process.pid ? "this process" : `process ${owner}`} (${path}); stop it first`);
      }
      unlinkSync(path);
    }
  }
  throw new DataDirLockedError(`could not lock ${path}`);
}
