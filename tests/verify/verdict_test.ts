/**
 * The verdict end to end: artifacts pushed and signed (keyless through the @sigstore/mock
 * Fulcio/Rekor served on loopback, and with key files) in memory and on a real
 * docker-registry, then verified, including every tamper case of issue 7 with its exact
 * reason. Altered bytes are served by an in-process tampering proxy in front of the registry.
 */
import assert from "assert";
import { utf8 } from "../../lib/encoding/bytes.ts";
import { type Digest, digestBytes } from "../../lib/encoding/digest.ts";
import { KarsError } from "../../lib/errors.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { OCI_MANIFEST, type Target } from "../../lib/oci/types.ts";
import { staticCredentials } from "../../lib/oci/auth.ts";
import { emitGitopsManifest } from "../../lib/gitops/manifest.ts";
import { loadTrustedRoot, type TrustedRoot } from "../../lib/verify/sigstore/trust_root.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import type { PolicyError, SignerPolicy } from "../../lib/verify/policy.ts";
import { VerdictCache } from "../../lib/verify/cache.ts";
import type { AllowlistRefInput } from "../../lib/model/sandbox.ts";
import { verifyAllowlist } from "../../lib/verify/verdict.ts";
import type { VerifyResult } from "../../lib/verify/result.ts";
import { verifySandbox } from "../../lib/verify/sandbox.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import {
  appendLegacyLayer,
  keylessSigner,
  keySigner,
  policyYaml,
  pushAllowlist,
  signBundle,
  signLegacy,
} from "./fixtures.ts";

const REPO = "policy/egress-allowlist/my-agent";
const OTHER_SAN = "https://github.com/evil/gitops/.github/workflows/x.yml@refs/heads/main";

function policy(yaml: string): SignerPolicy | PolicyError {
  return loadSignerPolicy({ configMap: yaml, env: {} });
}

function expectReason(
  r: VerifyResult,
  status: string,
  reason: string,
  messagePart?: string | RegExp,
): void {
  const info = JSON.stringify({ condition: r.condition, signatures: r.signatures });
  assert.equal(r.condition.type, "AllowlistVerified");
  assert.equal(r.condition.status, status, info);
  assert.equal(r.condition.reason, reason, info);
  if (typeof messagePart === "string") assert.ok(r.condition.message.includes(messagePart), info);
  else if (messagePart) assert.match(r.condition.message, messagePart, info);
}

/** A Target delegating to `base` except for the given methods. */
function withOverrides(base: Target, over: Partial<Target>): Target {
  const names = [
    "blobExists",
    "fetchBlob",
    "pushBlob",
    "resolve",
    "fetchManifest",
    "pushManifest",
    "tag",
    "listTags",
    "referrers",
  ] as const;
  const out: Record<string, unknown> = { location: base.location };
  for (const n of names) {
    out[n] = over[n] ?? (base[n] as (...a: unknown[]) => unknown).bind(base);
  }
  return out as unknown as Target;
}

/** A reverse proxy that alters what the registry serves for chosen paths. */
function startTamperingProxy(upstream: string) {
  const rewrites = new Map<string, (b: Uint8Array) => Uint8Array>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: body && body.length ? body : undefined,
      redirect: "manual",
    });
    const f = rewrites.get(url.pathname);
    let out: Uint8Array | null = req.method === "HEAD"
      ? null
      : new Uint8Array(await res.arrayBuffer());
    if (req.method === "HEAD") await res.body?.cancel();
    const h = new Headers(res.headers);
    if (f && out && res.status === 200) {
      out = f(out);
      h.set("content-length", String(out.length));
      h.delete("docker-content-digest");
    }
    return new Response(out as BodyInit | null, { status: res.status, headers: h });
  });
  const port = (server.addr as Deno.NetAddr).port;
  return {
    host: `127.0.0.1:${port}`,
    rewrites,
    stop: () => server.shutdown(),
  };
}

Deno.test("verdict: signed allowlists verify True; every tamper case gives its exact reason", async (t) => {
  const mock = await startSigstoreMock();
  const trustedRoot: TrustedRoot = loadTrustedRoot(mock.trustedRoot);
  const GOOD = policyYaml([mock.defaultIssuer], [
    "https://github.com/acme/*",
    mock.defaultSubject,
  ]);
  const NON_MATCHING = policyYaml([mock.defaultIssuer], ["https://github.com/someone-else/*"]);
  try {
    const REG = "registry.example:5000";
    const mem = () => new MemoryTarget(`${REG}/${REPO}`);
    const refOf = (digest: string): AllowlistRefInput => ({
      registry: REG,
      repository: REPO,
      digest,
      artifactType: ALLOWLIST_MEDIA_TYPE,
    });
    const verify = (target: Target, digest: string, p = policy(GOOD), extra = {}) =>
      verifyAllowlist({ ref: refOf(digest), target, policy: p, trustedRoot, ...extra });
    const sign = { registry: REG, repository: REPO, rekorUrl: mock.rekorUrl };

    await t.step(
      "keyless legacy: True under a matching policy, IdentityMismatch under another",
      async () => {
        const target = mem();
        const a = await pushAllowlist(target);
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
        });
        const r = await verify(target, a.manifestDigest);
        expectReason(r, "True", "Verified");
        assert.equal(r.condition.message, `digest=${a.manifestDigest}, generation=3`);
        assert.equal(r.generation, 3);
        assert.deepEqual(r.endpoints, [
          { host: "api.github.com", port: 443 },
          { host: "xn--bcher-kva.example", port: 8443 },
        ]);
        assert.deepEqual(r.signer, {
          kind: "keyless",
          san: mock.defaultSubject,
          issuer: mock.defaultIssuer,
          format: "legacy",
          id: `keyless:${mock.defaultSubject}`,
        });
        expectReason(
          await verify(target, a.manifestDigest, policy(NON_MATCHING)),
          "False",
          "IdentityMismatch",
          mock.defaultSubject,
        );
        // right SAN pattern, issuer not listed
        const otherIssuer = policyYaml(["https://accounts.google.com"], ["*"]);
        expectReason(
          await verify(target, a.manifestDigest, policy(otherIssuer)),
          "False",
          "IdentityMismatch",
        );
      },
    );

    await t.step(
      "keyless bundle (referrer): True, and IdentityMismatch under another policy",
      async () => {
        const target = mem();
        const a = await pushAllowlist(target);
        await signBundle(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
          subjectSize: a.manifestBytes.length,
        });
        const r = await verify(target, a.manifestDigest);
        expectReason(r, "True", "Verified");
        assert.equal(r.signer?.format, "bundle");
        expectReason(
          await verify(target, a.manifestDigest, policy(NON_MATCHING)),
          "False",
          "IdentityMismatch",
        );
      },
    );

    await t.step(
      "key file (legacy and bundle): True with the key pinned; IdentityMismatch with another key",
      async () => {
        const key = keySigner();
        const other = keySigner();
        for (const format of ["legacy", "bundle"] as const) {
          const target = mem();
          const a = await pushAllowlist(target);
          const o = { ...sign, digest: a.manifestDigest, signer: key.signer };
          if (format === "legacy") await signLegacy(target, o);
          else await signBundle(target, { ...o, subjectSize: a.manifestBytes.length });
          const pinned = policy(policyYaml([mock.defaultIssuer], ["x"], key.publicPem));
          const r = await verify(target, a.manifestDigest, pinned);
          expectReason(r, "True", "Verified");
          assert.equal(r.signer?.kind, "key");
          assert.equal(r.signer?.format, format);
          const wrongKey = policy(policyYaml([mock.defaultIssuer], ["x"], other.publicPem));
          expectReason(
            await verify(target, a.manifestDigest, wrongKey),
            "False",
            "IdentityMismatch",
            "not one of the SignerPolicy publicKeys",
          );
          // no publicKeys at all: the key signature (with its Rekor entry) is still a valid one
          expectReason(
            await verify(target, a.manifestDigest, policy(GOOD)),
            "False",
            "IdentityMismatch",
          );
        }
      },
    );

    await t.step(
      "key signature without a Rekor entry: accepted through publicKeys only",
      async () => {
        const key = keySigner();
        const target = mem();
        const a = await pushAllowlist(target);
        await signLegacy(target, {
          registry: REG,
          repository: REPO,
          digest: a.manifestDigest,
          signer: key.signer,
        });
        const pinned = policy(policyYaml([mock.defaultIssuer], ["x"], key.publicPem));
        expectReason(await verify(target, a.manifestDigest, pinned), "True", "Verified");
        // not pinned and no Rekor entry: nothing proves it valid
        const other = policy(policyYaml([mock.defaultIssuer], ["x"], keySigner().publicPem));
        expectReason(
          await verify(target, a.manifestDigest, other),
          "False",
          "SignatureVerifyFailed",
        );
      },
    );

    await t.step(
      "pinned key with a Rekor entry that does not verify: SignatureVerifyFailed",
      async () => {
        const key = keySigner();
        const target = mem();
        const a = await pushAllowlist(target);
        const ann = await signLegacy(mem(), {
          ...sign,
          digest: a.manifestDigest,
          signer: key.signer,
        });
        const rb = JSON.parse(ann["dev.sigstore.cosign/bundle"]);
        rb.Payload.integratedTime += 1; // the SET no longer covers the entry
        ann["dev.sigstore.cosign/bundle"] = JSON.stringify(rb);
        const payload = utf8(
          `{"critical":{"identity":{"docker-reference":"${REG}/${REPO}"},"image":{"docker-manifest-digest":"${a.manifestDigest}"},"type":"cosign container image signature"},"optional":null}`,
        );
        await appendLegacyLayer(target, a.manifestDigest, payload, ann);
        const pinned = policy(policyYaml([mock.defaultIssuer], ["x"], key.publicPem));
        const r = await verify(target, a.manifestDigest, pinned);
        expectReason(r, "False", "SignatureVerifyFailed");
        assert.equal(r.signatures[0].outcome, "invalid");
      },
    );

    await t.step(
      "pinned key, payload over another digest / repository: SignatureVerifyFailed naming why",
      async () => {
        const key = keySigner();
        const pinned = policy(policyYaml([mock.defaultIssuer], ["x"], key.publicPem));
        const target = mem();
        const a = await pushAllowlist(target);
        const other = await pushAllowlist(target, { generation: 11 });
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          payloadDigest: other.manifestDigest,
          signer: key.signer,
        });
        expectReason(
          await verify(target, a.manifestDigest, pinned),
          "False",
          "SignatureVerifyFailed",
          `not over ${a.manifestDigest}`,
        );
        const t2 = mem();
        const b = await pushAllowlist(t2);
        await signLegacy(t2, {
          ...sign,
          digest: b.manifestDigest,
          payloadReference: `${REG}/elsewhere`,
          signer: key.signer,
        });
        expectReason(
          await verify(t2, b.manifestDigest, pinned),
          "False",
          "SignatureVerifyFailed",
          "copied from another repository",
        );
      },
    );

    await t.step("signature from another identity: IdentityMismatch", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      await signLegacy(target, {
        ...sign,
        digest: a.manifestDigest,
        signer: keylessSigner(mock, { sub: OTHER_SAN }),
      });
      const strict = policy(policyYaml([mock.defaultIssuer], [mock.defaultSubject]));
      const r = await verify(target, a.manifestDigest, strict);
      expectReason(r, "False", "IdentityMismatch", OTHER_SAN);
      // adding a valid signature by the allowed identity makes it True (any valid signature)
      await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      expectReason(await verify(target, a.manifestDigest, strict), "True", "Verified");
    });

    await t.step("signature copied from another repository: SignatureVerifyFailed", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      await signLegacy(target, {
        ...sign,
        digest: a.manifestDigest,
        signer: keylessSigner(mock),
        payloadReference: `${REG}/policy/egress-allowlist/other-agent`,
      });
      expectReason(
        await verify(target, a.manifestDigest),
        "False",
        "SignatureVerifyFailed",
        "copied from another repository",
      );
      // the same signature verifies for the repository it names
      const r = await verifyAllowlist({
        ref: { ...refOf(a.manifestDigest), repository: "policy/egress-allowlist/other-agent" },
        target,
        policy: policy(GOOD),
        trustedRoot,
      });
      expectReason(r, "True", "Verified");
    });

    await t.step(
      "signature over another digest (legacy payload, bundle subject): SignatureVerifyFailed",
      async () => {
        const target = mem();
        const a = await pushAllowlist(target);
        const other = await pushAllowlist(target, { generation: 9 });
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          payloadDigest: other.manifestDigest,
          signer: keylessSigner(mock),
        });
        await signBundle(target, {
          ...sign,
          digest: a.manifestDigest,
          payloadDigest: other.manifestDigest,
          signer: keylessSigner(mock),
          subjectSize: a.manifestBytes.length,
        });
        const r = await verify(target, a.manifestDigest);
        expectReason(r, "False", "SignatureVerifyFailed", `not over ${a.manifestDigest}`);
        // the bundle's in-toto subject names the other digest (refused by the engine, or by the verdict)
        assert.match(r.condition.message, /referrer sha256:[0-9a-f]{64}: bundle: .*subject/);
      },
    );

    await t.step("untrusted and expired certificate: SignatureVerifyFailed", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      const stranger = await startSigstoreMock();
      try {
        // Fulcio CA (and Rekor key) of another instance: nothing chains
        const untrusted = loadTrustedRoot(stranger.trustedRoot);
        expectReason(
          await verify(target, a.manifestDigest, policy(GOOD), { trustedRoot: untrusted }),
          "False",
          "SignatureVerifyFailed",
        );
      } finally {
        await stranger.stop();
      }
      // the CA's validity ended before the signature was made
      const expiredJson = structuredClone(mock.trustedRoot) as {
        certificateAuthorities: { validFor: { start: string; end?: string } }[];
      };
      for (const ca of expiredJson.certificateAuthorities) {
        ca.validFor.end = "2001-01-01T00:00:00.000Z";
      }
      const expired = loadTrustedRoot(expiredJson);
      expectReason(
        await verify(target, a.manifestDigest, policy(GOOD), { trustedRoot: expired }),
        "False",
        "SignatureVerifyFailed",
      );
      // verification far in the future still passes: the certificate is checked at signing time
      expectReason(
        await verify(target, a.manifestDigest, policy(GOOD), {
          now: new Date("2099-01-01T00:00:00Z"),
        }),
        "True",
        "Verified",
      );
    });

    await t.step("keyless signature without its Rekor bundle: SignatureVerifyFailed", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      await signLegacy(target, {
        ...sign,
        digest: a.manifestDigest,
        signer: keylessSigner(mock),
        dropRekor: true,
      });
      expectReason(await verify(target, a.manifestDigest), "False", "SignatureVerifyFailed");
    });

    await t.step(
      "tampered signature bytes and a forged unsigned layer: SignatureVerifyFailed",
      async () => {
        const target = mem();
        const a = await pushAllowlist(target);
        const ann = await signLegacy(mem(), {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
        });
        const forgedPayload = utf8(
          `{"critical":{"identity":{"docker-reference":"${REG}/${REPO}"},"image":{"docker-manifest-digest":"${a.manifestDigest}"},"type":"cosign container image signature"},"optional":null} `,
        );
        await appendLegacyLayer(target, a.manifestDigest, forgedPayload, ann);
        expectReason(await verify(target, a.manifestDigest), "False", "SignatureVerifyFailed");
      },
    );

    await t.step("no signature at all: Unsigned, 'no signature found'", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      expectReason(
        await verify(target, a.manifestDigest),
        "False",
        "Unsigned",
        "no signature found",
      );
    });

    await t.step(
      "manifest swapped for another (unsigned) allowlist: Unsigned",
      async () => {
        const target = mem();
        const a = await pushAllowlist(target);
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
        });
        const b = await pushAllowlist(target, { endpoints: [{ host: "evil.example", port: 443 }] });
        expectReason(
          await verify(target, b.manifestDigest),
          "False",
          "Unsigned",
          "no signature found",
        );
        // and a copy of A's signature manifest under B's .sig tag is bound to A's digest
        const sigA = await target.fetchManifest(`${a.manifestDigest.replace(":", "-")}.sig`);
        await target.pushManifest(
          sigA.bytes,
          OCI_MANIFEST,
          `${b.manifestDigest.replace(":", "-")}.sig`,
        );
        expectReason(
          await verify(target, b.manifestDigest),
          "False",
          "SignatureVerifyFailed",
          `not over ${b.manifestDigest}`,
        );
      },
    );

    await t.step(
      "non-canonical allowlist, even when validly signed: CanonicalFormViolation",
      async () => {
        const target = mem();
        const a = await pushAllowlist(target, {
          layerBytes: utf8(
            "apiVersion: kars.dev/v1alpha1\r\nkind: EgressAllowlist\r\nmetadata:\r\n  generation: 1\r\nspec:\r\n  endpoints:\r\n    - host: a.example\r\n      port: 443\r\n",
          ),
        });
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
        });
        expectReason(
          await verify(target, a.manifestDigest),
          "False",
          "CanonicalFormViolation",
          "CRLF",
        );
      },
    );

    await t.step("policy: malformed, missing; ref: invalid; sandbox: inline-only", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      expectReason(
        await verify(target, a.manifestDigest, policy("kind: Secret\n")),
        "False",
        "SignerPolicyMalformed",
      );
      expectReason(
        await verify(target, a.manifestDigest, loadSignerPolicy({ env: {} })),
        "False",
        "SignerPolicyMissing",
      );
      const bad = async (ref: Partial<AllowlistRefInput>, part: string) =>
        expectReason(
          await verifyAllowlist({
            ref: { ...refOf(a.manifestDigest), ...ref } as AllowlistRefInput,
            target,
            policy: policy(GOOD),
            trustedRoot,
          }),
          "False",
          "InvalidRef",
          part,
        );
      await bad({ registry: "registry.example/evil" }, "registry");
      await bad({ registry: "registry .example" }, "registry");
      await bad({ digest: a.manifestDigest.toUpperCase() }, "digest");
      await bad({ digest: "sha256:abc" }, "digest");
      await bad({ artifactType: "application/vnd.oci.image.manifest.v1+json" }, "artifactType");
      await bad({ artifactType: undefined }, "artifactType");
      const inline = {
        apiVersion: "kars.azure.com/v1alpha1",
        kind: "KarsSandbox",
        metadata: { name: "my-agent" },
        spec: { networkPolicy: { allowedEndpoints: [{ host: "api.github.com" }] } },
      };
      expectReason(
        await verifySandbox(inline, { target, policy: policy(GOOD), trustedRoot }),
        "False",
        "Unsigned",
      );
      expectReason(
        await verifySandbox(utf8(JSON.stringify(inline)), {
          target,
          policy: policy(GOOD),
          trustedRoot,
        }),
        "False",
        "Unsigned",
      );
    });

    await t.step("GitOps manifest input: verifySandbox follows its allowlistRef", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      const gm = emitGitopsManifest({
        name: "my-agent",
        signer: `keyless:${mock.defaultSubject}`,
        registry: REG,
        repository: REPO,
        digest: a.manifestDigest,
      });
      expectReason(
        await verifySandbox(gm, { target, policy: policy(GOOD), trustedRoot }),
        "True",
        "Verified",
      );
      expectReason(
        await verifySandbox(gm, { target, policy: policy(NON_MATCHING), trustedRoot }),
        "False",
        "IdentityMismatch",
      );
    });

    await t.step("missing artifact: NotFound; cache keeps verdicts, not faults", async () => {
      const target = mem();
      const a = await pushAllowlist(target);
      await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      expectReason(await verify(target, `sha256:${"0".repeat(64)}`), "False", "NotFound");
      const cache = new VerdictCache<VerifyResult>();
      const first = await verify(target, a.manifestDigest, policy(GOOD), { cache });
      expectReason(first, "True", "Verified");
      assert.equal(first.cached, undefined);
      const second = await verify(target, a.manifestDigest, policy(GOOD), { cache });
      assert.equal(second.cached, true);
      // a different policy is a different key
      const third = await verify(target, a.manifestDigest, policy(NON_MATCHING), { cache });
      expectReason(third, "False", "IdentityMismatch");
      assert.equal(third.cached, undefined);
      assert.equal(cache.size, 2);
      // a transient fault is not cached
      const down = withOverrides(target, {
        fetchManifest: () => Promise.reject(new KarsError("TRANSIENT", "registry unreachable")),
      });
      const other = await pushAllowlist(target, { generation: 5 });
      const r = await verify(down, other.manifestDigest, policy(GOOD), { cache });
      expectReason(r, "Unknown", "TransientError");
      assert.equal(r.verdict, false);
      assert.equal(cache.size, 2);
      const nf = await verify(target, `sha256:${"1".repeat(64)}`, policy(GOOD), { cache });
      expectReason(nf, "False", "NotFound");
      assert.equal(cache.size, 2, "NotFound is access-dependent: not cached");
      // A refreshed trust root (another object, even with the same content) gets its own
      // entries: a verdict reached under the old root never answers for the new one.
      const refreshed = { ...trustedRoot };
      const underNew = await verify(target, a.manifestDigest, policy(GOOD), {
        cache,
        trustedRoot: refreshed,
      });
      expectReason(underNew, "True", "Verified");
      assert.equal(underNew.cached, undefined, "not answered from the old root's entry");
      assert.equal(
        (await verify(target, a.manifestDigest, policy(GOOD), { cache, trustedRoot: refreshed }))
          .cached,
        true,
      );
    });
  } finally {
    await mock.stop();
  }
});

Deno.test(
  "verdict on docker-registry: True, altered layer and swapped manifest (DigestMismatch), NotFound, Unauthorized, registry down",
  needs("docker-registry"),
  async (t) => {
    const reg = await startDockerRegistry({ htpasswd: { user: "ci", password: "s3cret-pw" } });
    const mock = await startSigstoreMock();
    const proxy = startTamperingProxy(reg.url);
    try {
      const trustedRoot = loadTrustedRoot(mock.trustedRoot);
      const GOOD = policy(policyYaml([mock.defaultIssuer], [mock.defaultSubject]));
      const credentials = staticCredentials({ username: "ci", password: "s3cret-pw" });
      const open = (host: string, repository = REPO, creds = credentials) =>
        new RegistryTarget({
          registry: host,
          repository,
          credentials: creds,
          retry: { attempts: 1 },
        });
      const target = open(reg.host);
      const a = await pushAllowlist(target);
      const keyless = keylessSigner(mock);
      await signLegacy(target, {
        registry: reg.host,
        repository: REPO,
        rekorUrl: mock.rekorUrl,
        digest: a.manifestDigest,
        signer: keyless,
      });
      await signBundle(target, {
        registry: reg.host,
        repository: REPO,
        rekorUrl: mock.rekorUrl,
        digest: a.manifestDigest,
        signer: keyless,
        subjectSize: a.manifestBytes.length,
      });
      const ref = (host: string, digest: Digest = a.manifestDigest): AllowlistRefInput => ({
        registry: host,
        repository: REPO,
        digest,
        artifactType: ALLOWLIST_MEDIA_TYPE,
      });

      await t.step(
        "legacy and bundle (fallback referrers tag) found and verified: True",
        async () => {
          const r = await verifyAllowlist({
            ref: ref(reg.host),
            target: open(reg.host),
            policy: GOOD,
            trustedRoot,
          });
          expectReason(r, "True", "Verified", `digest=${a.manifestDigest}, generation=3`);
          assert.equal(r.signatures.length, 1, "stops at the first accepted signature");
          // the bundle alone (legacy .sig removed from view) also verifies through the fallback tag
          const bundleOnly = withOverrides(open(reg.host), {
            resolve: (x: string) => x.endsWith(".sig") ? Promise.resolve(null) : target.resolve(x),
          });
          const rb = await verifyAllowlist({
            ref: ref(reg.host),
            target: bundleOnly,
            policy: GOOD,
            trustedRoot,
          });
          expectReason(rb, "True", "Verified");
          assert.equal(rb.signer?.format, "bundle");
        },
      );

      await t.step("layer bytes altered in transit: DigestMismatch", async () => {
        const path = `/v2/${REPO}/blobs/${a.layer.digest}`;
        proxy.rewrites.set(path, (b) => {
          const c = b.slice();
          c[c.length - 2] ^= 0x01;
          return c;
        });
        try {
          // the proxy's host is loopback too, but the payload names reg.host: the layer check comes first
          const r = await verifyAllowlist({
            ref: ref(reg.host),
            target: open(proxy.host),
            policy: GOOD,
            trustedRoot,
          });
          expectReason(r, "False", "DigestMismatch");
        } finally {
          proxy.rewrites.delete(path);
        }
      });

      await t.step("manifest swapped in transit: DigestMismatch", async () => {
        const b = await pushAllowlist(target, { endpoints: [{ host: "evil.example", port: 443 }] });
        const path = `/v2/${REPO}/manifests/${a.manifestDigest}`;
        proxy.rewrites.set(path, () => b.manifestBytes);
        try {
          const r = await verifyAllowlist({
            ref: ref(reg.host),
            target: open(proxy.host),
            policy: GOOD,
            trustedRoot,
          });
          expectReason(r, "False", "DigestMismatch");
        } finally {
          proxy.rewrites.delete(path);
        }
        // untampered through the proxy: fine (the proxy itself is not the cause)
        const ok = await verifyAllowlist({
          ref: ref(reg.host),
          target: open(proxy.host),
          policy: GOOD,
          trustedRoot,
        });
        expectReason(ok, "True", "Verified");
      });

      await t.step("missing artifact: NotFound; wrong credentials: Unauthorized", async () => {
        expectReason(
          await verifyAllowlist({
            ref: ref(reg.host, `sha256:${"0".repeat(64)}`),
            target: open(reg.host),
            policy: GOOD,
            trustedRoot,
          }),
          "False",
          "NotFound",
        );
        // an opener giving an anonymous RegistryTarget for the ref: refused
        expectReason(
          await verifyAllowlist({
            ref: ref(reg.host),
            target: (r) => new RegistryTarget({ registry: r.registry, repository: r.repository }),
            policy: GOOD,
            trustedRoot,
          }),
          "False",
          "Unauthorized",
        );
        const wrong = staticCredentials({ username: "ci", password: "wrong" });
        expectReason(
          await verifyAllowlist({
            ref: ref(reg.host),
            target: open(reg.host, REPO, wrong),
            policy: GOOD,
            trustedRoot,
          }),
          "False",
          "Unauthorized",
        );
      });

      await t.step("registry down: transient, not a verdict", async () => {
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (l.addr as Deno.NetAddr).port;
        l.close();
        const r = await verifyAllowlist({
          ref: ref(`127.0.0.1:${port}`),
          target: open(`127.0.0.1:${port}`),
          policy: GOOD,
          trustedRoot,
        });
        expectReason(r, "Unknown", "TransientError");
        assert.equal(r.verdict, false);
        assert.ok(r.error);
      });
    } finally {
      await proxy.stop();
      await mock.stop();
      await reg.stop();
    }
  },
);

Deno.test("verdict: digests are re-hashed even when a Target does not check", async () => {
  const t = new MemoryTarget("mem");
  const a = await pushAllowlist(t);
  const b = await pushAllowlist(t, { generation: 8 });
  // a lying target: returns B's bytes when asked for A
  const liar = withOverrides(t, {
    fetchManifest: async (r: string) => {
      const m = await t.fetchManifest(r === a.manifestDigest ? b.manifestDigest : r);
      return { descriptor: { ...m.descriptor, digest: r as Digest }, bytes: m.bytes };
    },
  });
  const r = await verifyAllowlist({
    ref: {
      registry: "r.example",
      repository: "p",
      digest: a.manifestDigest,
      artifactType: ALLOWLIST_MEDIA_TYPE,
    },
    target: liar,
    policy: policy(policyYaml(["https://issuer.example"], ["x"])),
    trustedRoot: {} as TrustedRoot,
  });
  expectReason(r, "False", "DigestMismatch", digestBytes(b.manifestBytes));
});
