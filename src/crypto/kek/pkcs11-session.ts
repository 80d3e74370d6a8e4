/**
 * A logged-in PKCS#11 session on the token with a given label, through
 * pkcs11js: an optional peer package, loaded when a session is opened, so
 * installs without an HSM neither compile nor load the native addon. PKCS#11 calls are synchronous and short; Node runs one at a
 * time, so one session serves the whole process (PKCS#11 v2.40 §5.6: a session
 * must not be used by two threads at once, which cannot happen here).
 */
import type * as Pkcs11Js from "pkcs11js";
import { loadOptionalPackage, type PackageImporter } from "../../config/optional-package.js";

type Pkcs11Module = typeof Pkcs11Js;

const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;
/**
 * Return values that mean "the session, login or handle went away" (device
 * error or removal, session closed, token absent, not logged in, library not
 * initialized, stale key or object handle), not "bad data": the caller reopens
 * the session, finds its keys again and retries once.
 */
export const SESSION_LOST_CODES = new Set([0x30, 0x31, 0x32, 0x60, 0x82, 0xb0, 0xb3, 0xe0, 0x101, 0x190]);

/** The pkcs11js module; OptionalPackageMissing names the package when it is not installed. */
export async function loadPkcs11js(importer?: PackageImporter): Promise<Pkcs11Module> {
  const mod = await loadOptionalPackage<Pkcs11Module & { default?: Pkcs11Module }>("pkcs11js", "KEK provider 'pkcs11'", importer);
  return mod.default ?? mod;
}

export function pkcs11Code(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export class Pkcs11Session {
  private session: Buffer | undefined;
  private ownsInit = false;

  private constructor(
    readonly P: Pkcs11Module,
    readonly lib: Pkcs11Js.PKCS11,
    private readonly tokenLabel: string,
    private readonly pin: string,
  ) {}

  static async open(modulePath: string, tokenLabel: string, pin: string): Promise<Pkcs11Session> {
    const P = await loadPkcs11js();
    const lib = new P.PKCS11();
    lib.load(modulePath);
    const s = new Pkcs11Session(P, lib, tokenLabel, pin);
    try {
      lib.C_Initialize();
      s.ownsInit = true;
    } catch (err) {
      // Another keyring in this process already initialized the library.
      if (pkcs11Code(err) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
    }
    s.reopen();
    return s;
  }

  /** The current session handle, opening and logging in when needed. */
  get handle(): Buffer {
    return this.session ?? this.reopen();
  }

  reopen(): Buffer {
    if (this.session) {
      try {
        this.lib.C_CloseSession(this.session);
      } catch {
        // already gone
      }
      this.session = undefined;
    }
    const slot = this.lib.C_GetSlotList(true).find((s) => this.lib.C_GetTokenInfo(s).label.trim() === this.tokenLabel);
    if (!slot) throw new Error(`PKCS#11 token with label '${this.tokenLabel}' not found (PKCS11_TOKEN_LABEL)`);
    const session = this.lib.C_OpenSession(slot, this.P.CKF_SERIAL_SESSION | this.P.CKF_RW_SESSION);
    try {
      this.lib.C_Login(session, this.P.CKU_USER, this.pin);
    } catch (err) {
      if (pkcs11Code(err) !== CKR_USER_ALREADY_LOGGED_IN) {
        this.lib.C_CloseSession(session);
        throw err;
      }
    }
    this.session = session;
    return session;
  }

  /** Secret-key objects with this label. */
  findKeys(label: string): Buffer[] {
    const { P, lib } = this;
    lib.C_FindObjectsInit(this.handle, [
      { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
      { type: P.CKA_LABEL, value: label },
    ]);
    try {
      return lib.C_FindObjects(this.handle, 16);
    } finally {
      lib.C_FindObjectsFinal(this.handle);
    }
  }

  /** A token AES-256 key that never leaves the HSM: sensitive, non-extractable, encrypt/decrypt only. */
  generateKey(label: string): Buffer {
    const { P, lib } = this;
    return lib.C_GenerateKey(this.handle, { mechanism: P.CKM_AES_KEY_GEN }, [
      { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
      { type: P.CKA_KEY_TYPE, value: P.CKK_AES },
      { type: P.CKA_VALUE_LEN, value: 32 },
      { type: P.CKA_LABEL, value: label },
      { type: P.CKA_ID, value: Buffer.from(label, "utf8") },
      { type: P.CKA_TOKEN, value: true },
      { type: P.CKA_PRIVATE, value: true },
      { type: P.CKA_SENSITIVE, value: true },
      { type: P.CKA_EXTRACTABLE, value: false },
      { type: P.CKA_ENCRYPT, value: true },
      { type: P.CKA_DECRYPT, value: true },
      { type: P.CKA_WRAP, value: false },
      { type: P.CKA_UNWRAP, value: false },
    ]);
  }

  /** AES-GCM inside the token (CKM_AES_GCM, 96-bit IV, 128-bit tag). */
  gcm(mode: "encrypt" | "decrypt", key: Buffer, iv: Buffer, aad: Buffer, input: Buffer): Buffer {
    const { P, lib } = this;
    const mechanism = { mechanism: P.CKM_AES_GCM, parameter: { type: P.CK_PARAMS_AES_GCM, iv, aad, ivBits: 96, tagBits: 128 } };
    const out = Buffer.alloc(input.length + 16);
    if (mode === "encrypt") {
      lib.C_EncryptInit(this.handle, mechanism, key);
      return lib.C_Encrypt(this.handle, input, out);
    }
    lib.C_DecryptInit(this.handle, mechanism, key);
    return lib.C_Decrypt(this.handle, input, out);
  }

  destroy(key: Buffer): void {
    this.lib.C_DestroyObject(this.handle, key);
  }

  /**
   * Closes the session. Login state belongs to the whole process, not to a
   * session (PKCS#11 v2.40 §5.6), so only the owner of the library
   * initialization logs out; another keyring's sessions stay logged in.
   */
  close(): void {
    if (this.session) {
      if (this.ownsInit) {
        try {
          this.lib.C_Logout(this.session);
        } catch {
          // not logged in
        }
      }
      this.lib.C_CloseSession(this.session);
      this.session = undefined;
    }
    if (this.ownsInit) this.lib.C_Finalize();
  }
}
