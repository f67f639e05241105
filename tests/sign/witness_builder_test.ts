/**
 * The signature builder composes a Signer with witnesses: it signs once, asks each witness in
 * order with the same signed content, and sorts the evidence by kind; a signature check runs
 * before any witness is asked.
 */
import assert from "node:assert/strict";
import { p256 } from "@noble/curves/nist.js";
import { KeyFileSigner } from "../../lib/sign/keyfile.ts";
import { spkiFromPoint } from "../../lib/sign/p256.ts";
import { SignatureBuilder, type SignedContent, type Witness } from "../../lib/sign/witness.ts";
import type { TlogEntry } from "../../lib/sign/rekor.ts";
import { pae } from "../../lib/sign/bundle.ts";
import { simpleSigningPayload } from "../../lib/cosign/simple_signing.ts";

const DIGEST = `sha256:${"ab".repeat(32)}` as const;

function signer() {
  const secret = p256.utils.randomSecretKey();
  return new KeyFileSigner({ secret, spkiDer: spkiFromPoint(p256.getPublicKey(secret, false)) });
}

function recorder(name: string, seen: string[], tlog: boolean): Witness {
  return {
    name,
    tlog,
    testify(c: SignedContent) {
      seen.push(`${name}:${c.kind}`);
      return Promise.resolve(
        tlog
          ? {
            kind: "tlog-v1",
            entry: { logIndex: seen.length } as unknown as TlogEntry,
          }
          : { kind: "timestamp", rfc3161: new Uint8Array([seen.length]) },
      );
    },
  };
}

Deno.test("witness: the builder signs once and asks every witness in order", async () => {
  const seen: string[] = [];
  const s = signer();
  let signs = 0;
  const counting = { ...s, identity: s.identity, sign: (d: Uint8Array) => (signs++, s.sign(d)) };
  const b = new SignatureBuilder(counting, [
    recorder("tsa", seen, false),
    recorder("rekor-a", seen, true),
    recorder("rekor-b", seen, true),
  ]);
  const legacy = await b.legacy("r.example/p", DIGEST);
  assert.equal(signs, 1);
  assert.deepEqual(seen, ["tsa:message", "rekor-a:message", "rekor-b:message"]);
  assert.deepEqual(legacy.content.payload, simpleSigningPayload("r.example/p", DIGEST));
  assert.equal(legacy.timestamps.length, 1);
  assert.equal(legacy.tlogEntries.length, 2);
  assert.equal(legacy.tlogEntriesV1.length, 2);
  assert.equal(legacy.tlogEntriesV2.length, 0);

  seen.length = 0;
  const dsse = await b.dsse("r.example/p", DIGEST);
  assert.equal(signs, 2);
  assert.deepEqual(seen, ["tsa:dsse", "rekor-a:dsse", "rekor-b:dsse"]);
  assert.equal(dsse.content.kind, "dsse");
  if (dsse.content.kind === "dsse") {
    assert.deepEqual(dsse.content.pae, pae("application/vnd.in-toto+json", dsse.content.payload));
  }
});

Deno.test("witness: a refused signature asks no witness", async () => {
  const seen: string[] = [];
  const b = new SignatureBuilder(signer(), [recorder("tsa", seen, false)], {
    checkSignature: () => {
      throw new Error("refused");
    },
  });
  await assert.rejects(() => b.legacy("r.example/p", DIGEST), /refused/);
  assert.deepEqual(seen, []);
});
