import {
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_REKOR_BUNDLE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "../../lib/cosign/vocabulary.ts";
import assert from "assert";
import { fromBase64, fromUtf8, utf8 } from "../../lib/encoding/bytes.ts";
import { type Digest, digestHex } from "../../lib/encoding/digest.ts";
import { isKarsError, KarsError } from "../../lib/errors.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { buildAllowlistArtifact, EMPTY_CONFIG_BYTES } from "../../lib/oci/artifact.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import {
  type Descriptor,
  type ImageManifest,
  OCI_MANIFEST,
  type Target,
} from "../../lib/oci/types.ts";
import { BUNDLE_V03_MEDIA_TYPE } from "../../lib/sign/bundle.ts";
import { KeyFileSigner } from "../../lib/sign/keyfile.ts";
import { KeylessSigner } from "../../lib/sign/keyless.ts";
import { createSigner, signArtifact } from "../../lib/sign/sign_artifact.ts";
import { legacyLayerToBundle } from "../../lib/verify/legacy.ts";
import { haveTool, needs, startDockerRegistry } from "../support/docker_registry.ts";
import { staticCredentials } from "../../lib/oci/auth.ts";
import { oracleVerify } from "../support/node_oracle.ts";
import { type SigstoreMock, startSigstoreMock } from "../support/sigstore_mock.ts";

const REPO = "policy/egress-allowlist/my-agent";
const CANONICAL =
  "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: 3\n" +
  "spec:\n  endpoints:\n    - host: api.github.com\n      port: 443\n";
const KEYS = new URL("../../testdata/interop/cosign-keys/", import.meta.url);

/** Pushes the canonical allowlist artifact; returns its manifest descriptor. */
async function pushAllowlist(target: Target, text = CANONICAL): Promise<Descriptor> {
  const a = buildAllowlistArtifact(utf8(text));
  await target.pushBlob(a.config, EMPTY_CONFIG_BYTES);
  await target.pushBlob(a.layer, utf8(text));
  return await target.pushManifest(a.manifestBytes, OCI_MANIFEST);
}

/** The payload cosign writes (golden bytes, spelled out from cosign's Go struct). */
function cosignGolden(ref: string, digest: Digest): string {
  return `{"critical":{"identity":{"docker-reference":"${ref}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`;
}

async function readLegacy(target: Target, digest: Digest) {
  const m = await target.fetchManifest(signatureTag(digest));
  const manifest = JSON.parse(fromUtf8(m.bytes)) as ImageManifest;
  const layers = [];
  for (const l of manifest.layers) {
    layers.push({ layer: l, payload: await target.fetchBlob(l.digest, l.size) });
  }
  return { manifest, layers };
}

async function withMock(f: (mock: SigstoreMock) => Promise<void>): Promise<void> {
  const mock = await startSigstoreMock();
  try {
    await f(mock);
  } finally {
    await mock.stop();
  }
}

function keyless(mock: SigstoreMock, token = mock.mintToken()): KeylessSigner {
  return new KeylessSigner({ fulcioUrl: mock.fulcioUrl, token: () => Promise.resolve(token) });
}

Deno.test("sign: keyless legacy on a Target — cosign's payload bytes, annotations, verifies with @sigstore/verify", async () => {
  await withMock(async (mock) => {
    const target = new MemoryTarget("127.0.0.1:5000/" + REPO);
    const subject = await pushAllowlist(target);
    const registry = "myacr.azurecr.io";
    const r = await signArtifact({
      target,
      registry,
      repository: REPO,
      manifest: subject,
      signer: keyless(mock),
      rekorUrl: mock.rekorUrl,
      tsaUrl: mock.tsaUrl,
      format: "legacy",
    });
    assert.equal(r.identity, `keyless:${mock.defaultSubject}`);
    assert.doesNotMatch(r.identity, /\s/);
    assert.equal(r.stored.length, 1);
    assert.deepEqual(await target.listTags(), [signatureTag(subject.digest)]);

    const { manifest, layers } = await readLegacy(target, subject.digest);
    assert.equal(manifest.mediaType, OCI_MANIFEST);
    assert.equal(layers.length, 1);
    const { layer, payload } = layers[0];
    assert.equal(layer.mediaType, SIMPLE_SIGNING_MEDIA_TYPE);
    // Byte-identical to cosign's payload for the same input.
    assert.equal(fromUtf8(payload), cosignGolden(`${registry}/${REPO}`, subject.digest));
    const parsed = JSON.parse(fromUtf8(payload));
    assert.equal(parsed.critical.image["docker-manifest-digest"], subject.digest);
    assert.equal(parsed.critical.identity["docker-reference"], `${registry}/${REPO}`);
    const ann = layer.annotations!;
    for (
      const k of [
        ANNOTATION_SIGNATURE,
        ANNOTATION_CERTIFICATE,
        ANNOTATION_CHAIN,
        ANNOTATION_REKOR_BUNDLE,
        ANNOTATION_RFC3161,
      ]
    ) {
      assert.ok(ann[k], `annotation ${k}`);
    }
    const rb = JSON.parse(ann[ANNOTATION_REKOR_BUNDLE]);
    assert.deepEqual(Object.keys(rb), ["SignedEntryTimestamp", "Payload"]);
    assert.deepEqual(Object.keys(rb.Payload), ["body", "integratedTime", "logIndex", "logID"]);
    const body = JSON.parse(fromUtf8(fromBase64(rb.Payload.body)));
    assert.equal(body.kind, "hashedrekord");
    assert.equal(body.spec.data.hash.value, digestHex(layer.digest));
    assert.deepEqual(Object.keys(JSON.parse(ann[ANNOTATION_RFC3161])), ["SignedRFC3161Timestamp"]);

    // The stored layer, converted to a bundle as the verifier does, verifies.
    const ours = legacyLayerToBundle(payload, ann);
    const identity = { san: mock.defaultSubject, issuer: mock.defaultIssuer };
    const tampered = utf8(fromUtf8(payload).replace(subject.digest, `sha256:${"0".repeat(64)}`));
    const res = await oracleVerify([
      { bundle: ours, artifact: payload, trustedRoot: mock.trustedRoot, identity },
      { bundle: ours, artifact: tampered, trustedRoot: mock.trustedRoot, identity },
      {
        bundle: ours,
        artifact: payload,
        trustedRoot: mock.trustedRoot,
        identity: { san: "https://evil.example/x", issuer: mock.defaultIssuer },
      },
    ]);
    assert.deepEqual(res[0], { ok: true }, "the stored layer verifies");
    assert.equal(res[1].ok, false, "a payload naming another digest is refused");
    assert.equal(res[2].ok, false, "another identity is refused");
  });
});

Deno.test("sign: legacy appends to an existing .sig manifest and never duplicates a layer", async () => {
  await withMock(async (mock) => {
    const target = new MemoryTarget();
    const subject = await pushAllowlist(target);
    const base = {
      target,
      registry: "r.example",
      repository: REPO,
      manifest: subject,
      rekorUrl: mock.rekorUrl,
    };
    const first = await signArtifact({ ...base, signer: keyless(mock) });
    await signArtifact({ ...base, signer: keyless(mock) });
    let { layers } = await readLegacy(target, subject.digest);
    assert.equal(layers.length, 2);
    assert.notEqual(
      layers[0].layer.annotations![ANNOTATION_SIGNATURE],
      layers[1].layer.annotations![ANNOTATION_SIGNATURE],
    );
    // Re-attaching the identical first layer adds nothing.
    const { attachSignature } = await import("../../lib/sign/store.ts");
    const again = await attachSignature(target, subject, first.legacy!);
    ({ layers } = await readLegacy(target, subject.digest));
    assert.equal(layers.length, 2);
    assert.equal(again.digest, (await target.resolve(signatureTag(subject.digest)))!.digest);
  });
});

Deno.test(
  "sign: keyless on docker-registry — legacy and bundle (found through the referrers fallback tag) verify",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry();
    try {
      await withMock(async (mock) => {
        const target = new RegistryTarget({ registry: reg.host, repository: REPO });
        const subject = await pushAllowlist(target);
        const r = await signArtifact({
          target,
          registry: reg.host,
          repository: REPO,
          manifest: subject,
          signer: keyless(mock),
          rekorUrl: mock.rekorUrl,
          tsaUrl: mock.tsaUrl,
          format: "both",
        });
        assert.deepEqual(r.stored.map((s) => s.format), ["legacy", "bundle"]);
        const hex = digestHex(subject.digest);
        const tags = await target.listTags();
        assert.ok(tags.includes(`sha256-${hex}.sig`), "legacy .sig tag");
        assert.ok(tags.includes(`sha256-${hex}`), "referrers fallback tag");

        // Fresh client: discover the bundle as a verifier would.
        const reader = new RegistryTarget({ registry: reg.host, repository: REPO });
        const refs = await reader.referrers(subject.digest, BUNDLE_V03_MEDIA_TYPE);
        assert.equal(refs.length, 1);
        const refManifest = JSON.parse(
          fromUtf8((await reader.fetchManifest(refs[0].digest)).bytes),
        );
        assert.equal(refManifest.artifactType, BUNDLE_V03_MEDIA_TYPE);
        assert.equal(refManifest.subject.digest, subject.digest);
        const bundleBytes = await reader.fetchBlob(refManifest.layers[0].digest);
        const bundle = JSON.parse(fromUtf8(bundleBytes));
        assert.equal(bundle.mediaType, BUNDLE_V03_MEDIA_TYPE);
        const statement = JSON.parse(fromUtf8(fromBase64(bundle.dsseEnvelope.payload)));
        assert.equal(statement.predicateType, "https://sigstore.dev/cosign/sign/v1");
        assert.deepEqual(statement.subject, [{
          name: `${reg.host}/${REPO}`,
          digest: { sha256: hex },
        }]);
        assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion.kind, "dsse");
        assert.ok(bundle.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope);

        const { layers } = await readLegacy(reader, subject.digest);
        assert.equal(
          fromUtf8(layers[0].payload),
          cosignGolden(`${reg.host}/${REPO}`, subject.digest),
        );
        if (haveTool("/usr/bin/skopeo", "skopeo")) {
          // An independent client reads the .sig manifest as stored.
          const out = await new Deno.Command("skopeo", {
            args: [
              "inspect",
              "--raw",
              "--tls-verify=false",
              `docker://${reg.host}/${REPO}:sha256-${hex}.sig`,
            ],
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.ok(out.success, new TextDecoder().decode(out.stderr));
          const m = JSON.parse(fromUtf8(out.stdout));
          assert.equal(m.layers[0].mediaType, SIMPLE_SIGNING_MEDIA_TYPE);
          assert.equal(
            m.layers[0].annotations[ANNOTATION_SIGNATURE],
            layers[0].layer.annotations![ANNOTATION_SIGNATURE],
          );
        }
        const identity = { san: mock.defaultSubject, issuer: mock.defaultIssuer };
        const res = await oracleVerify([
          {
            bundle,
            artifact: fromBase64(bundle.dsseEnvelope.payload),
            trustedRoot: mock.trustedRoot,
            identity,
          },
          {
            bundle: legacyLayerToBundle(layers[0].payload, layers[0].layer.annotations!),
            artifact: layers[0].payload,
            trustedRoot: mock.trustedRoot,
            identity,
          },
        ]);
        assert.deepEqual(res, [{ ok: true }, { ok: true }]);
      });
    } finally {
      await reg.stop();
    }
  },
);

Deno.test("sign: a cosign .key signs legacy + bundle with Rekor entries; verifies with its .pub", async () => {
  const pem = await Deno.readTextFile(new URL("sigstore-labeled-pkcs8.key", KEYS));
  const pubPem = await Deno.readTextFile(new URL("sigstore-labeled-pkcs8.pub", KEYS));
  await withMock(async (mock) => {
    const target = new MemoryTarget();
    const subject = await pushAllowlist(target);
    const signer = await createSigner({
      key: "sigstore-labeled-pkcs8.key",
      env: { COSIGN_PASSWORD: "hello" },
      readFile: () => Promise.resolve(utf8(pem)),
    });
    assert.ok(signer instanceof KeyFileSigner);
    const r = await signArtifact({
      target,
      registry: "r.example",
      repository: REPO,
      manifest: subject,
      signer,
      rekorUrl: mock.rekorUrl,
      format: "both",
    });
    assert.match(r.identity, /^key:[0-9a-f]{16}$/);
    assert.equal(r.tlogEntries.length, 2);
    const { layers } = await readLegacy(target, subject.digest);
    const ann = layers[0].layer.annotations!;
    assert.equal(ann[ANNOTATION_CERTIFICATE], undefined);
    assert.ok(ann[ANNOTATION_REKOR_BUNDLE]);
    const res = await oracleVerify([
      {
        bundle: legacyLayerToBundle(layers[0].payload, ann),
        artifact: layers[0].payload,
        trustedRoot: mock.trustedRoot,
        keyPem: pubPem,
      },
      {
        bundle: r.bundle,
        artifact: fromBase64(
          (r.bundle as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload,
        ),
        trustedRoot: mock.trustedRoot,
        keyPem: pubPem,
      },
    ]);
    assert.deepEqual(res, [{ ok: true }, { ok: true }]);

    // --tlog-upload=false: no Rekor request, signature only.
    const before = mock.requests.length;
    const target2 = new MemoryTarget();
    const subject2 = await pushAllowlist(target2);
    await signArtifact({
      target: target2,
      registry: "r.example",
      repository: REPO,
      manifest: subject2,
      signer,
      rekorUrl: mock.rekorUrl,
      tlogUpload: false,
    });
    assert.equal(mock.requests.length, before);
    const l2 = await readLegacy(target2, subject2.digest);
    assert.deepEqual(Object.keys(l2.layers[0].layer.annotations!), [ANNOTATION_SIGNATURE]);
  });
});

/** A Target that refuses manifest pushes, as a registry refusing the signature push. */
class RefusingTarget extends MemoryTarget {
  refuse = false;
  override pushManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    if (this.refuse) {
      return Promise.reject(
        new KarsError("AUTH", `${this.location}: push of manifest refused (HTTP 403 DENIED)`),
      );
    }
    return super.pushManifest(bytes, mediaType, tag);
  }
}

Deno.test("sign: faults — Fulcio 500, Rekor down, TSA down, registry refusing — clear errors, nothing stored", async () => {
  await withMock(async (mock) => {
    const target = new RefusingTarget("registry.test/" + REPO);
    const subject = await pushAllowlist(target);
    const run = () =>
      signArtifact({
        target,
        registry: "registry.test",
        repository: REPO,
        manifest: subject,
        signer: keyless(mock),
        rekorUrl: mock.rekorUrl,
        tsaUrl: mock.tsaUrl,
        format: "both",
      });
    // Each service failure names the fix in library terms and carries the options behind it
    // (details.fixOptions), which the CLI turns into flags.
    const cases: Array<[string, () => void, RegExp, string, string[] | undefined]> = [
      [
        "fulcio",
        () => (mock.fail.fulcio = 500),
        /Fulcio at .* answered HTTP 500.*check the Fulcio URL/,
        "TRANSIENT", // 5xx: worth a retry (exit 5)
        ["fulcioUrl", "key"],
      ],
      [
        "rekor",
        () => (mock.fail.rekor = "down"),
        /Rekor at .* is unreachable.*check the Rekor URL/,
        "TRANSIENT",
        ["rekorUrl", "tlogUpload"],
      ],
      [
        "tsa",
        () => (mock.fail.tsa = "down"),
        /TSA at .* is unreachable.*check the timestamp authority URL/,
        "TRANSIENT",
        ["tsaUrl"],
      ],
      [
        "registry",
        () => (target.refuse = true),
        /storing the signature in registry\.test\/.* failed/,
        "AUTH",
        undefined,
      ],
    ];
    for (const [name, inject, re, code, fix] of cases) {
      mock.fail.fulcio = mock.fail.rekor = mock.fail.tsa = undefined;
      target.refuse = false;
      inject();
      await assert.rejects(run(), (e) => {
        assert.ok(isKarsError(e), `${name}: KarsError`);
        assert.equal(e.code, code, `${name}: code`);
        assert.match(e.message, re, name);
        assert.doesNotMatch(e.message, /--[a-z]/, `${name}: no flag in a library message`);
        if (fix) assert.deepEqual(e.details?.fixOptions, fix, `${name}: fixOptions`);
        return true;
      });
      assert.deepEqual(await target.listTags(), [], `${name}: no signature stored`);
    }
  });
});

Deno.test("sign: the identity token never appears in errors, logs or stored artifacts (echoing Fulcio, failing Rekor)", async () => {
  await withMock(async (mock) => {
    const token = mock.mintToken({ sub: "https://github.com/acme/leak-canary" });
    const canaries = [token, token.split(".")[1], token.split(".")[2]];
    const logged: string[] = [];
    const orig = { log: console.log, warn: console.warn, error: console.error, info: console.info };
    for (const k of Object.keys(orig) as Array<keyof typeof orig>) {
      console[k] = (...a: unknown[]) => logged.push(a.map(String).join(" "));
    }
    const messages: string[] = [];
    const collect = (e: unknown) => {
      for (let c = e; c; c = (c as { cause?: unknown }).cause) {
        messages.push(
          String(c),
          JSON.stringify((c as KarsError).details ?? {}),
          (c as Error).stack ?? "",
        );
      }
    };
    try {
      mock.fail.echo = true;
      const target = new MemoryTarget();
      const subject = await pushAllowlist(target);
      const env = { SIGSTORE_ID_TOKEN: token };
      for (
        const inject of [
          () => (mock.fail.fulcio = 500),
          () => (mock.fail.rekor = 503),
          () => (mock.fail.rekor = "down"),
        ]
      ) {
        mock.fail.fulcio = mock.fail.rekor = undefined;
        inject();
        const signer = await createSigner({
          env,
          fulcioUrl: mock.fulcioUrl,
          readFile: () => Promise.reject(new Error("no files")),
        });
        await signArtifact({
          target,
          registry: "r.example",
          repository: REPO,
          manifest: subject,
          signer,
          rekorUrl: mock.rekorUrl,
        }).then(() => assert.fail("must fail"), collect);
      }
    } finally {
      Object.assign(console, orig);
    }
    assert.equal(messages.length >= 3, true);
    // A successful signing stores nothing that carries the token either.
    mock.fail.fulcio = mock.fail.rekor = undefined;
    const target = new MemoryTarget();
    const subject = await pushAllowlist(target);
    const signer = await createSigner({
      env: { SIGSTORE_ID_TOKEN: token },
      fulcioUrl: mock.fulcioUrl,
      readFile: () => Promise.reject(new Error("no files")),
    });
    await signArtifact({
      target,
      registry: "r.example",
      repository: REPO,
      manifest: subject,
      signer,
      rekorUrl: mock.rekorUrl,
      tsaUrl: mock.tsaUrl,
      format: "both",
    });
    const stored: string[] = [];
    const refs = await target.referrers(subject.digest);
    for (const ref of [...(await target.listTags()), ...refs.map((r) => r.digest)]) {
      const m = await target.fetchManifest(ref);
      stored.push(fromUtf8(m.bytes));
      for (const l of (JSON.parse(fromUtf8(m.bytes)) as ImageManifest).layers) {
        stored.push(fromUtf8(await target.fetchBlob(l.digest)));
      }
    }
    assert.equal(stored.length, 4, "sig manifest + payload, referrer + bundle");
    // The echoing Fulcio did receive the token (so the scan is meaningful)…
    assert.ok(mock.requests.some((r) => r.service === "fulcio" && r.body.includes(token)));
    // …but no message, detail, stack or log line carries it.
    for (const text of [...messages, ...logged, ...stored]) {
      for (const c of canaries) {
        assert.ok(!text.includes(c), `token leaked in: ${text.slice(0, 200)}`);
      }
    }
  });
});

Deno.test(
  "sign: docker-registry refusing the signature push (no push credentials) — AUTH naming the registry, no .sig",
  needs("docker-registry"),
  async () => {
    const user = "ci", password = "pw-" + crypto.randomUUID();
    const reg = await startDockerRegistry({ htpasswd: { user, password } });
    try {
      await withMock(async (mock) => {
        const writer = new RegistryTarget({
          registry: reg.host,
          repository: REPO,
          credentials: staticCredentials({ username: user, password }),
        });
        const subject = await pushAllowlist(writer);
        const anonymous = new RegistryTarget({ registry: reg.host, repository: REPO });
        await assert.rejects(
          signArtifact({
            target: anonymous,
            registry: reg.host,
            repository: REPO,
            manifest: subject,
            signer: keyless(mock),
            rekorUrl: mock.rekorUrl,
          }),
          (e) => {
            assert.ok(isKarsError(e, "AUTH"), String(e));
            assert.match(
              e.message,
              new RegExp(`storing the signature in ${reg.host}/${REPO} failed`),
            );
            assert.ok(!e.message.includes(password));
            return true;
          },
        );
        assert.equal(await writer.resolve(signatureTag(subject.digest)), null, "no .sig stored");
      });
    } finally {
      await reg.stop();
    }
  },
);

Deno.test("sign: keyless with tlogUpload=false is refused before Fulcio is called", async () => {
  await withMock(async (mock) => {
    const target = new MemoryTarget();
    const subject = await pushAllowlist(target);
    await assert.rejects(
      signArtifact({
        target,
        registry: "r.example",
        repository: REPO,
        manifest: subject,
        signer: keyless(mock),
        rekorUrl: mock.rekorUrl,
        tlogUpload: false,
      }),
      (e) =>
        isKarsError(e, "INPUT") && /keyless signatures need a Rekor entry/.test(e.message) &&
        e.details?.option === "tlogUpload",
    );
    assert.equal(mock.requests.length, 0);
    assert.deepEqual(await target.listTags(), []);
  });
});
