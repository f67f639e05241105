/**
 * Where an allowlistRef may point (contract C1): `allowedRegistries` united with the
 * SignerPolicy's `registries`, link-local/metadata refusal, strict host strings — all decided
 * before any request, proven with the request log of an in-process registry.
 */
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { isPolicyError, type SignerPolicy } from "../../lib/verify/policy.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import type { AllowlistRefInput } from "../../lib/model/sandbox.ts";
import { verifyAllowlist } from "../../lib/verify/verdict.ts";
import { startRegistryServer } from "../support/registry_server.ts";
import { policyYaml } from "./fixtures.ts";

const DIGEST = "sha256:" + "ab".repeat(32);
const ISSUER = "https://token.actions.githubusercontent.com";
const SAN = "https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main";

function policy(extra = ""): SignerPolicy {
  const p = loadSignerPolicy({ configMap: policyYaml([ISSUER], [SAN]) + extra, env: {} });
  if (isPolicyError(p)) throw new Error(p.message);
  return p;
}

function ref(registry: string): AllowlistRefInput {
  return { registry, repository: "policy/a", digest: DIGEST, artifactType: ALLOWLIST_MEDIA_TYPE };
}

Deno.test("SignerPolicy registries: parsed strictly, hashed, malformed entries refused", () => {
  const p = policy("  registries: |\n    MyACR.azurecr.io\n    # comment\n    127.0.0.1:5000\n");
  assert.deepEqual(p.registries, ["myacr.azurecr.io", "127.0.0.1:5000"]);
  assert.equal(policy().registries, undefined);
  assert.notEqual(p.hash, policy().hash);
  for (
    const [bad, re] of [
      ["  registries: |\n    myacr.azurecr.io:443@127.0.0.1:5101\n", /user information/],
      ["  registries: |\n    https://r.io\n", /scheme/],
      ['  registries: ""\n', /data\.registries is empty/],
      ["  registries: |\n    # only a comment\n", /data\.registries is empty/],
      ["  registries: [a]\n", /must be a string/],
    ] as const
  ) {
    const r = loadSignerPolicy({ configMap: policyYaml([ISSUER], [SAN]) + bad, env: {} });
    assert.ok(isPolicyError(r), bad);
    assert.equal(r.reason, "SignerPolicyMalformed", bad);
    assert.match(r.message, re, bad);
  }
});

Deno.test("verifyAllowlist: a disallowed or forbidden registry is InvalidRef before any request", async (t) => {
  const reg = await startRegistryServer();
  let opened = 0;
  const openTarget = (r: AllowlistRefInput) => {
    opened++;
    return new RegistryTarget({ registry: r.registry, repository: r.repository });
  };
  const base = { policy: policy(), trustedRoot: {} as never, target: openTarget };
  try {
    await t.step("control: an allowed registry is contacted", async () => {
      const r = await verifyAllowlist({
        ...base,
        ref: ref(reg.host),
        allowedRegistries: [reg.host],
      });
      assert.equal(r.condition.status, "False");
      assert.equal(r.condition.reason, "NotFound", r.condition.message);
      assert.ok(reg.requests.length > 0);
      assert.equal(opened, 1);
    });
    reg.requests.length = 0;
    opened = 0;
    await t.step("--allowed-registry style option", async () => {
      const r = await verifyAllowlist({
        ...base,
        ref: ref(reg.host),
        allowedRegistries: ["myacr.azurecr.io"],
      });
      assert.equal(r.condition.status, "False");
      assert.equal(r.condition.reason, "InvalidRef");
      assert.match(r.condition.message, /not among the allowed registries \(myacr\.azurecr\.io\)/);
    });
    await t.step("SignerPolicy registries", async () => {
      const r = await verifyAllowlist({
        ...base,
        policy: policy("  registries: |\n    myacr.azurecr.io\n"),
        ref: ref(reg.host),
      });
      assert.equal(r.condition.reason, "InvalidRef");
    });
    await t.step("the two are united", async () => {
      const p = policy("  registries: |\n    myacr.azurecr.io\n");
      const ok = await verifyAllowlist({
        ...base,
        policy: p,
        ref: ref(reg.host),
        allowedRegistries: [reg.host],
      });
      assert.equal(ok.condition.reason, "NotFound", ok.condition.message);
      assert.equal(opened, 1);
      opened = 0;
      reg.requests.length = 0;
      const r = await verifyAllowlist({
        ...base,
        policy: p,
        ref: ref("127.0.0.1:1"),
        allowedRegistries: [reg.host],
      });
      assert.equal(r.condition.reason, "InvalidRef");
      assert.match(r.condition.message, /\(127\.0\.0\.1:\d+, myacr\.azurecr\.io\)/);
    });
    await t.step("link-local and metadata without any list", async () => {
      for (
        const h of [
          "169.254.169.254",
          "169.254.169.254:80",
          "[fe80::1]:5000",
          "metadata.google.internal",
        ]
      ) {
        const r = await verifyAllowlist({ ...base, ref: ref(h) });
        assert.equal(r.condition.reason, "InvalidRef", h);
        assert.match(r.condition.message, /refused/, h);
      }
    });
    await t.step("userinfo and numeric tricks in the ref", async () => {
      for (const h of [`myacr.azurecr.io:443@${reg.host}`, "2852039166", "0xa9.0xfe.0xa9.0xfe"]) {
        const r = await verifyAllowlist({ ...base, ref: ref(h) });
        assert.equal(r.condition.reason, "InvalidRef", h);
        assert.match(r.condition.message, /is not a registry host/, h);
      }
    });
    assert.equal(reg.requests.length, 0, JSON.stringify(reg.requests));
    assert.equal(opened, 0);
    await t.step("a malformed allowedRegistries entry is the caller's INPUT error", async () => {
      await assert.rejects(
        verifyAllowlist({ ...base, ref: ref(reg.host), allowedRegistries: ["a@b"] }),
        (e) => isKarsError(e, "INPUT") && /allowed registry/.test((e as Error).message),
      );
    });
  } finally {
    await reg.stop();
  }
});
