import assert from "assert";
import { fromBase64, fromUtf8, toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { isKarsError } from "../../lib/errors.ts";
import { inclusionRoot, uploadDsse, uploadHashedRekord } from "../../lib/sign/rekor.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, concatBytes } from "../../lib/encoding/bytes.ts";
import { requestTimestamp, timeStampRequest } from "../../lib/sign/tsa.ts";
import { decodeDer, readInt, readOid } from "../../lib/encoding/der.ts";
import { dsseEnvelope } from "../../lib/sign/bundle.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";

Deno.test("tsa: request is a DER TimeStampReq (v1, SHA-256 imprint, nonce, certReq)", () => {
  const req = decodeDer(timeStampRequest(utf8("sig"), 12345n));
  assert.equal(readInt(req.children[0]), 1n);
  assert.equal(readOid(req.children[1].children[0].children[0]), "2.16.840.1.101.3.4.2.1");
  assert.equal(req.children[1].children[1].value.length, 32);
  assert.equal(readInt(req.children[2]), 12345n);
  assert.equal(req.children[3].value[0], 0xff);
});

Deno.test("tsa: a granted timestamp is returned; a reply for other data or another nonce is refused", async () => {
  const mock = await startSigstoreMock();
  try {
    const tsr = await requestTimestamp({ tsaUrl: mock.tsaUrl }, utf8("signature bytes"));
    assert.equal(readInt(decodeDer(tsr).children[0].children[0]), 0n, "status granted");
    // A TSA that timestamps something else (replayed request for other data).
    const otherData = (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, { ...init, body: timeStampRequest(utf8("other"), 7n) as BufferSource });
    await assert.rejects(
      requestTimestamp({ tsaUrl: mock.tsaUrl, fetch: otherData }, utf8("signature bytes")),
      (e) => isKarsError(e, "SIGN") && /message imprint mismatch/.test(e.message),
    );
    // Same data, different nonce.
    const otherNonce = (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, {
        ...init,
        body: timeStampRequest(utf8("signature bytes"), 7n) as BufferSource,
      });
    await assert.rejects(
      requestTimestamp({ tsaUrl: mock.tsaUrl, fetch: otherNonce }, utf8("signature bytes")),
      (e) => isKarsError(e, "SIGN") && /nonce mismatch/.test(e.message),
    );
    mock.fail.tsa = 503;
    await assert.rejects(
      requestTimestamp({ tsaUrl: mock.tsaUrl }, utf8("x")),
      (e) =>
        isKarsError(e, "TRANSIENT") && /TSA at .* answered HTTP 503.*retry later/.test(e.message),
    );
  } finally {
    await mock.stop();
  }
});

Deno.test("rekor: entries keep SET, inclusion proof and checkpoint; a log answering with another entry is refused", async () => {
  const mock = await startSigstoreMock();
  try {
    const pem = "-----BEGIN PUBLIC KEY-----\nAQ==\n-----END PUBLIC KEY-----\n";
    const e = await uploadHashedRekord(
      { rekorUrl: mock.rekorUrl },
      utf8("payload"),
      utf8("sig"),
      pem,
    );
    assert.equal(e.kind, "hashedrekord");
    assert.ok(e.signedEntryTimestamp && e.inclusionProof?.checkpoint && e.logID.length === 64);
    const body = JSON.parse(fromUtf8(fromBase64(e.body)));
    assert.equal(body.spec.signature.content, toBase64(utf8("sig")));

    const env = dsseEnvelope(utf8("{}"), utf8("dsse-sig"));
    const d = await uploadDsse({ rekorUrl: mock.rekorUrl }, JSON.stringify(env), pem);
    assert.equal(d.kind, "dsse");
    const dbody = JSON.parse(fromUtf8(fromBase64(d.body)));
    assert.equal(dbody.spec.signatures[0].signature, env.signatures[0].sig);
    assert.ok(dbody.spec.payloadHash.value && dbody.spec.envelopeHash.value);

    // A log that answers with an entry for a different signature.
    const swap = (input: string | URL | Request, init?: RequestInit) => {
      const proposed = JSON.parse(String(init?.body));
      proposed.spec.signature.content = toBase64(utf8("someone else"));
      return fetch(input, { ...init, body: JSON.stringify(proposed) });
    };
    await assert.rejects(
      uploadHashedRekord({ rekorUrl: mock.rekorUrl, fetch: swap }, utf8("p"), utf8("sig"), pem),
      (err) =>
        isKarsError(err, "SIGN") && /not the hashedrekord entry that was sent/.test(err.message),
    );
  } finally {
    await mock.stop();
  }
});

Deno.test("rekor: an inclusion proof that does not lead to its root, or a checkpoint for another root, is refused", async () => {
  const mock = await startSigstoreMock();
  try {
    const pem = "-----BEGIN PUBLIC KEY-----\nAQ==\n-----END PUBLIC KEY-----\n";
    const tamper =
      (f: (proof: Record<string, unknown>) => void) =>
      async (input: string | URL | Request, init?: RequestInit) => {
        const r = await fetch(input, init);
        const j = await r.json();
        for (const v of Object.values(j)) {
          f(
            (v as { verification: { inclusionProof: Record<string, unknown> } }).verification
              .inclusionProof,
          );
        }
        return Response.json(j, { status: r.status });
      };
    const cases: Array<[(p: Record<string, unknown>) => void, RegExp]> = [
      [(p) => (p.rootHash = "00".repeat(32)), /does not lead to its root hash/],
      [(p) => (p.hashes = ["11".repeat(32)]), /malformed \(path too long\)/],
      [(p) => (p.logIndex = 5), /malformed \(index out of range\)/],
      [(p) => {
        const lines = String(p.checkpoint).split("\n");
        lines[2] = toBase64(new Uint8Array(32));
        p.checkpoint = lines.join("\n");
      }, /checkpoint names another root/],
    ];
    for (const [f, re] of cases) {
      await assert.rejects(
        uploadHashedRekord(
          { rekorUrl: mock.rekorUrl, fetch: tamper(f) },
          utf8("p"),
          utf8("s"),
          pem,
        ),
        (e) => isKarsError(e, "SIGN") && re.test(e.message),
        String(re),
      );
    }
  } finally {
    await mock.stop();
  }
});

/** Reference RFC 9162 tree: MTH and PATH computed recursively from the definition. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return sha256(concatBytes(new Uint8Array([0]), leaves[0]));
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(concatBytes(new Uint8Array([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k))));
}
function path(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length === 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

Deno.test("rekor: inclusionRoot matches the RFC 9162 definition for every index of trees of size 1..17", () => {
  for (let n = 1; n <= 17; n++) {
    const leaves = Array.from({ length: n }, (_, i) => utf8(`leaf ${i}`));
    const root = mth(leaves);
    for (let m = 0; m < n; m++) {
      const leafHash = sha256(concatBytes(new Uint8Array([0]), leaves[m]));
      assert.ok(bytesEqual(inclusionRoot(leafHash, m, n, path(m, leaves)), root), `n=${n} m=${m}`);
      if (n > 1) {
        const wrong = path(m, leaves);
        wrong[0] = sha256(utf8("x"));
        assert.ok(!bytesEqual(inclusionRoot(leafHash, m, n, wrong), root));
      }
    }
  }
  assert.throws(() => inclusionRoot(new Uint8Array(32), 0, 2, []), /path too short/);
});
