/**
 * verifyBundle on vectors made here (our own signers and transparency log) and on
 * conformance bundles altered here: each tamper fails with its exact reason, and each
 * negative has a passing positive control built the same way.
 */
import assert from "assert";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64, toBase64, utf8 } from "../../../lib/encoding/bytes.ts";
import { KarsError } from "../../../lib/errors.ts";
import {
  loadTrustedRoot,
  parseTrustedRoot,
  productionTrustedRoot,
  verifyBundle,
} from "../../../lib/verify/sigstore/mod.ts";
import { loadConformanceCases } from "./conformance_cases.ts";
import {
  keyBundle,
  p256Log,
  p256Signer,
  rsaLog,
  rsaSigner,
  setPayload,
  trustRootJson,
} from "./vectors.ts";

const ARTIFACT = utf8("kars egress allowlist v1\n");

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof KarsError) return String(e.details?.reason ?? e.code);
    throw e;
  }
}

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}

function entry(b: Json): Json {
  return b.verificationMaterial.tlogEntries[0];
}

Deno.test("key bundle with our own P-256 log: verifies from bytes and from digest", async () => {
  const log = p256Log();
  const signer = p256Signer();
  const bundle = await keyBundle({ artifact: ARTIFACT, signer, log });
  const trustedRoot = loadTrustedRoot(trustRootJson([log]));
  for (const artifact of [{ bytes: ARTIFACT }, { digest: sha256(ARTIFACT) }]) {
    const v = await verifyBundle(bundle, artifact, { trustedRoot, publicKeys: [signer.spki] });
    assert.equal(v.kind, "key");
    assert.equal(v.tlog, "verified");
    assert.equal(
      v.keyId,
      Array.from(sha256(signer.spki).subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(
        "",
      ),
    );
    assert.equal(v.signedAt?.getTime(), 1_700_000_000_000);
  }
});

Deno.test("tampered signature, wrong key, other artifact: SignatureVerifyFailed", async () => {
  const log = p256Log();
  const signer = p256Signer();
  const bundle = await keyBundle({ artifact: ARTIFACT, signer, log });
  const trustedRoot = loadTrustedRoot(trustRootJson([log]));
  const tampered = clone(bundle) as Json;
  const sig = fromBase64(tampered.messageSignature.signature);
  sig[sig.length - 3] ^= 0x01;
  tampered.messageSignature.signature = toBase64(sig);
  assert.equal(
    await reason(
      verifyBundle(tampered, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [signer.spki] }),
    ),
    "SignatureVerifyFailed",
  );
  assert.equal(
    await reason(
      verifyBundle(bundle, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [p256Signer().spki] }),
    ),
    "SignatureVerifyFailed",
  );
  assert.equal(
    await reason(
      verifyBundle(bundle, { bytes: utf8("other") }, { trustedRoot, publicKeys: [signer.spki] }),
    ),
    "SignatureVerifyFailed",
  );
  assert.equal(
    await reason(verifyBundle(bundle, { bytes: ARTIFACT }, { trustedRoot })),
    "SignatureVerifyFailed",
  );
  // The right key among others is found.
  assert.equal(
    await reason(
      verifyBundle(bundle, { bytes: ARTIFACT }, {
        trustedRoot,
        publicKeys: [p256Signer().spki, signer.spki],
      }),
    ),
    "ok",
  );
});

Deno.test("SET signed by the wrong key: TlogInvalid", async () => {
  const log = p256Log();
  const signer = p256Signer();
  const bad = await keyBundle({ artifact: ARTIFACT, signer, log, setSigner: p256Signer() });
  const trustedRoot = loadTrustedRoot(trustRootJson([log]));
  assert.equal(
    await reason(
      verifyBundle(bad, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [signer.spki] }),
    ),
    "TlogInvalid",
  );
  // A SET over a different integrated time than the entry claims.
  const good = await keyBundle({ artifact: ARTIFACT, signer, log });
  const moved = clone(good) as Json;
  entry(moved).integratedTime = "1700000001";
  assert.equal(
    await reason(
      verifyBundle(moved, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [signer.spki] }),
    ),
    "TlogInvalid",
  );
});

Deno.test("inclusion proof mutations and checkpoint faults: TlogInvalid", async () => {
  const log = p256Log();
  const signer = p256Signer();
  const bundle = await keyBundle({ artifact: ARTIFACT, signer, log, treeSize: 7 });
  const trustedRoot = loadTrustedRoot(trustRootJson([log]));
  const opts = { trustedRoot, publicKeys: [signer.spki] };
  assert.equal(await reason(verifyBundle(bundle, { bytes: ARTIFACT }, opts)), "ok");
  const proof = entry(bundle).inclusionProof;
  assert.ok(proof.hashes.length >= 2);
  const mutations: Array<[string, (p: Json) => void]> = [
    ["flipped hash", (p) => {
      const h = fromBase64(p.hashes[1]);
      h[0] ^= 0x80;
      p.hashes[1] = toBase64(h);
    }],
    ["dropped hash", (p) => p.hashes.pop()],
    ["extra hash", (p) => p.hashes.push(p.hashes[0])],
    ["swapped hashes", (p) => p.hashes.reverse()],
    ["other index", (p) => (p.logIndex = "3")],
    ["index beyond size", (p) => (p.logIndex = "7")],
    ["other tree size", (p) => (p.treeSize = "8")],
    ["other root", (p) => (p.rootHash = toBase64(sha256(utf8("x"))))],
  ];
  for (const [what, mutate] of mutations) {
    const b = clone(bundle) as Json;
    mutate(entry(b).inclusionProof);
    assert.equal(await reason(verifyBundle(b, { bytes: ARTIFACT }, opts)), "TlogInvalid", what);
  }
  // Checkpoint signed by another key under the log's name.
  const other = { ...p256Log(), baseUrl: log.baseUrl, logId: log.logId };
  const forged = await keyBundle({
    artifact: ARTIFACT,
    signer,
    log,
    treeSize: 7,
    checkpointLog: other,
  });
  assert.equal(await reason(verifyBundle(forged, { bytes: ARTIFACT }, opts)), "TlogInvalid");
});

Deno.test("tlog body for another artifact: TlogInvalid; log not in the trusted root: TlogInvalid", async () => {
  const log = p256Log();
  const signer = p256Signer();
  const trustedRoot = loadTrustedRoot(trustRootJson([log]));
  const b = await keyBundle({ artifact: ARTIFACT, signer, log, bodyDigest: sha256(utf8("other")) });
  assert.equal(
    await reason(verifyBundle(b, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [signer.spki] })),
    "TlogInvalid",
  );
  const good = await keyBundle({ artifact: ARTIFACT, signer, log });
  const otherRoot = loadTrustedRoot(trustRootJson([p256Log()]));
  assert.equal(
    await reason(
      verifyBundle(good, { bytes: ARTIFACT }, {
        trustedRoot: otherRoot,
        publicKeys: [signer.spki],
      }),
    ),
    "TlogInvalid",
  );
});

Deno.test("requireTlog, future times, identity on a key bundle", async () => {
  const log = p256Log();
  const signer = p256Signer();
  const trustedRoot = loadTrustedRoot(trustRootJson([log]));
  const bundle = await keyBundle({ artifact: ARTIFACT, signer, log }) as Json;
  const bare = clone(bundle);
  bare.verificationMaterial.tlogEntries = [];
  assert.equal(
    await reason(
      verifyBundle(bare, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [signer.spki] }),
    ),
    "TlogInvalid",
  );
  const v = await verifyBundle(bare, { bytes: ARTIFACT }, {
    trustedRoot,
    publicKeys: [signer.spki],
    requireTlog: false,
  });
  assert.equal(v.tlog, "absent");
  assert.deepEqual(v.timestamps, []);
  assert.equal(
    await reason(
      verifyBundle(bundle, { bytes: ARTIFACT }, {
        trustedRoot,
        publicKeys: [signer.spki],
        now: new Date(1_600_000_000_000),
      }),
    ),
    "TimestampInvalid",
  );
  assert.equal(
    await reason(
      verifyBundle(bundle, { bytes: ARTIFACT }, {
        trustedRoot,
        publicKeys: [signer.spki],
        identity: { san: "a", issuer: "b" },
      }),
    ),
    "IdentityMismatch",
  );
});

Deno.test("RSA: PKCS#1 RSA log key in a tiny trusted root, RSA signer, bytes and digest", async () => {
  const log = await rsaLog();
  const signer = await rsaSigner();
  const root = trustRootJson([log]);
  assert.equal(root.tlogs[0].publicKey.keyDetails, "PKCS1_RSA_PKCS1V5");
  const trustedRoot = parseTrustedRoot(JSON.stringify(root));
  assert.equal(trustedRoot.tlogs[0].key?.algorithm, "rsa");
  const bundle = await keyBundle({ artifact: ARTIFACT, signer, log, treeSize: 3 });
  for (const artifact of [{ bytes: ARTIFACT }, { digest: sha256(ARTIFACT) }]) {
    const v = await verifyBundle(bundle, artifact, { trustedRoot, publicKeys: [signer.spki] });
    assert.equal(v.kind, "key");
  }
  const tampered = clone(bundle) as Json;
  const sig = fromBase64(tampered.messageSignature.signature);
  sig[10] ^= 0x01;
  tampered.messageSignature.signature = toBase64(sig);
  assert.equal(
    await reason(
      verifyBundle(tampered, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [signer.spki] }),
    ),
    "SignatureVerifyFailed",
  );
  const badSet = await keyBundle({ artifact: ARTIFACT, signer, log, setSigner: await rsaSigner() });
  assert.equal(
    await reason(
      verifyBundle(badSet, { bytes: ARTIFACT }, { trustedRoot, publicKeys: [signer.spki] }),
    ),
    "TlogInvalid",
  );
});

// A Fulcio-certificate bundle (happy-path-v0.1) whose Rekor key in the trusted root is replaced
// by ours, so we can re-sign its SET at chosen integrated times. The inclusion proof (signed by
// the real Rekor) is dropped: a v0.1 bundle needs only the SET.
async function certBundleAt(integratedTime: number | "original") {
  const c = loadConformanceCases().find((x) => x.name === "happy-path-v0.1")!;
  const log = p256Log("https://rekor.sigstore.dev");
  const bundle = JSON.parse(c.bundleText) as Json;
  const e = entry(bundle);
  delete e.inclusionProof;
  const t = integratedTime === "original" ? Number(e.integratedTime) : integratedTime;
  e.integratedTime = String(t);
  const body = fromBase64(e.canonicalizedBody);
  const logId = fromBase64(e.logId.keyId);
  e.inclusionPromise.signedEntryTimestamp = toBase64(
    await log.signer.sign(setPayload(body, t, logId, Number(e.logIndex))),
  );
  const root = clone(c.trustedRoot) as Json;
  for (const tl of root.tlogs) {
    if (tl.logId.keyId === e.logId.keyId) {
      tl.publicKey.rawBytes = toBase64(log.rawBytes);
      tl.publicKey.keyDetails = log.keyDetails;
    }
  }
  return {
    bundle,
    trustedRoot: loadTrustedRoot(root),
    identity: c.identity!,
    artifact: c.artifact,
    original: Number(entry(JSON.parse(c.bundleText)).integratedTime),
  };
}

Deno.test("Fulcio certificate: valid at the integrated time passes; outside its validity fails", async () => {
  const ok = await certBundleAt("original");
  const v = await verifyBundle(ok.bundle, { bytes: ok.artifact }, {
    trustedRoot: ok.trustedRoot,
    identity: ok.identity,
  });
  assert.equal(v.kind, "certificate");
  assert.equal(v.san, ok.identity.san);
  assert.equal(v.issuer, ok.identity.issuer);
  assert.equal(v.signedAt?.getTime(), ok.original * 1000);
  // The real root does not know our Rekor key: the SET no longer verifies.
  assert.equal(
    await reason(
      verifyBundle(ok.bundle, { bytes: ok.artifact }, {
        trustedRoot: productionTrustedRoot(),
        identity: ok.identity,
      }),
    ),
    "TlogInvalid",
  );
  for (const t of [ok.original + 24 * 3600, ok.original - 3600]) {
    const late = await certBundleAt(t);
    assert.equal(
      await reason(
        verifyBundle(late.bundle, { bytes: late.artifact }, {
          trustedRoot: late.trustedRoot,
          identity: late.identity,
        }),
      ),
      "CertificateInvalid",
    );
  }
  // Identity: exact SAN and issuer.
  for (
    const identity of [{ ...ok.identity, san: ok.identity.san + "x" }, {
      ...ok.identity,
      issuer: "https://accounts.google.com",
    }]
  ) {
    assert.equal(
      await reason(
        verifyBundle(ok.bundle, { bytes: ok.artifact }, { trustedRoot: ok.trustedRoot, identity }),
      ),
      "IdentityMismatch",
    );
  }
  // A trusted root without the Fulcio CA: the chain fails.
  const noCa = { ...ok.trustedRoot, certificateAuthorities: [] };
  assert.equal(
    await reason(
      verifyBundle(ok.bundle, { bytes: ok.artifact }, { trustedRoot: noCa, identity: ok.identity }),
    ),
    "CertificateInvalid",
  );
  // Without CT logs: no SCT verifies.
  const noCt = { ...ok.trustedRoot, ctlogs: [] };
  assert.equal(
    await reason(
      verifyBundle(ok.bundle, { bytes: ok.artifact }, { trustedRoot: noCt, identity: ok.identity }),
    ),
    "CertificateInvalid",
  );
});

Deno.test("malformed bundles: CanonicalFormViolation; malformed trusted root: TrustRootInvalid", async () => {
  const log = p256Log();
  const signer = p256Signer();
  const trustedRoot = loadTrustedRoot(trustRootJson([log]));
  const bundle = await keyBundle({ artifact: ARTIFACT, signer, log }) as Json;
  const opts = { trustedRoot, publicKeys: [signer.spki] };
  const edits: Array<(b: Json) => void> = [
    (b) => (b.mediaType = "application/vnd.dev.sigstore.bundle.v0.4+json"),
    (b) => delete b.messageSignature,
    (b) => (b.dsseEnvelope = { payload: "", payloadType: "x", signatures: [] }),
    (b) => delete entry(b).inclusionProof,
    (b) => (entry(b).logIndex = "-1"),
    (b) => (b.messageSignature.signature = "not base64!"),
    (b) => (b.verificationMaterial.certificate = { rawBytes: "AAAA" }),
  ];
  for (const edit of edits) {
    const b = clone(bundle);
    edit(b);
    assert.equal(
      await reason(verifyBundle(b, { bytes: ARTIFACT }, opts)),
      "CanonicalFormViolation",
      JSON.stringify(b).slice(0, 80),
    );
  }
  assert.equal(
    await reason(verifyBundle("{", { bytes: ARTIFACT }, opts)),
    "CanonicalFormViolation",
  );
  const root = trustRootJson([log]) as Json;
  delete root.tlogs[0].publicKey.validFor.start;
  assert.throws(
    () => loadTrustedRoot(root),
    (e: unknown) => e instanceof KarsError && e.details?.reason === "TrustRootInvalid",
  );
});

Deno.test("production root snapshot is identical to the shared trusted_root.production.json", async () => {
  const { PRODUCTION_TRUSTED_ROOT } = await import(
    "../../../lib/verify/sigstore/production_root.ts"
  );
  const { CONFORMANCE_DIR } = await import("./conformance_cases.ts");
  const shared = JSON.parse(
    await Deno.readTextFile(`${CONFORMANCE_DIR}/trusted_root.production.json`),
  );
  assert.deepEqual(PRODUCTION_TRUSTED_ROOT, shared);
  const root = productionTrustedRoot();
  assert.ok(
    root.tlogs.length > 0 && root.ctlogs.length > 0 && root.certificateAuthorities.length > 0,
  );
});

Deno.test("RFC 3161 timestamp faults: TimestampInvalid", async () => {
  const c = loadConformanceCases().find((x) => x.name === "rekor2-timestamp-with-embedded-cert")!;
  const bundle = JSON.parse(c.bundleText) as Json;
  const opts = { trustedRoot: loadTrustedRoot(c.trustedRoot), identity: c.identity };
  assert.equal(await reason(verifyBundle(bundle, { bytes: c.artifact }, opts)), "ok");
  const tsd = (b: Json) => b.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0];
  // A byte of the TSA's signature (the token's last bytes) flipped.
  const flipped = clone(bundle);
  const der = fromBase64(tsd(flipped).signedTimestamp);
  der[der.length - 2] ^= 0x01;
  tsd(flipped).signedTimestamp = toBase64(der);
  assert.equal(
    await reason(verifyBundle(flipped, { bytes: c.artifact }, opts)),
    "TimestampInvalid",
  );
  // Garbage instead of a token.
  const garbage = clone(bundle);
  tsd(garbage).signedTimestamp = toBase64(utf8("not a timestamp"));
  assert.equal(
    await reason(verifyBundle(garbage, { bytes: c.artifact }, opts)),
    "TimestampInvalid",
  );
  // A valid token from another bundle: its message imprint covers another signature.
  const other = loadConformanceCases().find((x) =>
    x.name === "rekor2-timestamp-without-embedded-cert"
  )!;
  const swapped = clone(bundle);
  tsd(swapped).signedTimestamp = tsd(JSON.parse(other.bundleText)).signedTimestamp;
  assert.equal(
    await reason(verifyBundle(swapped, { bytes: c.artifact }, opts)),
    "TimestampInvalid",
  );
  // No timestamp authority in the trusted root.
  const noTsa = { ...opts.trustedRoot, timestampAuthorities: [] };
  assert.equal(
    await reason(verifyBundle(bundle, { bytes: c.artifact }, { ...opts, trustedRoot: noTsa })),
    "TimestampInvalid",
  );
});
