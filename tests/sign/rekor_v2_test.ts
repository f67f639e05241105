/**
 * Rekor v2 signing: bundles with `dsse` v0.0.2 entries from a Rekor v2 test log (in-memory
 * Merkle tree, Ed25519-signed C2SP checkpoints) and timestamps from `@sigstore/mock`'s TSA,
 * judged by our verifier and by `@sigstore/verify` under Node; a log that lies is refused before
 * anything is written.
 */
import assert from "assert";
import { fromBase64, fromHex, utf8 } from "../../lib/encoding/bytes.ts";
import { digestHex } from "../../lib/encoding/digest.ts";
import { isKarsError } from "../../lib/errors.ts";
import { buildAllowlistArtifact, EMPTY_CONFIG_BYTES } from "../../lib/oci/artifact.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { type Descriptor, OCI_MANIFEST, type Target } from "../../lib/oci/types.ts";
import { KeyFileSigner } from "../../lib/sign/keyfile.ts";
import { KeylessSigner } from "../../lib/sign/keyless.ts";
import { uploadHashedRekordV2 } from "../../lib/sign/rekor_v2.ts";
import { signArtifact } from "../../lib/sign/sign_artifact.ts";
import { loadTrustedRoot } from "../../lib/verify/sigstore/trust_root.ts";
import { verifyBundle } from "../../lib/verify/sigstore/verify.ts";
import { parseTlogEntry } from "../../lib/verify/sigstore/bundle.ts";
import { verifyTlogEntry } from "../../lib/verify/sigstore/tlog.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import { p256 } from "@noble/curves/nist.js";
import { oracleVerify } from "../support/node_oracle.ts";
import {
  type RekorV2Server,
  type RekorV2Tamper,
  startRekorV2,
} from "../support/rekor_v2_server.ts";
import { type SigstoreMock, startSigstoreMock } from "../support/sigstore_mock.ts";
import { pemEncode } from "../../lib/encoding/pem.ts";
import { spkiFromPoint } from "../../lib/sign/p256.ts";

const REPO = "policy/egress-allowlist/my-agent";
const CANONICAL =
  "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: 3\n" +
  "spec:\n  endpoints:\n    - host: api.github.com\n      port: 443\n";

async function pushAllowlist(target: Target): Promise<Descriptor> {
  const a = buildAllowlistArtifact(utf8(CANONICAL));
  await target.pushBlob(a.config, EMPTY_CONFIG_BYTES);
  await target.pushBlob(a.layer, utf8(CANONICAL));
  return await target.pushManifest(a.manifestBytes, OCI_MANIFEST);
}

/** The mock's trusted root plus the Rekor v2 test log. */
function rootWith(mock: SigstoreMock, log: RekorV2Server): Record<string, unknown> {
  const r = structuredClone(mock.trustedRoot) as { tlogs: unknown[] };
  r.tlogs = [...r.tlogs, log.trustedRootLog];
  return r;
}

async function withServices(f: (mock: SigstoreMock, log: RekorV2Server) => Promise<void>) {
  const mock = await startSigstoreMock();
  const log = await startRekorV2();
  try {
    await f(mock, log);
  } finally {
    await log.stop();
    await mock.stop();
  }
}

function keySigner(): { signer: KeyFileSigner; pubPem: string; spki: Uint8Array } {
  const secret = p256.utils.randomSecretKey();
  const spki = spkiFromPoint(p256.getPublicKey(secret, false));
  const signer = new KeyFileSigner({ secret, spkiDer: spki });
  return { signer, pubPem: pemEncode("PUBLIC KEY", spki), spki };
}

Deno.test("rekor v2: key-file and keyless bundles verify in our verifier and in @sigstore/verify", async () => {
  await withServices(async (mock, log) => {
    const rootJson = rootWith(mock, log);
    const trustedRoot = loadTrustedRoot(rootJson);
    const cases = [];

    // Key file, Rekor v2 + TSA.
    const k = keySigner();
    const t1 = new MemoryTarget();
    const s1 = await pushAllowlist(t1);
    const r1 = await signArtifact({
      target: t1,
      registry: "r.example",
      repository: REPO,
      manifest: s1,
      signer: k.signer,
      tlogs: [{ url: log.url, majorApiVersion: 2 }],
      tsaUrls: [mock.tsaUrl],
      trustedRoot,
      format: "bundle",
    });
    assert.equal(r1.tlogEntries.length, 0, "no Rekor v1 entry");
    assert.equal(r1.tlogEntriesV2.length, 1);
    assert.deepEqual(
      (r1.bundle as { verificationMaterial: { tlogEntries: { kindVersion: unknown }[] } })
        .verificationMaterial.tlogEntries[0].kindVersion,
      { kind: "dsse", version: "0.0.2" },
    );
    assert.equal(
      mock.requests.filter((r) => r.service === "rekor").length,
      0,
      "Rekor v1 untouched",
    );
    const payload1 = fromBase64(
      (r1.bundle as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload,
    );
    const v1 = await verifyBundle(r1.bundle, { digest: fromHex(digestHex(s1.digest)) }, {
      trustedRoot,
      publicKeys: [k.spki],
    });
    assert.equal(v1.kind, "key");
    cases.push({ bundle: r1.bundle, artifact: payload1, trustedRoot: rootJson, keyPem: k.pubPem });

    // Keyless, Rekor v2 + TSA (Rekor v2 has no integrated time).
    const t2 = new MemoryTarget();
    const s2 = await pushAllowlist(t2);
    const token = mock.mintToken();
    const r2 = await signArtifact({
      target: t2,
      registry: "r.example",
      repository: REPO,
      manifest: s2,
      signer: new KeylessSigner({ fulcioUrl: mock.fulcioUrl, token: () => Promise.resolve(token) }),
      tlogs: [{ url: log.url, majorApiVersion: 2 }],
      tsaUrls: [mock.tsaUrl],
      trustedRoot,
      format: "bundle",
    });
    const b2 = r2.bundle as {
      dsseEnvelope: { payload: string };
      verificationMaterial: { timestampVerificationData: { rfc3161Timestamps: unknown[] } };
    };
    assert.equal(b2.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    const payload2 = fromBase64(b2.dsseEnvelope.payload);
    const identity = { san: mock.defaultSubject, issuer: mock.defaultIssuer };
    const v2 = await verifyBundle(r2.bundle, { digest: fromHex(digestHex(s2.digest)) }, {
      trustedRoot,
      identity,
    });
    assert.equal(v2.kind, "certificate");
    cases.push({ bundle: r2.bundle, artifact: payload2, trustedRoot: rootJson, identity });

    assert.equal(log.size, 6 + 2, "two entries appended to the preloaded log");
    const res = await oracleVerify(cases);
    assert.deepEqual(res, [{ ok: true }, { ok: true }]);
  });
});

Deno.test("rekor v2: a log that lies is refused before anything is written", async () => {
  await withServices(async (mock, log) => {
    const trustedRoot = loadTrustedRoot(rootWith(mock, log));
    const tampers: RekorV2Tamper[] = [
      "checkpoint-signature",
      "checkpoint-root",
      "proof",
      "body",
      "foreign-key",
    ];
    for (const tamper of tampers) {
      log.tamper = tamper;
      const target = new MemoryTarget();
      const subject = await pushAllowlist(target);
      const tagsBefore = await target.listTags();
      await assert.rejects(
        signArtifact({
          target,
          registry: "r.example",
          repository: REPO,
          manifest: subject,
          signer: keySigner().signer,
          tlogs: [{ url: log.url, majorApiVersion: 2 }],
          tsaUrls: [mock.tsaUrl],
          trustedRoot,
          format: "bundle",
        }),
        (e) => isKarsError(e, "SIGN") && /Rekor v2 log .* unusable entry/.test(e.message),
        tamper,
      );
      assert.deepEqual(await target.listTags(), tagsBefore, `${tamper}: nothing written`);
      assert.deepEqual(await target.referrers(subject.digest), [], `${tamper}: no referrer`);
    }
    // A log missing from the trusted root is refused too.
    log.tamper = undefined;
    const target = new MemoryTarget();
    const subject = await pushAllowlist(target);
    await assert.rejects(
      signArtifact({
        target,
        registry: "r.example",
        repository: REPO,
        manifest: subject,
        signer: keySigner().signer,
        tlogs: [{ url: log.url, majorApiVersion: 2 }],
        tsaUrls: [mock.tsaUrl],
        trustedRoot: loadTrustedRoot(mock.trustedRoot),
        format: "bundle",
      }),
      (e) => isKarsError(e, "SIGN") && /not in the trusted root/.test(e.message),
    );
  });
});

Deno.test("rekor v2: legacy layout and signing without a TSA are refused before any request", async () => {
  await withServices(async (mock, log) => {
    const trustedRoot = loadTrustedRoot(rootWith(mock, log));
    for (const format of ["legacy", "both"] as const) {
      const target = new MemoryTarget();
      const subject = await pushAllowlist(target);
      await assert.rejects(
        signArtifact({
          target,
          registry: "r.example",
          repository: REPO,
          manifest: subject,
          signer: keySigner().signer,
          tlogs: [{ url: log.url, majorApiVersion: 2 }],
          tsaUrls: [mock.tsaUrl],
          trustedRoot,
          format,
        }),
        (e) => isKarsError(e, "INPUT") && /no signed entry timestamp \(SET\)/.test(e.message),
        format,
      );
    }
    const target = new MemoryTarget();
    const subject = await pushAllowlist(target);
    await assert.rejects(
      signArtifact({
        target,
        registry: "r.example",
        repository: REPO,
        manifest: subject,
        signer: new KeylessSigner({
          fulcioUrl: mock.fulcioUrl,
          token: () => Promise.resolve(mock.mintToken()),
        }),
        tlogs: [{ url: log.url, majorApiVersion: 2 }],
        trustedRoot,
        format: "bundle",
      }),
      (e) => isKarsError(e, "INPUT") && /needs an RFC 3161 timestamp authority/.test(e.message),
    );
    await assert.rejects(
      signArtifact({
        target,
        registry: "r.example",
        repository: REPO,
        manifest: subject,
        signer: keySigner().signer,
        tlogs: [{ url: log.url, majorApiVersion: 2 }],
        trustedRoot,
        format: "bundle",
      }),
      (e) => isKarsError(e, "INPUT") && /needs an RFC 3161 timestamp authority/.test(e.message),
    );
    assert.equal(log.requests.length, 0, "the log was never contacted");
    assert.equal(mock.requests.length, 0, "neither Fulcio nor the TSA was contacted");
  });
});

Deno.test("rekor v2: hashedrekord 0.0.2 upload is checked like a verifier checks it", async () => {
  await withServices(async (mock, log) => {
    const trustedRoot = loadTrustedRoot(rootWith(mock, log));
    const k = keySigner();
    const message = utf8("hello rekor v2");
    const sig = await k.signer.sign(message);
    const digest = sha256(message);
    const tle = await uploadHashedRekordV2(
      { rekorUrl: log.url, trustedRoot },
      digest,
      sig.signature,
      sig.key,
    );
    assert.deepEqual(tle.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
    const parsed = parseTlogEntry(tle, "tle", "0.3");
    const v = verifyTlogEntry(parsed, {
      signature: sig.signature,
      signer: { publicKey: k.spki },
      artifactDigest: digest,
    }, trustedRoot);
    assert.equal(v.inclusionProof, true);
    assert.equal(v.integratedTime, undefined, "Rekor v2 vouches for no time");
    log.tamper = "body";
    await assert.rejects(
      uploadHashedRekordV2({ rekorUrl: log.url, trustedRoot }, digest, sig.signature, sig.key),
      (e) => isKarsError(e, "SIGN") && /does not match the artifact/.test(e.message),
    );
    // A request the log refuses (bad signature) is a SIGN error naming the service.
    log.tamper = undefined;
    await assert.rejects(
      uploadHashedRekordV2(
        { rekorUrl: log.url, trustedRoot },
        sha256(utf8("other")),
        sig.signature,
        sig.key,
      ),
      (e) => isKarsError(e, "SIGN") && /Rekor v2/.test(e.message),
    );
  });
});
