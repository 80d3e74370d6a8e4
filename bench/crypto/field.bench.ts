/**
 * Field encryption benchmark: encrypt + decrypt round trips of a 64 B and a
 * 1 KiB field with cached DEKs, against (a) raw node:crypto AES-256-GCM on the
 * same payload (random 96-bit IV per message; goal: Rampart ≥ 0.5 of it) and
 * (b) the AWS Encryption SDK for JavaScript with a raw AES keyring and its
 * unsigned committing suite 0x0478 (goal: Rampart ≥ 10x). One process, one
 * core, all measured in the same run. `npx tsx bench/crypto/field.bench.ts`
 * (or `npm run bench -- crypto`); exports run() for bench/run.ts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from "@aws-crypto/client-node";
import { benchKeyring, fmt, isMain, measureAll, report, type Measurement } from "./measure.js";

export async function run(): Promise<string> {
  const ms = Number(process.env.BENCH_MS ?? 1000);
  const { keyring, close } = await benchKeyring();
  const { encrypt: esdkEncrypt, decrypt: esdkDecrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const esdkKeyring = new RawAesKeyringNode({
    keyName: "bench",
    keyNamespace: "rampart",
    unencryptedMasterKey: randomBytes(32),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });

  const rawKey = randomBytes(32);
  function rawRoundTrip(pt: Buffer): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", rawKey, iv, { authTagLength: 16 });
    const ct = Buffer.concat([c.update(pt), c.final()]);
    const tag = c.getAuthTag();
    const d = createDecipheriv("aes-256-gcm", rawKey, iv, { authTagLength: 16 });
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  }

  const rows: (string | number)[][] = [];
  const summary: Record<string, unknown> = {};
  for (const size of [64, 1024]) {
    const pt = randomBytes(size);
    const context = { table: "users", column: "email", id: "42" };
    const esdkOnce = async () => {
      const { result } = await esdkEncrypt(esdkKeyring, pt, { suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY, encryptionContext: context });
      await esdkDecrypt(esdkKeyring, result);
    };
    const [raw, bin, text, esdk] = (await measureAll(
      [
        { name: "raw", fn: () => rawRoundTrip(pt) },
        { name: "rampart", fn: async () => keyring.decrypt(await keyring.encryptToBuffer(pt, context), context) },
        { name: "rampart text", fn: async () => keyring.decrypt(await keyring.encrypt(pt, context), context) },
        { name: "esdk", fn: esdkOnce },
      ],
      { ms: 4 * ms },
    )) as [Measurement, Measurement, Measurement, Measurement];
    const label = size === 64 ? "64 B" : "1 KiB";
    summary[`${size}`] = {
      rawOpsPerSec: Math.round(raw.opsPerSec),
      rampartOpsPerSec: Math.round(bin.opsPerSec),
      rampartTextOpsPerSec: Math.round(text.opsPerSec),
      esdkOpsPerSec: Math.round(esdk.opsPerSec),
      ratioVsRaw: Number((bin.opsPerSec / raw.opsPerSec).toFixed(3)),
      speedupVsEsdk: Number((bin.opsPerSec / esdk.opsPerSec).toFixed(1)),
    };
    rows.push([label, fmt(raw.opsPerSec), fmt(bin.opsPerSec), fmt(text.opsPerSec), fmt(esdk.opsPerSec), (bin.opsPerSec / raw.opsPerSec).toFixed(2), `${(bin.opsPerSec / esdk.opsPerSec).toFixed(1)}x`]);
  }
  await close();
  return report(
    "crypto-field",
    { goals: { ratioVsRaw: ">= 0.5", speedupVsEsdk: ">= 10" }, results: summary },
    "Envelope encryption: fields",
    "Encrypt + decrypt round trips with cached DEKs, one in flight, cases interleaved (best slice each). Baselines in the same run: raw node:crypto AES-256-GCM on the same payload (random IV, no header or context), and the AWS Encryption SDK (`@aws-crypto/client-node`, raw AES keyring, committing suite 0x0478). Goals: Rampart / raw ≥ 0.5, Rampart ≥ 10x the SDK.",
    ["field", "raw AES-256-GCM (ops/s)", "Rampart binary (ops/s)", "Rampart rp1: text (ops/s)", "AWS ESDK 0x0478 (ops/s)", "Rampart / raw", "Rampart vs ESDK"], rows);
}

if (isMain(import.meta.url)) console.log(await run());
