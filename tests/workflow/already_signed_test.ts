/**
 * The own-signature lookup (lib/workflow/already_signed.ts) reads the `.sig` tag with one GET
 * and hands those bytes to the verifier's discovery; these tests pin what that may and may not
 * change: the requests it makes, a GET refused for what it returned (the HEAD's answer is used,
 * as before), a transient or credential fault (passed on, not repeated as a HEAD), a tag that
 * is absent, and a tag rewritten to name a manifest without our signature.
 */
import assert from "assert";
import { signatureTag } from "../../lib/cosign/vocabulary.ts";
import { utf8 } from "../../lib/encoding/bytes.ts";
import type { Digest } from "../../lib/encoding/digest.ts";
import { KarsError } from "../../lib/errors.ts";
import {
  ALLOWLIST_MEDIA_TYPE,
  buildAllowlistArtifact,
  EMPTY_CONFIG_BYTES,
} from "../../lib/oci/artifact.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { type Descriptor, OCI_MANIFEST, type Target } from "../../lib/oci/types.ts";
import { KeylessSigner } from "../../lib/sign/keyless.ts";
import { signArtifact } from "../../lib/sign/sign_artifact.ts";
import { findOwnSignatures } from "../../lib/workflow/already_signed.ts";
import { parseTrustedRoot } from "../../lib/verify/sigstore/mod.ts";
import { type SigstoreMock, startSigstoreMock } from "../support/sigstore_mock.ts";

const REGISTRY = "registry.example";
const REPO = "policy/egress-allowlist/lookup";
const CANONICAL =
  "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: 1\n" +
  "spec:\n  endpoints:\n    - host: api.github.com\n      port: 443\n";

/** `t` with every call recorded (`resolve <ref>`, `fetchManifest <ref>`, …) and `fault` hooks. */
function recorded(
  t: Target,
  fault: { fetchTag?: () => never } = {},
): Target & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    location: t.location,
    blobExists: (d, o) => (calls.push(`blobExists ${d}`), t.blobExists(d, o)),
    fetchBlob: (d, s, o) => (calls.push(`fetchBlob ${d}`), t.fetchBlob(d, s, o)),
    pushBlob: (d, b, o) => t.pushBlob(d, b, o),
    resolve: (r, o) => (calls.push(`resolve ${r}`), t.resolve(r, o)),
    fetchManifest: (r, o) => {
      calls.push(`fetchManifest ${r}`);
      if (fault.fetchTag && !r.startsWith("sha256:")) return Promise.resolve().then(fault.fetchTag);
      return t.fetchManifest(r, o);
    },
    pushManifest: (b, m, tag) => t.pushManifest(b, m, tag),
    tag: (d, tag) => t.tag(d, tag),
    listTags: () => t.listTags(),
    referrers: (d, a) => (calls.push(`referrers ${d}`), t.referrers(d, a)),
  };
}

async function signedTarget(
  mock: SigstoreMock,
): Promise<{ target: MemoryTarget; subject: Descriptor }> {
  const target = new MemoryTarget(`${REGISTRY}/${REPO}`);
  const a = buildAllowlistArtifact(utf8(CANONICAL));
  await target.pushBlob(a.config, EMPTY_CONFIG_BYTES);
  await target.pushBlob(a.layer, utf8(CANONICAL));
  const subject = await target.pushManifest(a.manifestBytes, OCI_MANIFEST);
  const token = mock.mintToken();
  await signArtifact({
    target,
    registry: REGISTRY,
    repository: REPO,
    manifest: subject,
    signer: new KeylessSigner({ fulcioUrl: mock.fulcioUrl, token: () => Promise.resolve(token) }),
    rekorUrl: mock.rekorUrl,
    format: "legacy",
  });
  return { target, subject };
}

async function lookup(mock: SigstoreMock, target: Target, digest: Digest) {
  return await findOwnSignatures({
    target,
    ref: { registry: REGISTRY, repository: REPO, digest, artifactType: ALLOWLIST_MEDIA_TYPE },
    expected: { kind: "keyless", san: mock.defaultSubject, issuer: mock.defaultIssuer },
    trustedRoot: parseTrustedRoot(JSON.stringify(mock.trustedRoot)),
    formats: ["legacy"],
  });
}

Deno.test("own-signature lookup: one GET of the .sig tag, whose bytes the discovery reuses", async () => {
  const mock = await startSigstoreMock();
  try {
    const { target, subject } = await signedTarget(mock);
    const t = recorded(target);
    const own = await lookup(mock, t, subject.digest);
    assert.deepEqual(own.formats, ["legacy"]);
    assert.equal(own.identity, `keyless:${mock.defaultSubject}`);
    const sigCalls = t.calls.filter((c) => c.includes(".sig") || c.startsWith("fetchManifest"));
    // The tag is read once, by GET; the .sig manifest is never fetched again by digest.
    assert.deepEqual(sigCalls.filter((c) => c.includes(signatureTag(subject.digest))), [
      `fetchManifest ${signatureTag(subject.digest)}`,
    ]);
    const sigDigest = (await target.resolve(signatureTag(subject.digest)))!.digest;
    assert.equal(t.calls.filter((c) => c === `fetchManifest ${sigDigest}`).length, 0);
    assert.equal(t.calls.filter((c) => c.startsWith("resolve ")).length <= 1, true, t.calls.join());
  } finally {
    await mock.stop();
  }
});

Deno.test("own-signature lookup: no .sig tag is no signature, without a HEAD after the GET", async () => {
  const mock = await startSigstoreMock();
  try {
    const target = new MemoryTarget(`${REGISTRY}/${REPO}`);
    const a = buildAllowlistArtifact(utf8(CANONICAL));
    await target.pushBlob(a.config, EMPTY_CONFIG_BYTES);
    await target.pushBlob(a.layer, utf8(CANONICAL));
    const subject = await target.pushManifest(a.manifestBytes, OCI_MANIFEST);
    const t = recorded(target);
    const own = await lookup(mock, t, subject.digest);
    assert.deepEqual(own.formats, []);
    assert.deepEqual(t.calls, [`fetchManifest ${signatureTag(subject.digest)}`]);
  } finally {
    await mock.stop();
  }
});

Deno.test("own-signature lookup: a GET of the tag that fails falls back to the HEAD, and still finds the signature", async () => {
  const mock = await startSigstoreMock();
  try {
    const { target, subject } = await signedTarget(mock);
    const t = recorded(target, {
      fetchTag: () => {
        throw new KarsError("REGISTRY", "unsupported manifest media type");
      },
    });
    const own = await lookup(mock, t, subject.digest);
    assert.deepEqual(own.formats, ["legacy"]);
    const tag = signatureTag(subject.digest);
    assert.deepEqual(t.calls.filter((c) => c.endsWith(tag)), [
      `fetchManifest ${tag}`,
      `resolve ${tag}`,
    ]);
    // The .sig manifest then comes by digest, as before the GET existed.
    const sigDigest = (await target.resolve(tag))!.digest;
    assert.ok(t.calls.includes(`fetchManifest ${sigDigest}`), t.calls.join("\n"));
  } finally {
    await mock.stop();
  }
});

Deno.test("own-signature lookup: a .sig tag served with bytes of another manifest is not a signature of ours", async () => {
  const mock = await startSigstoreMock();
  try {
    const { target, subject } = await signedTarget(mock);
    // The tag now names a manifest without our signature layer (an attacker's rewrite).
    const a = buildAllowlistArtifact(utf8(CANONICAL.replace("generation: 1", "generation: 2")));
    await target.pushBlob(a.config, EMPTY_CONFIG_BYTES);
    await target.pushBlob(a.layer, utf8(CANONICAL.replace("generation: 1", "generation: 2")));
    await target.pushManifest(a.manifestBytes, OCI_MANIFEST, signatureTag(subject.digest));
    const own = await lookup(mock, recorded(target), subject.digest);
    assert.deepEqual(own.formats, []);
  } finally {
    await mock.stop();
  }
});

Deno.test("own-signature lookup: a transient fault or refused credentials on the GET are not repeated as a HEAD", async () => {
  const mock = await startSigstoreMock();
  try {
    const { target, subject } = await signedTarget(mock);
    for (const code of ["TRANSIENT", "AUTH"] as const) {
      const t = recorded(target, {
        fetchTag: () => {
          throw new KarsError(code, `${code.toLowerCase()} on the tag`);
        },
      });
      const own = await lookup(mock, t, subject.digest).catch((e) => e);
      const tag = signatureTag(subject.digest);
      // No HEAD after a failed GET (a fault is not remembered, so the discovery's own look is a
      // second GET, as it was a second HEAD before).
      const onTag = t.calls.filter((c) => c.endsWith(tag));
      assert.ok(!onTag.includes(`resolve ${tag}`), `${code}: ${onTag}`);
      assert.ok(onTag.length <= 2, `${code}: ${onTag}`);
      // The lookup treats a fault as "there may be a signature" and the verifier reports it.
      assert.ok(own instanceof Error || own.formats.length === 0, String(own));
    }
  } finally {
    await mock.stop();
  }
});
