import { signatureTag } from "../../lib/cosign/vocabulary.ts";
import assert from "assert";
import { fromBase64, fromUtf8, toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { isKarsError } from "../../lib/errors.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import {
  checkSimpleSigningPayload,
  simpleSigningPayload,
} from "../../lib/cosign/simple_signing.ts";
import {
  legacyLayerToBundle,
  publicKeysFromRekorBody,
  rekorBundleToTlogEntry,
} from "../../lib/verify/legacy.ts";
import {
  discoverSignatures,
  MAX_PAYLOAD_BYTES,
  MAX_SIGNATURES,
} from "../../lib/verify/discover.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { oracleVerify } from "../support/node_oracle.ts";
import {
  appendLegacyLayer,
  attachBundle,
  keylessSigner,
  keySigner,
  pushAllowlist,
  signBundle,
  signLegacy,
} from "./fixtures.ts";

const REG = "registry.example:5000";
const REPO = "policy/egress-allowlist/my-agent";

function sigLayers(t: MemoryTarget, digest: `sha256:${string}`) {
  return discoverSignatures(t, digest);
}

Deno.test("legacy: keyless and key .sig layers convert to v0.1 bundles; the key one verifies in @sigstore/verify (node oracle)", async () => {
  const mock = await startSigstoreMock();
  try {
    const t = new MemoryTarget(`${REG}/${REPO}`);
    const a = await pushAllowlist(t);
    await signLegacy(t, {
      registry: REG,
      repository: REPO,
      digest: a.manifestDigest,
      signer: keylessSigner(mock),
      rekorUrl: mock.rekorUrl,
    });
    const key = keySigner();
    await signLegacy(t, {
      registry: REG,
      repository: REPO,
      digest: a.manifestDigest,
      signer: key.signer,
      rekorUrl: mock.rekorUrl,
    });
    const found = await sigLayers(t, a.manifestDigest);
    assert.deepEqual(found.problems, []);
    assert.equal(found.candidates.length, 2);
    const [kl, kf] = found.candidates;
    assert.ok(kl.format === "legacy" && kf.format === "legacy");
    assert.equal(kl.where, `${signatureTag(a.manifestDigest)} layer 0`);
    const b1 = legacyLayerToBundle(kl.payload, kl.annotations);
    const b2 = legacyLayerToBundle(kf.payload, kf.annotations);
    assert.equal(b1.mediaType, "application/vnd.dev.sigstore.bundle+json;version=0.1");
    assert.ok(b1.verificationMaterial.x509CertificateChain!.certificates.length >= 1);
    assert.equal(b1.verificationMaterial.tlogEntries[0].kindVersion.kind, "hashedrekord");
    assert.deepEqual(b2.verificationMaterial.publicKey, {});
    // The key-signed layer (with its Rekor SET) verifies in the oracle; a tampered copy does not.
    // (Keyless bundles from the mock Fulcio are checked through our engine in verdict_test.ts:
    // @sigstore/verify 3.1 stops on the mock certificate with "request past end of buffer",
    // for this conversion and for lib/sign's alike.)
    const tampered = structuredClone(b2);
    const sig = fromBase64(tampered.messageSignature.signature);
    sig[sig.length - 1] ^= 1;
    tampered.messageSignature.signature = toBase64(sig);
    const otherSet = structuredClone(b2);
    otherSet.verificationMaterial.tlogEntries[0].integratedTime = String(
      Number(otherSet.verificationMaterial.tlogEntries[0].integratedTime) + 1,
    );
    const res = await oracleVerify([
      { bundle: b2, artifact: kf.payload, trustedRoot: mock.trustedRoot, keyPem: key.publicPem },
      {
        bundle: tampered,
        artifact: kf.payload,
        trustedRoot: mock.trustedRoot,
        keyPem: key.publicPem,
      },
      {
        bundle: otherSet,
        artifact: kf.payload,
        trustedRoot: mock.trustedRoot,
        keyPem: key.publicPem,
      },
    ]);
    assert.equal(res[0].ok, true, JSON.stringify(res[0]));
    assert.equal(res[1].ok, false);
    assert.equal(res[2].ok, false, "the SET must cover integratedTime");
    // the key signature's Rekor body names its public key
    const keys = publicKeysFromRekorBody(b2.verificationMaterial.tlogEntries[0].canonicalizedBody);
    assert.deepEqual(keys, [key.spki]);
    assert.deepEqual(
      publicKeysFromRekorBody(b1.verificationMaterial.tlogEntries[0].canonicalizedBody),
      [],
    );
  } finally {
    await mock.stop();
  }
});

Deno.test("legacy: the payload must bind this digest and this repository", () => {
  const d = `sha256:${"a".repeat(64)}` as const;
  const other = `sha256:${"b".repeat(64)}` as const;
  const expect = { digest: d, registry: REG, repository: REPO };
  checkSimpleSigningPayload(simpleSigningPayload(`${REG}/${REPO}`, d), expect);
  const refuses = (payload: Uint8Array, part: string) =>
    assert.throws(() => checkSimpleSigningPayload(payload, expect), (e: unknown) => {
      assert.ok(isKarsError(e, "VERIFY"));
      assert.equal(e.details?.reason, "SignatureVerifyFailed");
      assert.ok(e.message.includes(part), e.message);
      return true;
    });
  refuses(simpleSigningPayload(`${REG}/${REPO}`, other), `not over ${d}`);
  refuses(
    simpleSigningPayload(`${REG}/policy/egress-allowlist/other`, d),
    "copied from another repository",
  );
  refuses(simpleSigningPayload(`other.example/${REPO}`, d), "copied from another repository");
  refuses(utf8("not json"), "not JSON");
  const p = JSON.parse(fromUtf8(simpleSigningPayload(`${REG}/${REPO}`, d)));
  p.critical.type = "atomic container signature";
  refuses(utf8(JSON.stringify(p)), "payload type");
});

Deno.test("legacy: malformed annotations are refused with a clear reason", () => {
  const payload = utf8("{}");
  const bad = (ann: Record<string, string>, part: string) =>
    assert.throws(() => legacyLayerToBundle(payload, ann), (e: unknown) => {
      assert.ok(isKarsError(e, "VERIFY"));
      assert.equal(e.details?.reason, "SignatureVerifyFailed");
      assert.ok(e.message.includes(part), e.message);
      return true;
    });
  bad({}, "no dev.cosignproject.cosign/signature");
  bad({ "dev.cosignproject.cosign/signature": "%%%" }, "not valid base64");
  bad(
    { "dev.cosignproject.cosign/signature": "AQ==", "dev.sigstore.cosign/bundle": "{" },
    "is not JSON",
  );
  bad(
    {
      "dev.cosignproject.cosign/signature": "AQ==",
      "dev.sigstore.cosign/bundle": '{"Payload":{}}',
    },
    "lacks SignedEntryTimestamp",
  );
  bad(
    {
      "dev.cosignproject.cosign/signature": "AQ==",
      "dev.sigstore.cosign/certificate":
        "-----BEGIN PUBLIC KEY-----\nAQ==\n-----END PUBLIC KEY-----\n",
    },
    "unexpected PEM block",
  );
  bad(
    { "dev.cosignproject.cosign/signature": "AQ==", "dev.sigstore.cosign/rfc3161timestamp": "{}" },
    "no SignedRFC3161Timestamp",
  );
  const body = toBase64(
    utf8(JSON.stringify({ apiVersion: "0.0.1", kind: "hashedrekord", spec: {} })),
  );
  const e = rekorBundleToTlogEntry(
    JSON.stringify({
      SignedEntryTimestamp: "AQID",
      Payload: { body, integratedTime: 7, logIndex: 9, logID: "0a0b" },
    }),
  );
  assert.deepEqual(e, {
    logIndex: "9",
    logId: { keyId: "Cgs=" },
    kindVersion: { kind: "hashedrekord", version: "0.0.1" },
    integratedTime: "7",
    inclusionPromise: { signedEntryTimestamp: "AQID" },
    canonicalizedBody: body,
  });
});

Deno.test("discover: finds legacy layers and bundle referrers; reports broken ones as problems", async () => {
  const t = new MemoryTarget("mem");
  const a = await pushAllowlist(t);
  const key = keySigner();
  await signLegacy(t, {
    registry: REG,
    repository: REPO,
    digest: a.manifestDigest,
    signer: key.signer,
  });
  await signBundle(t, {
    registry: REG,
    repository: REPO,
    digest: a.manifestDigest,
    signer: key.signer,
    subjectSize: a.manifestBytes.length,
  });
  // an unsigned layer and a bundle that is not an object: found (and refused later by the verdict)
  await appendLegacyLayer(t, a.manifestDigest, utf8("{}"), {
    "dev.cosignproject.cosign/signature": "AQ==",
  });
  await attachBundle(t, a.manifestDigest, a.manifestBytes.length, "not an object");
  // a referrer whose bundle blob is missing
  const missing = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    config: {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: digestBytes(utf8("{}")),
      size: 2,
    },
    layers: [{
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      digest: `sha256:${"1".repeat(64)}`,
      size: 5,
    }],
    subject: {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: a.manifestDigest,
      size: a.manifestBytes.length,
    },
  };
  const mbytes = utf8(JSON.stringify(missing));
  await t.pushManifest(mbytes, "application/vnd.oci.image.manifest.v1+json");
  const found = await discoverSignatures(t, a.manifestDigest);
  assert.deepEqual(found.candidates.map((c) => c.format).sort(), [
    "bundle",
    "bundle",
    "legacy",
    "legacy",
  ]);
  assert.equal(found.problems.length, 1);
  assert.equal(found.problems[0].where, `referrer ${digestBytes(mbytes)}`);
  assert.match(found.problems[0].message, /not found/);
  // nothing for another digest
  const none = await discoverSignatures(t, `sha256:${"0".repeat(64)}`);
  assert.deepEqual(none, { candidates: [], problems: [] });
});

Deno.test("discover: bounded work on a hostile .sig manifest (layer count and payload size)", async () => {
  const t = new MemoryTarget("mem");
  const a = await pushAllowlist(t);
  const big = utf8("x".repeat(MAX_PAYLOAD_BYTES + 1));
  await appendLegacyLayer(t, a.manifestDigest, big, {
    "dev.cosignproject.cosign/signature": "AQ==",
  });
  for (let i = 0; i < MAX_SIGNATURES; i++) {
    await appendLegacyLayer(t, a.manifestDigest, utf8(`{"n":${i}}`), {
      "dev.cosignproject.cosign/signature": "AQ==",
    });
  }
  const found = await discoverSignatures(t, a.manifestDigest);
  assert.equal(
    found.candidates.length,
    MAX_SIGNATURES - 1,
    "the oversized payload is skipped, the 65th layer not read",
  );
  assert.deepEqual(found.problems.map((p) => p.message.split(" ")[0]), [
    `${MAX_SIGNATURES + 1}`,
    "payload",
  ]);
});
