/**
 * The controller profile (lib/verify/controller.ts, formats.md §8): the kars controller's
 * verdict predicted on the same material as ours — keyless only, legacy `.sig` only, exact
 * http(s) SANs, unanchored email `re:`, its reason mapping and check order, its canonical
 * rules — and one fetch for both verdicts. Keyless signatures come from the @sigstore/mock
 * Fulcio/Rekor on loopback; key signatures from key files.
 */
import assert from "assert";
import { loadSanRegexEngine } from "../../lib/verify/san_match.ts";
import { utf8 } from "../../lib/encoding/bytes.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import type { Target } from "../../lib/oci/types.ts";
import { loadTrustedRoot } from "../../lib/verify/sigstore/trust_root.ts";
import { productionTrustedRoot, verifyBundle } from "../../lib/verify/sigstore/mod.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import type { PolicyError, SignerPolicy } from "../../lib/verify/policy.ts";
import { VerdictCache } from "../../lib/verify/cache.ts";
import { controllerCanonicalAllowlist } from "../../lib/verify/controller_canonical.ts";
import { controllerSanMatches } from "../../lib/verify/controller_san.ts";
import { isPublicGoodRoot, TRUST_ROOT_NOTE } from "../../lib/verify/trust_note.ts";
import { predictControllerVerdict } from "../../lib/verify/controller.ts";
import { verifyBoth } from "../../lib/verify/both.ts";
import type { AllowlistRefInput } from "../../lib/model/sandbox.ts";
import type { BundleVerifier } from "../../lib/verify/options.ts";
import type { VerifyResult } from "../../lib/verify/result.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import {
  keylessSigner,
  keySigner,
  policyYaml,
  pushAllowlist,
  signBundle,
  signLegacy,
} from "./fixtures.ts";

// `re:` patterns are compiled synchronously below: load the regex engine once.
await loadSanRegexEngine();

const REG = "registry.example:5000";
const REPO = "policy/egress-allowlist/my-agent";

function policy(yaml: string): SignerPolicy | PolicyError {
  return loadSignerPolicy({ configMap: yaml, env: {} });
}

function expect(r: VerifyResult, status: string, reason: string, part?: string | RegExp): void {
  const info = JSON.stringify({ condition: r.condition, signatures: r.signatures });
  assert.equal(r.condition.status, status, info);
  assert.equal(r.condition.reason, reason, info);
  if (typeof part === "string") assert.ok(r.condition.message.includes(part), info);
  else if (part) assert.match(r.condition.message, part, info);
}

const refOf = (digest: string): AllowlistRefInput => ({
  registry: REG,
  repository: REPO,
  digest,
  artifactType: ALLOWLIST_MEDIA_TYPE,
});

/** A Target recording every read (method and argument). */
function recording(base: Target): { target: Target; reads: string[] } {
  const reads: string[] = [];
  const target = Object.create(base) as Target;
  const wrap = <K extends "fetchManifest" | "fetchBlob" | "resolve" | "referrers">(k: K) => {
    const f = (base[k] as (...a: unknown[]) => unknown).bind(base);
    (target as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => {
      reads.push(`${k} ${String(a[0])}`);
      return f(...a);
    };
  };
  wrap("fetchManifest");
  wrap("fetchBlob");
  wrap("resolve");
  wrap("referrers");
  return { target, reads };
}

Deno.test("controller SAN reading: exact http(s), literal globs, email exact or unanchored re:", () => {
  const uri = "https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main";
  assert.equal(controllerSanMatches(uri, uri), true);
  assert.equal(
    controllerSanMatches(
      "https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main",
      uri,
    ),
    false,
  );
  assert.equal(
    controllerSanMatches("https://github.com/acme/*", "https://github.com/acme/*"),
    true,
  );
  assert.equal(controllerSanMatches(`${uri}x`, uri), false);
  // re: applies to email SANs only, unanchored
  assert.equal(controllerSanMatches("re:github\\.com/acme", uri), false);
  assert.equal(controllerSanMatches("re:@acme\\.example", "dev@acme.example"), true);
  assert.equal(controllerSanMatches("re:@acme\\.example", "dev@acme.example.evil"), true);
  assert.equal(controllerSanMatches("re:^dev@acme\\.example$", "dev@acme.example.evil"), false);
  // plain patterns: exact email, globs literal
  assert.equal(controllerSanMatches("dev@acme.example", "dev@acme.example"), true);
  assert.equal(controllerSanMatches("*@acme.example", "dev@acme.example"), false);
  assert.equal(controllerSanMatches("*@acme.example", "*@acme.example"), true);
  assert.equal(controllerSanMatches("dev@acme.example", "https://dev@acme.example"), false);
});

Deno.test("controller canonical rules: structure checked, indentation not, [] accepted", () => {
  const doc = (endpoints: string, meta = "  generation: 2\n") =>
    utf8(
      `apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n${meta}spec:\n${endpoints}`,
    );
  const ok = controllerCanonicalAllowlist(
    doc("  endpoints:\n  - host: a.example\n    port: 443\n  - host: b.example\n    port: 80\n"),
  );
  assert.deepEqual(ok, {
    generation: 2,
    endpoints: [{ host: "a.example", port: 443 }, { host: "b.example", port: 80 }],
  });
  assert.deepEqual(controllerCanonicalAllowlist(doc("  endpoints: []\n")).endpoints, []);
  assert.equal(
    controllerCanonicalAllowlist(doc("  endpoints: []\n", "  name: x\n  generation: 1\n"))
      .generation,
    1,
  );
  const bad: [Uint8Array, RegExp][] = [
    [
      doc("  endpoints:\n    - host: a.example\n      port: 443\n      protocol: tcp\n"),
      /host then port/,
    ],
    [doc("  endpoints:\n    - port: 443\n      host: a.example\n"), /host then port/],
    [
      doc(
        "  endpoints:\n    - host: b.example\n      port: 1\n    - host: a.example\n      port: 1\n",
      ),
      /sorted/,
    ],
    [
      doc(
        "  endpoints:\n    - host: a.example\n      port: 1\n    - host: a.example\n      port: 1\n",
      ),
      /sorted/,
    ],
    [doc("  endpoints:\n    - host: a.example.\n      port: 1\n"), /trailing dot/],
    [doc("  endpoints:\n    - host: '*.example'\n      port: 1\n"), /a-z0-9/],
    [doc("  endpoints:\n    - host: a.example\n      port: 0\n"), /port/],
    [doc("  endpoints: []\n", "  generation: 0\n"), /generation/],
    [utf8("# c\napiVersion: kars.dev/v1alpha1\n"), /comment/],
    [utf8("apiVersion: kars.dev/v1alpha1\r\n"), /carriage return/],
    [
      utf8("kind: EgressAllowlist\napiVersion: kars.dev/v1alpha1\nmetadata: {}\nspec: {}\n"),
      /top-level keys/,
    ],
    [doc("  endpoints: []").subarray(0, doc("  endpoints: []").length), /newline/],
  ];
  for (const [bytes, why] of bad) {
    assert.throws(
      () => controllerCanonicalAllowlist(bytes),
      (e: Error & { details?: { reason?: string } }) =>
        e.details?.reason === "CanonicalFormViolation" && why.test(e.message),
      new TextDecoder().decode(bytes),
    );
  }
});

Deno.test("controller trust: the embedded root is public-good; another root is noted", async () => {
  assert.equal(isPublicGoodRoot(productionTrustedRoot()), true);
  const mock = await startSigstoreMock();
  try {
    assert.equal(isPublicGoodRoot(loadTrustedRoot(mock.trustedRoot)), false);
  } finally {
    await mock.stop();
  }
});

Deno.test("controller verdict: keyless only, exact SANs, legacy only, its reasons and order", async (t) => {
  const mock = await startSigstoreMock();
  const trustedRoot = loadTrustedRoot(mock.trustedRoot);
  const EXACT = policyYaml([mock.defaultIssuer], [mock.defaultSubject]);
  const GLOB = policyYaml([mock.defaultIssuer], [
    "https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main",
  ]);
  const sign = { registry: REG, repository: REPO, rekorUrl: mock.rekorUrl };
  const both = (target: Target, digest: string, p: SignerPolicy | PolicyError) =>
    verifyBoth({ ref: refOf(digest), target, policy: p, trustedRoot });
  try {
    await t.step("keyless legacy under an exact SAN: True for both, trust note", async () => {
      const target = new MemoryTarget(`${REG}/${REPO}`);
      const a = await pushAllowlist(target);
      await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      const { ours, controller } = await both(target, a.manifestDigest, policy(EXACT));
      expect(ours, "True", "Verified");
      expect(controller, "True", "Verified");
      assert.equal(controller.condition.message, `digest=${a.manifestDigest}, generation=3`);
      assert.equal(controller.signer?.id, `keyless:${mock.defaultSubject}`);
      assert.deepEqual(controller.endpoints, ours.endpoints);
      assert.deepEqual(controller.notes, [TRUST_ROOT_NOTE]);
      // the two-argument form gives the same verdict
      const single = await predictControllerVerdict(refOf(a.manifestDigest), {
        target,
        policy: policy(EXACT),
        trustedRoot,
      });
      expect(single, "True", "Verified");
    });

    await t.step(
      "keyless under a glob: ours True, controller IdentityMismatch naming the fix",
      async () => {
        const target = new MemoryTarget(`${REG}/${REPO}`);
        const a = await pushAllowlist(target);
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
        });
        const { ours, controller } = await both(target, a.manifestDigest, policy(GLOB));
        expect(ours, "True", "Verified");
        expect(controller, "False", "IdentityMismatch", "exact string there (no globs)");
        assert.ok(controller.condition.message.includes(mock.defaultSubject));
      },
    );

    await t.step(
      "key signature pinned by publicKeys: ours True, controller IdentityMismatch",
      async () => {
        const key = keySigner();
        const target = new MemoryTarget(`${REG}/${REPO}`);
        const a = await pushAllowlist(target);
        await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: key.signer });
        const pinned = policy(
          policyYaml([mock.defaultIssuer], [mock.defaultSubject], key.publicPem),
        );
        const { ours, controller } = await both(target, a.manifestDigest, pinned);
        expect(ours, "True", "Verified");
        expect(controller, "False", "IdentityMismatch", "accepts only keyless signatures");
      },
    );

    await t.step("bundle only (no .sig): ours True, controller IdentityMismatch", async () => {
      const target = new MemoryTarget(`${REG}/${REPO}`);
      const a = await pushAllowlist(target);
      await signBundle(target, {
        ...sign,
        digest: a.manifestDigest,
        signer: keylessSigner(mock),
        subjectSize: a.manifestBytes.length,
      });
      const { ours, controller } = await both(target, a.manifestDigest, policy(EXACT));
      expect(ours, "True", "Verified");
      expect(controller, "False", "IdentityMismatch", "reads only the legacy .sig");
    });

    await t.step(
      "unsigned, or keyless without Rekor: IdentityMismatch, never SignatureVerifyFailed",
      async () => {
        const target = new MemoryTarget(`${REG}/${REPO}`);
        const a = await pushAllowlist(target);
        let r = await both(target, a.manifestDigest, policy(EXACT));
        expect(r.ours, "False", "Unsigned"); // formats.md §6: nothing signed to verify
        expect(r.controller, "False", "IdentityMismatch", "no signature at tag");
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
          dropRekor: true,
        });
        r = await both(target, a.manifestDigest, policy(EXACT));
        expect(r.ours, "False", "SignatureVerifyFailed");
        expect(r.controller, "False", "IdentityMismatch", "without a Rekor bundle");
      },
    );

    await t.step(
      "signatures before bytes; indentation unchecked; endpoints: [] accepted",
      async () => {
        const layer = (eps: string) =>
          utf8(
            `apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: 4\nspec:\n${eps}`,
          );
        // list items indented two (not four): ours refuses, the controller does not check it
        const target = new MemoryTarget(`${REG}/${REPO}`);
        const a = await pushAllowlist(target, {
          layerBytes: layer("  endpoints:\n  - host: a.example\n    port: 443\n"),
        });
        let r = await both(target, a.manifestDigest, policy(EXACT));
        expect(r.ours, "False", "CanonicalFormViolation");
        expect(r.controller, "False", "IdentityMismatch"); // unsigned: signatures come first
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
        });
        r = await both(target, a.manifestDigest, policy(EXACT));
        expect(r.ours, "False", "CanonicalFormViolation");
        expect(r.controller, "True", "Verified");
        assert.deepEqual(r.controller.endpoints, [{ host: "a.example", port: 443 }]);
        // a protocol key: both refuse
        const t2 = new MemoryTarget(`${REG}/${REPO}`);
        const b = await pushAllowlist(t2, {
          layerBytes: layer(
            "  endpoints:\n    - host: a.example\n      port: 443\n      protocol: tcp\n",
          ),
        });
        await signLegacy(t2, { ...sign, digest: b.manifestDigest, signer: keylessSigner(mock) });
        r = await both(t2, b.manifestDigest, policy(EXACT));
        expect(r.ours, "False", "CanonicalFormViolation");
        expect(r.controller, "False", "CanonicalFormViolation", "host then port");
        // deny-all
        const t3 = new MemoryTarget(`${REG}/${REPO}`);
        const c = await pushAllowlist(t3, { layerBytes: layer("  endpoints: []\n") });
        await signLegacy(t3, { ...sign, digest: c.manifestDigest, signer: keylessSigner(mock) });
        r = await both(t3, c.manifestDigest, policy(EXACT));
        expect(r.controller, "True", "Verified");
        assert.deepEqual(r.controller.endpoints, []);
      },
    );

    await t.step(
      "a signed manifest announcing a huge layer: no fetch, CanonicalFormViolation",
      async () => {
        const target = new MemoryTarget(`${REG}/${REPO}`);
        const a = await pushAllowlist(target);
        const m = JSON.parse(new TextDecoder().decode(a.manifestBytes));
        m.layers[0].size = 2 ** 40; // a terabyte, never fetched or allocated
        const bytes = utf8(JSON.stringify(m));
        const d = await target.pushManifest(bytes, m.mediaType);
        await signLegacy(target, { ...sign, digest: d.digest, signer: keylessSigner(mock) });
        const fetched: number[] = [];
        const watched: Target = {
          location: target.location,
          blobExists: (digest) => target.blobExists(digest),
          fetchBlob: (digest, size) => {
            if (size !== undefined) fetched.push(size);
            return target.fetchBlob(digest, size);
          },
          pushBlob: (desc, data) => target.pushBlob(desc, data),
          resolve: (r) => target.resolve(r),
          fetchManifest: (r) => target.fetchManifest(r),
          pushManifest: (b, mt, tag) => target.pushManifest(b, mt, tag),
          tag: (desc, tag) => target.tag(desc, tag),
          listTags: () => target.listTags(),
          referrers: (digest, at) => target.referrers(digest, at),
        };
        const r = await verifyBoth({
          ref: refOf(d.digest),
          target: watched,
          policy: policy(EXACT),
          trustedRoot,
        });
        expect(r.controller, "False", "CanonicalFormViolation", /size 1099511627776 is outside/);
        assert.equal(r.ours.condition.status, "False");
        assert.ok(!fetched.includes(2 ** 40), `fetched ${fetched}`);
      },
    );

    await t.step("email SAN: re: is unanchored there, anchored here", async () => {
      const target = new MemoryTarget(`${REG}/${REPO}`);
      const a = await pushAllowlist(target);
      await signLegacy(target, {
        ...sign,
        digest: a.manifestDigest,
        signer: keylessSigner(mock, { sub: "dev@acme.example" }),
      });
      const p = policy(policyYaml([mock.defaultIssuer], ["re:@acme\\.example"]));
      const r = await both(target, a.manifestDigest, p);
      expect(r.ours, "False", "IdentityMismatch");
      expect(r.controller, "True", "Verified");
      const glob = policy(policyYaml([mock.defaultIssuer], ["*@acme.example"]));
      const g = await both(target, a.manifestDigest, glob);
      expect(g.ours, "True", "Verified");
      expect(g.controller, "False", "IdentityMismatch");
    });

    await t.step(
      "a signature copied from another repository: refused by ours, not by the controller (digest only)",
      async () => {
        const target = new MemoryTarget(`${REG}/${REPO}`);
        const a = await pushAllowlist(target);
        await signLegacy(target, {
          ...sign,
          digest: a.manifestDigest,
          signer: keylessSigner(mock),
          payloadReference: `${REG}/policy/egress-allowlist/other`,
        });
        const r = await both(target, a.manifestDigest, policy(EXACT));
        expect(r.ours, "False", "SignatureVerifyFailed", "another repository");
        expect(r.controller, "True", "Verified");
        // and over another digest: refused by both
        const t2 = new MemoryTarget(`${REG}/${REPO}`);
        const b = await pushAllowlist(t2);
        await signLegacy(t2, {
          ...sign,
          digest: b.manifestDigest,
          signer: keylessSigner(mock),
          payloadDigest: `sha256:${"1".repeat(64)}`,
        });
        const r2 = await both(t2, b.manifestDigest, policy(EXACT));
        expect(r2.ours, "False", "SignatureVerifyFailed");
        expect(r2.controller, "False", "IdentityMismatch", "not over");
      },
    );

    await t.step("check order: malformed → InvalidRef → missing", async () => {
      const target = new MemoryTarget(`${REG}/${REPO}`);
      const badRef = { ...refOf("sha256:ABC") };
      const missing = policy("");
      const malformed: PolicyError = { reason: "SignerPolicyMalformed", message: "bad" };
      const missingErr: PolicyError = { reason: "SignerPolicyMissing", message: "none" };
      assert.equal((missing as PolicyError).reason, "SignerPolicyMalformed");
      let r = await verifyBoth({ ref: badRef, target, policy: malformed, trustedRoot });
      expect(r.ours, "False", "SignerPolicyMalformed");
      expect(r.controller, "False", "SignerPolicyMalformed");
      r = await verifyBoth({ ref: badRef, target, policy: missingErr, trustedRoot });
      expect(r.ours, "False", "SignerPolicyMissing");
      expect(r.controller, "False", "InvalidRef");
      r = await verifyBoth({
        ref: refOf(`sha256:${"0".repeat(64)}`),
        target,
        policy: missingErr,
        trustedRoot,
      });
      expect(r.controller, "False", "SignerPolicyMissing");
      // missing artifact: NotFound for both
      r = await verifyBoth({
        ref: refOf(`sha256:${"0".repeat(64)}`),
        target,
        policy: policy(EXACT),
        trustedRoot,
      });
      expect(r.ours, "False", "NotFound");
      expect(r.controller, "False", "NotFound");
    });

    await t.step("one discovery, two judgements: every read happens once", async () => {
      const mem = new MemoryTarget(`${REG}/${REPO}`);
      const a = await pushAllowlist(mem);
      await signLegacy(mem, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      await signBundle(mem, {
        ...sign,
        digest: a.manifestDigest,
        signer: keylessSigner(mock),
        subjectSize: a.manifestBytes.length,
      });
      const alone = recording(mem);
      await predictControllerVerdict({
        ref: refOf(a.manifestDigest),
        target: alone.target,
        policy: policy(GLOB),
        trustedRoot,
      });
      const rec = recording(mem);
      const r = await both(rec.target, a.manifestDigest, policy(GLOB));
      expect(r.ours, "True", "Verified");
      expect(r.controller, "False", "IdentityMismatch");
      assert.ok(rec.reads.length > 0);
      assert.equal(new Set(rec.reads).size, rec.reads.length, rec.reads.join("\n"));
      // the controller alone reads nothing that the pair did not
      for (const x of alone.reads) assert.ok(rec.reads.includes(x), x);
    });

    await t.step("one certificate check per legacy signature for both judgements", async () => {
      const target = new MemoryTarget(`${REG}/${REPO}`);
      const a = await pushAllowlist(target);
      await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      let calls = 0;
      const verifier: BundleVerifier = (b, art, o) => {
        calls++;
        return verifyBundle(b, art, o);
      };
      const r = await verifyBoth({
        ref: refOf(a.manifestDigest),
        target,
        policy: policy(EXACT),
        trustedRoot,
        verifier,
      });
      expect(r.ours, "True", "Verified");
      expect(r.controller, "True", "Verified");
      assert.equal(calls, 1);
    });

    await t.step("cache: the controller's verdict has its own key", async () => {
      const target = new MemoryTarget(`${REG}/${REPO}`);
      const a = await pushAllowlist(target);
      await signLegacy(target, { ...sign, digest: a.manifestDigest, signer: keylessSigner(mock) });
      const cache = new VerdictCache<VerifyResult>();
      const opts = {
        ref: refOf(a.manifestDigest),
        target,
        policy: policy(GLOB),
        trustedRoot,
        cache,
      };
      const first = await verifyBoth(opts);
      expect(first.ours, "True", "Verified");
      expect(first.controller, "False", "IdentityMismatch");
      const second = await verifyBoth(opts);
      assert.equal(second.ours.cached, true);
      assert.equal(second.controller.cached, true);
      expect(second.controller, "False", "IdentityMismatch");
    });
  } finally {
    await mock.stop();
  }
});

Deno.test("controller verdict: never fetches what our verifier refuses to (registry not allowed, metadata address)", async () => {
  const mem = new MemoryTarget(`${REG}/${REPO}`);
  const a = await pushAllowlist(mem);
  const p = policy(policyYaml(["https://token.actions.githubusercontent.com"], ["x@y.example"]));
  const cases: [AllowlistRefInput, string[] | undefined][] = [
    [{ ...refOf(a.manifestDigest), registry: "169.254.169.254" }, undefined],
    [refOf(a.manifestDigest), ["other.example"]],
  ];
  for (const [ref, allowedRegistries] of cases) {
    const rec = recording(mem);
    const opts = {
      ref,
      target: rec.target,
      policy: p,
      trustedRoot: productionTrustedRoot(),
      ...(allowedRegistries ? { allowedRegistries } : {}),
    };
    const { ours, controller } = await verifyBoth(opts);
    expect(ours, "False", "InvalidRef");
    expect(controller, "Unknown", "Error", "not predicted");
    expect(await predictControllerVerdict(opts), "Unknown", "Error", "not predicted");
    assert.deepEqual(rec.reads, []);
  }
});
