/**
 * Fail-closed property: flipping one bit in any security-relevant field of a valid
 * conformance bundle (signature, certificate, DSSE payload, tlog body, SET, inclusion proof,
 * checkpoint body, RFC 3161 token's signed part) is never accepted, and is always refused
 * with a `KarsError` (never an unexpected exception). Deterministic (seeded).
 */
import assert from "assert";
import { fromBase64, toBase64 } from "../../../lib/encoding/bytes.ts";
import { KarsError } from "../../../lib/errors.ts";
import { pemDecode } from "../../../lib/encoding/pem.ts";
import { verifyBundle } from "../../../lib/verify/sigstore/mod.ts";
import { loadConformanceCases, sharedTrustedRoot } from "./conformance_cases.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** Paths of base64 fields to mutate, present or not in a given bundle. */
function targets(b: Json): Array<{ get(): string; set(v: string): void; what: string }> {
  const out: Array<{ get(): string; set(v: string): void; what: string }> = [];
  const add = (o: Json | undefined, k: string, what: string) => {
    if (o && typeof o[k] === "string") out.push({ get: () => o[k], set: (v) => (o[k] = v), what });
  };
  const vm = b.verificationMaterial;
  add(b.messageSignature, "signature", "message signature");
  add(b.messageSignature?.messageDigest, "digest", "message digest");
  add(b.dsseEnvelope, "payload", "DSSE payload");
  add(b.dsseEnvelope?.signatures?.[0], "sig", "DSSE signature");
  add(vm.certificate, "rawBytes", "certificate");
  add(vm.x509CertificateChain?.certificates?.[0], "rawBytes", "leaf certificate");
  for (const e of vm.tlogEntries ?? []) {
    add(e, "canonicalizedBody", "tlog body");
    add(e.inclusionPromise, "signedEntryTimestamp", "SET");
    add(e.inclusionProof, "rootHash", "proof root hash");
    for (let i = 0; i < (e.inclusionProof?.hashes?.length ?? 0); i++) {
      add(e.inclusionProof.hashes, String(i), `proof hash ${i}`);
    }
  }
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

Deno.test("mutations: one flipped bit in a security-relevant field is always refused", async () => {
  const random = rng(20261126);
  let tried = 0;
  for (const c of loadConformanceCases().filter((x) => x.expectOk)) {
    const opts = {
      trustedRoot: sharedTrustedRoot(c),
      identity: c.identity,
      publicKeys: c.keyPem ? [pemDecode(c.keyPem)!.der] : undefined,
    };
    const original = JSON.parse(c.bundleText) as Json;
    const fieldCount = targets(original).length;
    for (let n = 0; n < 12; n++) {
      const b = JSON.parse(c.bundleText) as Json;
      const fields = targets(b);
      assert.equal(fields.length, fieldCount);
      // Checkpoint body text (not witness lines, which are ignored by design).
      const proof = b.verificationMaterial.tlogEntries?.[0]?.inclusionProof;
      let what: string;
      if (proof?.checkpoint && random() < 0.15) {
        const env: string = proof.checkpoint.envelope;
        const bodyEnd = env.indexOf("\n\n");
        const i = Math.floor(random() * bodyEnd);
        const ch = env.charCodeAt(i) === 0x30 ? "1" : "0";
        proof.checkpoint.envelope = env.slice(0, i) + ch + env.slice(i + 1);
        what = "checkpoint body";
      } else {
        const f = fields[Math.floor(random() * fields.length)];
        const bytes = fromBase64(f.get());
        const i = Math.floor(random() * bytes.length);
        bytes[i] ^= 1 << Math.floor(random() * 8);
        f.set(toBase64(bytes));
        what = `${f.what} byte ${i}`;
      }
      tried++;
      try {
        await verifyBundle(b, { bytes: c.artifact }, opts);
        assert.fail(`${c.name}: accepted with a flipped bit in ${what}`);
      } catch (e) {
        assert.ok(e instanceof KarsError, `${c.name} (${what}): ${e}`);
      }
    }
    // The unmutated bundle still verifies (the loop above is not vacuous).
    await verifyBundle(original, { bytes: c.artifact }, opts);
  }
  assert.equal(tried, 17 * 12);
});
