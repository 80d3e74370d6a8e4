/**
 * The `files:<dir>` provider: one file per secret, named after it, as
 * Kubernetes secret volumes and Docker secrets (`/run/secrets`) mount them.
 * Symlinks are followed because Kubernetes rotates by swapping a `..data`
 * symlink. One trailing newline is trimmed (editors and `echo` add it); other
 * whitespace is kept, since it may be part of the value.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ProviderError, safeReason } from "../errors.js";
import { isSecretName } from "../names.js";
import type { SecretListing, SecretProvider, SecretValue } from "../provider.js";

/** Larger files are refused: a secret is small, and a huge file here is a mistake. */
const MAX_FILE_BYTES = 1024 * 1024;

function trimOneNewline(raw: string): string {
  if (raw.endsWith("\r\n")) return raw.slice(0, -2);
  if (raw.endsWith("\n")) return raw.slice(0, -1);
  return raw;
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export class FilesProvider implements SecretProvider {
  readonly id: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.id = `files:${dir}`;
  }

  locate(name: string): string {
    return `${this.id} (${join(this.dir, name)})`;
  }

  /**
   * The file of `name`. The service only passes kebab-case names; this check
   * stands on its own so the provider is safe when used directly (path
   * traversal: `../`, absolute paths, hidden Kubernetes entries such as `..data`).
   */
  private fileOf(name: string): string {
    if (name === "" || name.includes("/") || name.includes("\\") || name.includes("\0") || name.startsWith(".")) {
      throw new ProviderError("refusing a secret name with a path separator or a leading dot");
    }
    const file = resolve(this.dir, name);
    // dirname, not a prefix test: a mount at the root ("/") has no separator to add.
    if (dirname(file) !== this.dir) throw new ProviderError("refusing a secret name outside the directory");
    return file;
  }

  private async assertDir(): Promise<void> {
    try {
      if (!(await stat(this.dir)).isDirectory()) throw new ProviderError(`${this.dir} is not a directory`);
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw new ProviderError(`cannot read directory ${this.dir}: ${safeReason(err)}`, { cause: err });
    }
  }

  async load(name: string): Promise<SecretValue | undefined> {
    const file = this.fileOf(name);
    await this.assertDir();
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new ProviderError(`${file} is not a regular file`);
      if (info.size > MAX_FILE_BYTES) throw new ProviderError(`${file} is larger than ${MAX_FILE_BYTES} bytes`);
      const raw = await readFile(file, "utf8");
      return { value: trimOneNewline(raw), updatedAt: info.mtimeMs };
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (errnoCode(err) === "ENOENT") return undefined;
      throw new ProviderError(`cannot read ${file}: ${safeReason(err)}`, { cause: err });
    }
  }

  async list(): Promise<SecretListing[]> {
    await this.assertDir();
    const out: SecretListing[] = [];
    for (const entry of await readdir(this.dir)) {
      if (!isSecretName(entry)) continue;
      try {
        const info = await stat(join(this.dir, entry));
        if (info.isFile()) out.push({ name: entry, updatedAt: info.mtimeMs });
      } catch {
        // A dangling symlink (mid-rotation) is simply not listed.
      }
    }
    return out;
  }
}
