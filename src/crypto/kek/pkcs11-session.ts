/**
 * A logged-in PKCS#11 session on the token with a given label, through
 * pkcs11js: an optional peer package, loaded when a session is opened, so
 * installs without an HSM neither compile nor load the native addon. PKCS#11 calls are synchronous and short; Node runs one at a
 * time, so one session serves the whole process (PKCS#11 v2.40 §5.6: a session
 * must not be used by two threads at once, which cannot happen here).
 */
import type * as Pkcs11Js from "pkcs11js";
import { loadOptionalPackage, type PackageImporter } from "../../config/optional-package.js";

/** An attribute of an object template. */
export interface Pkcs11Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}

/** A mechanism, with its AES-GCM parameters for CKM_AES_GCM. */
export interface Pkcs11Mechanism {
  mechanism: number;
  parameter?: { type: number; iv: Buffer; aad: Buffer; ivBits: number; tagBits: number };
}

/**
 * The calls made on the PKCS#11 addon's `PKCS11` object, which is one.
 * Declared here, not taken from the addon, so that Rampart's type declarations
 * compile in an app that does not install it. C_GetAttributeValue is how a
 * key's attributes are checked (sensitive, non-extractable) from outside.
 */
export interface Pkcs11Lib {
  load(path: string): void;
  C_Initialize(): void;
  C_Finalize(): void;
  C_GetSlotList(tokenPresent: boolean): Buffer[];
  C_GetTokenInfo(slot: Buffer): { label: string };
  C_OpenSession(slot: Buffer, flags: number): Buffer;
  C_CloseSession(session: Buffer): void;
  C_Login(session: Buffer, userType: number, pin: string): void;
  C_Logout(session: Buffer): void;
  C_FindObjectsInit(session: Buffer, template: Pkcs11Attribute[]): void;
  C_FindObjects(session: Buffer, maxObjectCount: number): Buffer[];
  C_FindObjectsFinal(session: Buffer): void;
  C_GetAttributeValue(session: Buffer, object: Buffer, template: Pkcs11Attribute[]): { type: number; value: Buffer }[];
  C_GenerateKey(session: Buffer, mechanism: Pkcs11Mechanism, template: Pkcs11Attribute[]): Buffer;
  C_DestroyObject(session: Buffer, object: Buffer): void;
  C_EncryptInit(session: Buffer, mechanism: Pkcs11Mechanism, key: Buffer): void;
  C_Encrypt(session: Buffer, inData: Buffer, outData: Buffer): Buffer;
  C_DecryptInit(session: Buffer, mechanism: Pkcs11Mechanism, key: Buffer): void;
  C_Decrypt(session: Buffer, inData: Buffer, outData: Buffer): Buffer;
}

/** The constants of the PKCS#11 standard that are used, by the addon's names. */
type Pkcs11Constant =
  | "CKF_SERIAL_SESSION"
  | "CKF_RW_SESSION"
  | "CKU_USER"
  | "CKO_SECRET_KEY"
  | "CKK_AES"
  | "CKM_AES_KEY_GEN"
  | "CKM_AES_GCM"
  | "CK_PARAMS_AES_GCM"
  | "CKA_CLASS"
  | "CKA_KEY_TYPE"
  | "CKA_LABEL"
  | "CKA_ID"
  | "CKA_VALUE"
  | "CKA_VALUE_LEN"
  | "CKA_TOKEN"
  | "CKA_PRIVATE"
  | "CKA_SENSITIVE"
  | "CKA_EXTRACTABLE"
  | "CKA_ENCRYPT"
  | "CKA_DECRYPT"
  | "CKA_WRAP"
  | "CKA_UNWRAP";

/** The parts of the addon's module that are used; the module itself is one. */
export type Pkcs11Module = { readonly PKCS11: new () => Pkcs11Lib } & { readonly [K in Pkcs11Constant]: number };

const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;
/**
 * Return values that mean "the session, login or handle went away" (device
 * error or removal, session closed, token absent, not logged in, library not
 * initialized, stale key or object handle), not "bad data": the caller reopens
 * the session, finds its keys again and retries once.
 */
export const SESSION_LOST_CODES = new Set([0x30, 0x31, 0x32, 0x60, 0x82, 0xb0, 0xb3, 0xe0, 0x101, 0x190]);

/** The PKCS#11 addon's module; OptionalPackageMissing names the package when it is not installed. */
export async function loadPkcs11js(importer?: PackageImporter): Promise<Pkcs11Module> {
  // Loaded as the addon's own type, so the compiler checks that the real module fits Pkcs11Module.
  const mod = await loadOptionalPackage<typeof Pkcs11Js & { default?: typeof Pkcs11Js }>("pkcs11js", "KEK provider 'pkcs11'", importer);
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
    readonly lib: Pkcs11Lib,
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
    try {
      s.reopen();
    } catch (err) {
      // A wrong PIN or a missing token: the library this call initialized is finalized again, so
      // the next session to open owns its initialization (and finalizes it when it closes).
      if (s.ownsInit) s.lib.C_Finalize();
      throw err;
    }
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
