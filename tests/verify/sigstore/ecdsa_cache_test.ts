/**
 * The verifier's cached-key ECDSA path (a trust-root key verified again: precomputed point) must
 * decide exactly as noble's `verify` does, for valid signatures and every kind of bad one.
 */
import assert from "assert";
import { p256, p384 } from "@noble/curves/nist.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { parseSpki, verifyDigest } from "../../../lib/verify/sigstore/keys.ts";
import { spkiFromPoint } from "../../../lib/sign/p256.ts";
import { derBitString, derOid, derSeq } from "../../../lib/encoding/der.ts";
import { prng } from "../../support/prng.ts";

function p384Spki(point: Uint8Array): Uint8Array {
  return derSeq(derSeq(derOid("1.2.840.10045.2.1"), derOid("1.3.132.0.34")), derBitString(point));
}

/** DER of (r, s) exactly as given (no range checks), for out-of-range vectors. */
function derSig(r: bigint, s: bigint): Uint8Array {
  const int = (n: bigint) => {
    let h = n.toString(16);
    if (h.length % 2) h = "0" + h;
    let b = h.match(/../g)!.map((x) => parseInt(x, 16));
    if (b[0] & 0x80) b = [0, ...b];
    return [0x02, b.length, ...b];
  };
  const body = [...int(r), ...int(s)];
  return new Uint8Array([0x30, body.length, ...body]);
}

Deno.test("ecdsa: the cached-key path agrees with noble's verify on valid and invalid signatures", () => {
  const rnd = prng(20261130);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd.int(256));
  const curves = [
    {
      name: "P-256",
      c: p256,
      spki: (pt: Uint8Array) => spkiFromPoint(pt),
      hashes: [sha256, sha384, sha512],
    },
    { name: "P-384", c: p384, spki: p384Spki, hashes: [sha384, sha256, sha512] },
  ];
  let checked = 0, accepted = 0;
  for (const { name, c, spki, hashes } of curves) {
    for (let k = 0; k < 2; k++) {
      const secret = c.utils.randomSecretKey(bytes(c.lengths.seed ?? 48));
      const point = c.getPublicKey(secret, false);
      const key = parseSpki(spki(point));
      // Warm: the first use takes noble's path; every later use takes the cached path.
      verifyDigest(key, "sha256", new Uint8Array(32), new Uint8Array(8));
      const n = c.Point.Fn.ORDER;
      for (let i = 0; i < 8; i++) {
        const hash = hashes[i % hashes.length];
        const digest = hash(bytes(40));
        const sig = c.sign(digest, secret, { prehash: false, lowS: i % 2 === 0, format: "der" });
        const { r, s } = c.Signature.fromBytes(sig, "der");
        const flipped = sig.slice();
        flipped[8 + (i % (sig.length - 8))] ^= 1 << (i % 8);
        const otherDigest = digest.slice();
        otherDigest[i % digest.length] ^= 0x80;
        const cases: [string, Uint8Array, Uint8Array][] = [
          ["valid", digest, sig],
          ["high-S twin", digest, derSig(r, n - s)],
          ["other digest", otherDigest, sig],
          ["flipped bit", digest, flipped],
          ["r = 0", digest, derSig(0n, s)],
          ["s = 0", digest, derSig(r, 0n)],
          ["r = n", digest, derSig(n, s)],
          ["s = n + s", digest, derSig(r, n + s)],
          ["truncated", digest, sig.subarray(0, sig.length - 1)],
          ["empty", digest, new Uint8Array()],
        ];
        for (const [what, d, sg] of cases) {
          const want = c.verify(sg, d, point, { prehash: false, lowS: false, format: "der" });
          const got = verifyDigest(key, "sha256", d, sg);
          assert.equal(got, want, `${name} key ${k} sig ${i}: ${what}`);
          checked++;
          if (got) accepted++;
        }
      }
    }
  }
  assert.ok(accepted >= 2 * 2 * 8 * 2, `valid and high-S signatures accepted (${accepted})`);
  assert.equal(checked, 2 * 2 * 8 * 10);
});
