/**
 * Signature primitives: ECDSA P-256/P-384 (noble), Ed25519 (noble), RSA PKCS#1 v1.5 (BigInt)
 * checked against keys and signatures made by WebCrypto, an independent implementation.
 */
import assert from "assert";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import { p256 } from "@noble/curves/nist.js";
import { concatBytes, utf8 } from "../../../lib/encoding/bytes.ts";
import { decodeDer, derInt, derSeq } from "../../../lib/encoding/der.ts";
import {
  keyIdOf,
  parsePkcs1RsaPublicKey,
  parseSpki,
  verifyDigest,
  verifyMessage,
} from "../../../lib/verify/sigstore/keys.ts";
import { rsaSigner } from "./vectors.ts";

const MSG = utf8("the message");

async function webCryptoKey(alg: EcKeyGenParams | { name: "Ed25519" }) {
  const pair = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]) as CryptoKeyPair;
  return { pair, spki: new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)) };
}

/** WebCrypto ECDSA signatures are r||s; Sigstore uses DER. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const h = raw.length / 2;
  const int = (b: Uint8Array) => derInt(b.reduce((n, x) => (n << 8n) | BigInt(x), 0n));
  return derSeq(int(raw.subarray(0, h)), int(raw.subarray(h)));
}

Deno.test("keys: ECDSA P-256 and P-384 signatures from WebCrypto verify; tampering fails", async () => {
  for (
    const [curve, hash, digest] of [["P-256", "SHA-256", sha256], [
      "P-384",
      "SHA-384",
      sha384,
    ]] as const
  ) {
    const { pair, spki } = await webCryptoKey({ name: "ECDSA", namedCurve: curve });
    const key = parseSpki(spki);
    assert.equal(key.algorithm, curve === "P-256" ? "ecdsa-p256" : "ecdsa-p384");
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash }, pair.privateKey, MSG as BufferSource),
    );
    const sig = rawToDer(raw);
    assert.ok(verifyMessage(key, undefined, MSG, sig), curve);
    assert.ok(verifyDigest(key, curve === "P-256" ? "sha256" : "sha384", digest(MSG), sig));
    assert.ok(!verifyMessage(key, undefined, utf8("other"), sig));
    const bad = sig.slice();
    bad[bad.length - 1] ^= 1;
    assert.ok(!verifyMessage(key, undefined, MSG, bad));
    assert.ok(!verifyMessage(key, undefined, MSG, raw), "raw r||s is not DER");
  }
});

Deno.test("keys: high-S ECDSA signatures are accepted (OpenSSL and Go produce them)", () => {
  const priv = p256.utils.randomSecretKey();
  const spki = concatBytes(
    Uint8Array.from([
      0x30,
      0x59,
      0x30,
      0x13,
      0x06,
      0x07,
      0x2a,
      0x86,
      0x48,
      0xce,
      0x3d,
      0x02,
      0x01,
      0x06,
      0x08,
      0x2a,
      0x86,
      0x48,
      0xce,
      0x3d,
      0x03,
      0x01,
      0x07,
      0x03,
      0x42,
      0x00,
    ]),
    p256.getPublicKey(priv, false),
  );
  const low = p256.Signature.fromBytes(p256.sign(sha256(MSG), priv, { prehash: false }));
  const high = new p256.Signature(low.r, p256.Point.CURVE().n - low.s);
  const key = parseSpki(spki);
  assert.ok(verifyDigest(key, "sha256", sha256(MSG), low.toBytes("der")));
  assert.ok(verifyDigest(key, "sha256", sha256(MSG), high.toBytes("der")));
});

Deno.test("keys: Ed25519 from WebCrypto verifies over the message; never over a digest", async () => {
  const { pair, spki } = await webCryptoKey({ name: "Ed25519" });
  const key = parseSpki(spki);
  assert.equal(key.algorithm, "ed25519");
  const sig = new Uint8Array(
    await crypto.subtle.sign("Ed25519", pair.privateKey, MSG as BufferSource),
  );
  assert.ok(verifyMessage(key, undefined, MSG, sig));
  assert.ok(!verifyMessage(key, undefined, utf8("other"), sig));
  assert.ok(!verifyDigest(key, "sha256", sha256(MSG), sig));
});

Deno.test("keys: RSA PKCS#1 v1.5 from WebCrypto verifies (SPKI and PKCS#1 forms); tampering fails", async () => {
  const signer = await rsaSigner();
  const sig = await signer.sign(MSG);
  for (const key of [parseSpki(signer.spki), parsePkcs1RsaPublicKey(signer.pkcs1)]) {
    assert.equal(key.algorithm, "rsa");
    assert.ok(verifyMessage(key, "sha256", MSG, sig));
    assert.ok(verifyDigest(key, "sha256", sha256(MSG), sig));
    assert.ok(!verifyDigest(key, "sha384", sha384(MSG), sig), "other DigestInfo");
    assert.ok(!verifyMessage(key, "sha256", utf8("other"), sig));
    const bad = sig.slice();
    bad[0] ^= 1;
    assert.ok(!verifyMessage(key, "sha256", MSG, bad));
    assert.ok(!verifyMessage(key, "sha256", MSG, sig.subarray(1)), "short signature");
  }
  assert.deepEqual(parsePkcs1RsaPublicKey(signer.pkcs1).spki, signer.spki);
  assert.equal(keyIdOf(signer.spki).length, 16);
});

Deno.test("keys: unsupported or malformed keys are refused", () => {
  assert.throws(() => parseSpki(new Uint8Array([0x30, 0x00])), TypeError);
  assert.throws(() => parseSpki(utf8("not der")), TypeError);
  // An RSA key below 2048 bits.
  const small = derSeq(derInt(0xc0ffeen * (1n << 1000n) + 1n), derInt(65537n));
  assert.throws(() => parsePkcs1RsaPublicKey(small), /too small/);
  assert.ok(decodeDer(small));
});
