/**
 * Interop with the argon2 reference implementation's command line (Debian
 * package `argon2`): our PHC strings are recomputed by the CLI from the salt
 * and parameters they carry and must come out identical, and hashes made by
 * the CLI verify with our hasher.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { normalizePassword } from "../../../src/auth/password/index.js";
import { FLOOR, hasherWith } from "./helpers.js";

interface Phc {
  m: number;
  t: number;
  p: number;
  salt: Buffer;
}

function parsePhc(phc: string): Phc {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$[A-Za-z0-9+/]+$/.exec(phc);
  if (!m) throw new Error(`not an argon2id PHC string: ${phc}`);
  return { m: Number(m[1]), t: Number(m[2]), p: Number(m[3]), salt: Buffer.from(m[4] as string, "base64") };
}

/**
 * Runs `argon2 SALT -id -k M -t T -p P -l 32 -e` with the password on stdin.
 * The CLI takes the salt as an argument, so raw bytes go through bash's printf
 * (argv cannot carry NUL, and command substitution drops a trailing newline).
 */
function cli(password: string, salt: Buffer, params: { m: number; t: number; p: number }): string {
  const escaped = [...salt].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
  const script = `printf '%s' "$PW" | argon2 "$(printf '${escaped}')" -id -k ${params.m} -t ${params.t} -p ${params.p} -l 32 -e`;
  const r = spawnSync("bash", ["-c", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PW: password }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`argon2 CLI failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

const argvSafe = (salt: Buffer) => !salt.includes(0) && salt[salt.length - 1] !== 0x0a;

describe("argon2 reference CLI interop", () => {
  it("is installed (Debian package argon2)", () => {
    expect(spawnSync("argon2", ["-h"]).error).toBeUndefined();
  });

  it.each([
    ["ASCII", "correct horse battery staple"],
    ["Unicode after NFKC", "Ｐａｓｓ ｗöｒｔ 密码 😀 ﬁnal"],
  ])("recomputes our hash byte for byte (%s password)", async (_, password) => {
    const hasher = hasherWith(FLOOR);
    let phc = await hasher.hash(password);
    for (let i = 0; i < 20 && !argvSafe(parsePhc(phc).salt); i++) phc = await hasher.hash(password);
    const parsed = parsePhc(phc);
    expect(parsed.salt).toHaveLength(16);
    expect(argvSafe(parsed.salt)).toBe(true);
    // We hash the NFKC form, so the CLI gets the NFKC form too.
    expect(cli(normalizePassword(password), parsed.salt, parsed)).toBe(phc);
    expect(cli(normalizePassword(`${password}!`), parsed.salt, parsed)).not.toBe(phc);
  });

  it("verifies hashes made by the CLI", async () => {
    const hasher = hasherWith(FLOOR);
    const salt = Buffer.from("0123456789abcdef");
    const atFloor = cli("a passphrase from elsewhere", salt, { m: FLOOR.memoryKib, t: 2, p: 1 });
    expect(await hasher.verify(atFloor, "a passphrase from elsewhere")).toEqual({ ok: true, needsRehash: false });
    expect(await hasher.verify(atFloor, "a passphrase from elsewhere.")).toEqual({ ok: false, needsRehash: false });
    // `-m 15` (2^15 KiB) as in the CLI's own examples: stronger than configured, so rehash.
    const stronger = cli("a passphrase from elsewhere", salt, { m: 32_768, t: 2, p: 1 });
    expect(stronger).toContain("$m=32768,t=2,p=1$");
    expect(await hasher.verify(stronger, "a passphrase from elsewhere")).toEqual({ ok: true, needsRehash: true });
  });
});
