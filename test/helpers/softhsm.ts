/**
 * A SoftHSM2 token initialized in a test's own directory (Debian `softhsm2`):
 * SOFTHSM2_CONF points the library, in this process and its children, at it.
 * A missing install fails the run instead of skipping.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SOFTHSM_MODULE = process.env.TEST_PKCS11_MODULE ?? "/usr/lib/softhsm/libsofthsm2.so";

export function initSoftHsmToken(baseDir: string, label: string, pin: string): { conf: string } {
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE} missing): apt-get install -y softhsm2`);
  const dir = join(baseDir, "softhsm");
  mkdirSync(join(dir, "tokens"), { recursive: true });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "0000-so"], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: "pipe" });
  return { conf };
}
