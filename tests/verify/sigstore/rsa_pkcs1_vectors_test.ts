/**
 * RSA PKCS#1 v1.5 verification checks the whole EMSA-PKCS1-v1_5 encoding (RFC 8017 §9.2), not
 * just the digest at its end: each vector below is a "signature" made with the private key
 * (raw RSA, s = EM^d mod n) over a chosen encoding EM. The correct encoding must verify (so the
 * harness can tell success from failure); every malformed one must not — bad block type, a
 * non-0xFF or short padding string, a missing separator, a DigestInfo with another hash OID,
 * without the NULL parameters, or with a wrong length, and garbage after the digest
 * (Bleichenbacher 2006).
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, fromHex } from "../../../lib/encoding/bytes.ts";
import { parseSpki, verifyDigest } from "../../../lib/verify/sigstore/keys.ts";

const SHA256_DIGEST_INFO = fromHex("3031300d060960864801650304020105000420");

function b64urlInt(s: string): bigint {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  let n = 0n;
  for (let i = 0; i < bin.length; i++) n = (n << 8n) | BigInt(bin.charCodeAt(i));
  return n;
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

function toBytes(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function fromBytes(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** EM = 00 01 PS 00 T, with the parts overridable; always `k` bytes (zero-filled on the left). */
function em(k: number, t: Uint8Array, o: { bt?: number; ps?: Uint8Array; sep?: number[] } = {}) {
  const sep = o.sep ?? [0x00];
  const ps = o.ps ?? new Uint8Array(k - 3 - t.length).fill(0xff);
  const body = concatBytes(new Uint8Array([0x00, o.bt ?? 0x01]), ps, new Uint8Array(sep), t);
  assert.ok(body.length <= k, "vector longer than the modulus");
  return concatBytes(new Uint8Array(k - body.length), body);
}

Deno.test("keys: RSA PKCS#1 v1.5 verification checks the full encoding (negative vectors)", async () => {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const n = b64urlInt(jwk.n!);
  const d = b64urlInt(jwk.d!);
  const k = 256;
  const key = parseSpki(new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)));
  const sign = (encoded: Uint8Array) => toBytes(modPow(fromBytes(encoded), d, n), k);

  const digest = sha256(new TextEncoder().encode("kars allowlist"));
  const t = concatBytes(SHA256_DIGEST_INFO, digest);

  // Positive control: the correct encoding, signed by hand, verifies (and equals WebCrypto's).
  const good = sign(em(k, t));
  assert.ok(verifyDigest(key, "sha256", digest, good));
  const webcrypto = new Uint8Array(
    await crypto.subtle.sign(
      "RSASSA-PKCS1-v1_5",
      pair.privateKey,
      new TextEncoder().encode("kars allowlist"),
    ),
  );
  assert.deepEqual(good, webcrypto);

  const psLen = k - 3 - t.length;
  const vectors: [string, Uint8Array][] = [
    ["block type 02", em(k, t, { bt: 0x02 })],
    ["block type 00", em(k, t, { bt: 0x00 })],
    [
      "a padding byte is not FF",
      em(k, t, { ps: new Uint8Array(psLen).fill(0xff).fill(0xfe, 9, 10) }),
    ],
    ["padding of zeros", em(k, t, { ps: new Uint8Array(psLen) })],
    [
      "short padding string (7 bytes), garbage after the digest",
      em(k, concatBytes(t, new Uint8Array(psLen - 7).fill(0x41)), {
        ps: new Uint8Array(7).fill(0xff),
      }),
    ],
    [
      "short padding string, left-shifted encoding (leading zero, digest at the end)",
      em(k, t, { ps: new Uint8Array(psLen - 1).fill(0xff) }),
    ],
    ["no 00 separator (FF instead)", em(k, t, { sep: [0xff] })],
    [
      "DigestInfo names SHA-384 over a SHA-256 digest",
      em(k, concatBytes(fromHex("3031300d060960864801650304020205000420"), digest)),
    ],
    [
      "DigestInfo without the NULL parameters",
      em(k, concatBytes(fromHex("302f300b0609608648016503040201" + "0420"), digest)),
    ],
    [
      "DigestInfo with a wrong OCTET STRING length",
      em(k, concatBytes(fromHex("3031300d060960864801650304020105000421"), digest)),
    ],
    ["digest of another message", em(k, concatBytes(SHA256_DIGEST_INFO, sha256(new Uint8Array())))],
    [
      "garbage after the digest (Bleichenbacher 2006)",
      em(k, concatBytes(t, new Uint8Array(16).fill(0x42)), {
        ps: new Uint8Array(psLen - 16).fill(0xff),
      }),
    ],
    ["bare digest, no DigestInfo", em(k, digest)],
  ];
  for (const [why, encoded] of vectors) {
    assert.equal(encoded.length, k, why);
    assert.ok(!verifyDigest(key, "sha256", digest, sign(encoded)), `accepted: ${why}`);
  }
  // Out-of-range signature values: s ≥ n, and one byte short.
  assert.ok(!verifyDigest(key, "sha256", digest, toBytes(n, k)), "s = n");
  assert.ok(!verifyDigest(key, "sha256", digest, good.subarray(1)), "short signature");
});
