/**
 * cosign key files: encrypted private keys (`ENCRYPTED SIGSTORE PRIVATE KEY`, cosign 2.x,
 * and `ENCRYPTED COSIGN PRIVATE KEY`, older cosign) — scrypt + NaCl secretbox around a
 * PKCS#8 DER key — and unencrypted PKCS#8 P-256 `PRIVATE KEY` PEM; plus
 * `generate-key-pair` in cosign's format.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { unlink } from "node:fs/promises";
import { fromBase64, toBase64, utf8 } from "../encoding/bytes.ts";
import { isKarsError, KarsError } from "../errors.ts";
import { checkWritable, writeFileAtomic } from "../io/fs_atomic.ts";
import { pemDecodeAll, pemEncode } from "../encoding/pem.ts";
import { keyIdentity, pkcs8FromSecret, secretFromPkcs8, signDer, spkiFromPoint } from "./p256.ts";
import type { ExpectedSigner, Signature, Signer } from "./signer.ts";

/** PEM label cosign 2.x writes. */
export const SIGSTORE_KEY_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY";
/** PEM label older cosign writes (still loaded). */
export const COSIGN_KEY_LABEL = "ENCRYPTED COSIGN PRIVATE KEY";

/** Supplies the key password (from `COSIGN_PASSWORD`, a prompt, …). */
export type PasswordSource = () => Promise<string> | string;

/** A loaded P-256 private key. */
export interface LoadedKey {
  /** The 32-byte secret scalar. */
  secret: Uint8Array;
  /** SubjectPublicKeyInfo DER of its public key. */
  spkiDer: Uint8Array;
}

const MAX_SCRYPT_N = 1 << 20;
const MAX_SCRYPT_MEM = 256 * 1024 * 1024;

/**
 * Loads a private key from PEM text. `name` (the path) is used in messages. The password
 * source is called only for encrypted keys.
 *
 * @example
 * ```ts
 * import { loadPrivateKey } from "./keyfile.ts";
 * const pem = await Deno.readTextFile("cosign.key");
 * const key = await loadPrivateKey(pem, "cosign.key", () => "hello");
 * key.spkiDer.length; // 91
 * ```
 */
export async function loadPrivateKey(
  pem: string,
  name: string,
  password: PasswordSource,
): Promise<LoadedKey> {
  let blocks;
  try {
    blocks = pemDecodeAll(pem);
  } catch {
    throw new KarsError("INPUT", `${name}: the PEM body is not valid base64`);
  }
  const block = blocks[0];
  if (!block) throw new KarsError("INPUT", `${name}: no PEM private key found`);
  let der: Uint8Array;
  if (block.label === SIGSTORE_KEY_LABEL || block.label === COSIGN_KEY_LABEL) {
    der = await decryptCosignKey(block.der, name, password);
  } else if (block.label === "PRIVATE KEY") {
    der = block.der;
  } else if (block.label === "EC PRIVATE KEY") {
    throw sec1Refusal(name);
  } else {
    throw new KarsError(
      "INPUT",
      `${name}: unsupported PEM block "${block.label}"; expected a cosign key ` +
        `("${SIGSTORE_KEY_LABEL}") or an unencrypted PKCS#8 "PRIVATE KEY"`,
    );
  }
  const secret = secretFromPkcs8(der);
  if (secret === "sec1") throw sec1Refusal(name);
  if (secret === "not-p256") {
    throw new KarsError("INPUT", `${name}: only ECDSA P-256 keys are supported`);
  }
  if (secret === "malformed") {
    throw new KarsError("INPUT", `${name}: the private key is not a valid PKCS#8 P-256 key`);
  }
  return { secret, spkiDer: spkiFromPoint(p256.getPublicKey(secret, false)) };
}

function sec1Refusal(name: string): KarsError {
  return new KarsError(
    "INPUT",
    `${name}: the key is a SEC1 "EC PRIVATE KEY", which cosign refuses ("x509: failed to ` +
      `parse private key (use ParseECPrivateKey instead for this key format)"); create a new ` +
      `key with generate-key-pair, or convert it to PKCS#8 (openssl pkcs8 -topk8)`,
  );
}

async function decryptCosignKey(
  body: Uint8Array,
  name: string,
  password: PasswordSource,
): Promise<Uint8Array> {
  // deno-lint-ignore no-explicit-any
  let j: any;
  try {
    j = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new KarsError("INPUT", `${name}: the encrypted key body is not cosign's JSON`);
  }
  const params = j?.kdf?.params;
  if (j?.kdf?.name !== "scrypt" || j?.cipher?.name !== "nacl/secretbox") {
    throw new KarsError(
      "INPUT",
      `${name}: unsupported key encryption (want scrypt + nacl/secretbox)`,
    );
  }
  const { N, r, p } = params ?? {};
  if (
    !Number.isInteger(N) || N < 2 || N > MAX_SCRYPT_N || (N & (N - 1)) !== 0 ||
    !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16
  ) {
    throw new KarsError("INPUT", `${name}: scrypt parameters out of range`);
  }
  if (128 * N * r > MAX_SCRYPT_MEM) {
    throw new KarsError("INPUT", `${name}: scrypt parameters need more than 256 MiB; refusing`);
  }
  let salt: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array;
  try {
    salt = fromBase64(j.kdf.salt);
    nonce = fromBase64(j.cipher.nonce);
    ciphertext = fromBase64(j.ciphertext);
  } catch {
    throw new KarsError("INPUT", `${name}: salt, nonce or ciphertext is not base64`);
  }
  if (nonce.length !== 24) {
    throw new KarsError("INPUT", `${name}: secretbox nonce must be 24 bytes`);
  }
  const pw = await password();
  const key = await scryptAsync(utf8(pw), salt, { N, r, p, dkLen: 32, maxmem: 2 ** 31 });
  try {
    return xsalsa20poly1305(key, nonce).decrypt(ciphertext);
  } catch {
    throw new KarsError(
      "INPUT",
      `wrong password for ${name} (decryption failed); check COSIGN_PASSWORD`,
      { details: { reason: "WrongPassword" } },
    );
  } finally {
    key.fill(0);
  }
}

/**
 * Encrypts PKCS#8 DER as cosign does: JSON `{kdf, cipher, ciphertext}` in a PEM block.
 *
 * @example
 * ```ts
 * import { encryptCosignKey } from "./keyfile.ts";
 * declare const pkcs8: Uint8Array;
 * await encryptCosignKey(pkcs8, "pw", 32768); // "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----…"
 * ```
 */
export async function encryptCosignKey(
  pkcs8: Uint8Array,
  password: string,
  scryptN = 65536,
  label = SIGSTORE_KEY_LABEL,
): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(24));
  const key = await scryptAsync(utf8(password), salt, {
    N: scryptN,
    r: 8,
    p: 1,
    dkLen: 32,
    maxmem: 2 ** 31,
  });
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(pkcs8);
  key.fill(0);
  const json = JSON.stringify({
    kdf: { name: "scrypt", params: { N: scryptN, r: 8, p: 1 }, salt: toBase64(salt) },
    cipher: { name: "nacl/secretbox", nonce: toBase64(nonce) },
    ciphertext: toBase64(ciphertext),
  });
  return pemEncode(label, utf8(json));
}

/** A generated key pair as PEM text. */
export interface KeyPairPem {
  /** `ENCRYPTED SIGSTORE PRIVATE KEY` PEM (what `cosign.key` holds). */
  privatePem: string;
  /** `PUBLIC KEY` PEM (what `cosign.pub` holds). */
  publicPem: string;
}

/**
 * Generates a P-256 key pair in cosign 2.x's format (scrypt N=65536 by default).
 *
 * @example
 * ```ts
 * import { generateKeyPair } from "./keyfile.ts";
 * const { privatePem, publicPem } = await generateKeyPair({ password: "hello" });
 * ```
 */
export async function generateKeyPair(
  opts: { password: string; scryptN?: number },
): Promise<KeyPairPem> {
  const secret = p256.utils.randomSecretKey();
  const pkcs8 = pkcs8FromSecret(secret);
  const privatePem = await encryptCosignKey(pkcs8, opts.password, opts.scryptN ?? 65536);
  pkcs8.fill(0);
  const publicPem = pemEncode("PUBLIC KEY", spkiFromPoint(p256.getPublicKey(secret, false)));
  secret.fill(0);
  return { privatePem, publicPem };
}

/**
 * Writes `<prefix>.key` (mode 0600) and `<prefix>.pub` (0644), refusing with
 * `KarsError("INPUT")` when either exists (checked before anything is written). Each file is
 * written atomically with `writeFileAtomic` (never replacing an existing file).
 * Returns the two paths.
 *
 * @example
 * ```ts
 * import { generateKeyPair, writeKeyPair } from "./keyfile.ts";
 * await writeKeyPair("cosign", await generateKeyPair({ password: "hello" }));
 * // ["cosign.key", "cosign.pub"]
 * ```
 */
export async function writeKeyPair(prefix: string, pair: KeyPairPem): Promise<[string, string]> {
  const keyPath = `${prefix}.key`, pubPath = `${prefix}.pub`;
  for (const p of [keyPath, pubPath]) {
    try {
      await checkWritable(p);
    } catch (e) {
      if (!isKarsError(e) || e.details?.reason !== "AlreadyExists") throw e;
      throw new KarsError(
        "INPUT",
        `${p} already exists; refusing to overwrite a key (choose another output key prefix)`,
        { cause: e, details: { fixOptions: ["outputKeyPrefix"] } },
      );
    }
  }
  await writeFileAtomic(keyPath, utf8(pair.privatePem), { mode: 0o600 });
  try {
    await writeFileAtomic(pubPath, utf8(pair.publicPem), { mode: 0o644 });
  } catch (e) {
    await unlink(keyPath).catch(() => {});
    throw e;
  }
  return [keyPath, pubPath];
}

/**
 * A {@link Signer} over a loaded private key; identity `key:<16 hex>`.
 *
 * @example
 * ```ts
 * import { KeyFileSigner, loadPrivateKey } from "./keyfile.ts";
 * const key = await loadPrivateKey(await Deno.readTextFile("cosign.key"), "cosign.key", () => "hello");
 * const signer = new KeyFileSigner(key);
 * signer.identity; // "key:0123456789abcdef"
 * ```
 */
export class KeyFileSigner implements Signer {
  #key: LoadedKey;
  /** See {@link Signer.identity}. */
  readonly identity: string;

  /**
   * Wraps a loaded key.
   * @param key the loaded private key
   */
  constructor(key: LoadedKey) {
    this.#key = key;
    this.identity = keyIdentity(key.spkiDer);
  }

  /** See {@link Signer.expectedSigner}: the key's public half. */
  expectedSigner(): Promise<ExpectedSigner> {
    return Promise.resolve({ kind: "key", spkiDer: this.#key.spkiDer });
  }

  /** See {@link Signer.sign}. */
  sign(data: Uint8Array): Promise<Signature> {
    return Promise.resolve({
      signature: signDer(this.#key.secret, data),
      key: { kind: "publicKey", spkiDer: this.#key.spkiDer },
    });
  }
}
