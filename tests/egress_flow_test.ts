/**
 * End-to-end `kars egress` on loopback: Debian's docker-registry, the @sigstore/mock
 * services (Fulcio, Rekor, TSA), and @sigstore/verify under Node as the oracle.
 */
import assert from "assert";
import { join } from "node:path";
import { fromBase64, fromUtf8 } from "../lib/encoding/bytes.ts";
import type { Digest } from "../lib/encoding/digest.ts";
import { RegistryTarget } from "../lib/oci/registry.ts";
import type { ImageManifest } from "../lib/oci/types.ts";
import { legacyLayerToBundle } from "../lib/verify/legacy.ts";
import { runKars } from "./support/cli.ts";
import { needs, startDockerRegistry } from "./support/docker_registry.ts";
import { oracleVerify } from "./support/node_oracle.ts";
import { startSigstoreMock } from "./support/sigstore_mock.ts";

const BASIC = new URL("../testdata/sandboxes/basic.yaml", import.meta.url).pathname;

async function withEnv(
  fn: (
    env: {
      registry: string;
      mock: Awaited<ReturnType<typeof startSigstoreMock>>;
      dir: string;
      token: string;
      flags: string[];
    },
  ) => Promise<void>,
): Promise<void> {
  const reg = await startDockerRegistry();
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-flow-" });
  try {
    const token = mock.mintToken();
    await fn({
      registry: reg.host,
      mock,
      dir,
      token,
      flags: ["--registry", reg.host, "--fulcio-url", mock.fulcioUrl, "--rekor-url", mock.rekorUrl],
    });
  } finally {
    await mock.stop();
    await reg.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function sandboxCopy(dir: string, edit?: (t: string) => string): Promise<string> {
  const p = join(dir, "sandbox.yaml");
  const text = await Deno.readTextFile(BASIC);
  await Deno.writeTextFile(p, edit ? edit(text) : text);
  return p;
}

Deno.test(
  "keyless flow: writes the manifest; the legacy signature verifies with @sigstore/verify and binds digest and reference",
  needs("docker-registry"),
  async () => {
    await withEnv(async ({ registry, mock, dir, token, flags }) => {
      const out = join(dir, "gitops", "basic-allowlist.yaml");
      const r = await runKars([
        "egress",
        "basic",
        "--enforce",
        "--from-file",
        await sandboxCopy(dir),
        "--emit-manifest",
        out,
        "--json",
        ...flags,
      ], { env: { SIGSTORE_ID_TOKEN: token } });
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout);
      const digest = res.digest as Digest;
      const manifest = await Deno.readTextFile(out);
      assert.ok(
        manifest.startsWith(
          `# kars egress allowlist — digest=${digest} signer=keyless:${mock.defaultSubject}\n`,
        ),
        manifest,
      );
      assert.match(manifest, new RegExp(`\n      digest: ${digest}\n`));
      assert.equal(res.signer, `keyless:${mock.defaultSubject}`);
      assert.equal(res.signatureFormat, "legacy");

      // The legacy signature, as cosign and the controller read it.
      const repo = "policy/egress-allowlist/basic";
      const t = new RegistryTarget({ registry, repository: repo });
      const sig = await t.fetchManifest(`sha256-${digest.slice(7)}.sig`);
      const sm = JSON.parse(fromUtf8(sig.bytes)) as ImageManifest;
      assert.equal(sm.layers.length, 1);
      const layer = sm.layers[0];
      assert.equal(layer.mediaType, "application/vnd.dev.cosign.simplesigning.v1+json");
      const payload = await t.fetchBlob(layer.digest, layer.size);
      // Byte-identical to cosign's simple-signing payload for the same input.
      assert.equal(
        fromUtf8(payload),
        `{"critical":{"identity":{"docker-reference":"${registry}/${repo}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
      );
      assert.ok(layer.annotations?.["dev.sigstore.cosign/certificate"]);
      assert.ok(layer.annotations?.["dev.sigstore.cosign/bundle"]);
      const bundle = legacyLayerToBundle(payload, layer.annotations);
      const [verdict] = await oracleVerify([{
        bundle,
        artifact: payload,
        trustedRoot: mock.trustedRoot,
        identity: { san: mock.defaultSubject, issuer: mock.defaultIssuer },
      }]);
      assert.ok(verdict.ok, verdict.error);
      // The token appears nowhere the user can see or commit.
      for (const text of [r.stdout, r.stderr, manifest]) assert.ok(!text.includes(token));
      assert.ok(!fromUtf8(sig.bytes).includes(token));
    });
  },
);

Deno.test(
  "--signature-format bundle: found through the referrers fallback tag on docker-registry and verifies",
  needs("docker-registry"),
  async () => {
    await withEnv(async ({ registry, mock, dir, token, flags }) => {
      const r = await runKars([
        "egress",
        "basic",
        "--enforce",
        "--from-file",
        await sandboxCopy(dir),
        "--emit-manifest",
        join(dir, "m.yaml"),
        "--signature-format",
        "bundle",
        "--json",
        ...flags,
      ], { env: { SIGSTORE_ID_TOKEN: token } });
      assert.equal(r.code, 0, r.stderr);
      const digest = JSON.parse(r.stdout).digest as Digest;
      const t = new RegistryTarget({ registry, repository: "policy/egress-allowlist/basic" });
      // docker-registry 2.8 has no referrers API: the fallback index tag holds the referrer.
      const index = JSON.parse(
        fromUtf8((await t.fetchManifest(`sha256-${digest.slice(7)}`)).bytes),
      );
      assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
      const refs = await t.referrers(digest, "application/vnd.dev.sigstore.bundle.v0.3+json");
      assert.equal(refs.length, 1);
      const m = JSON.parse(
        fromUtf8((await t.fetchManifest(refs[0].digest)).bytes),
      ) as ImageManifest;
      assert.equal(m.subject?.digest, digest);
      const bundle = JSON.parse(fromUtf8(await t.fetchBlob(m.layers[0].digest, m.layers[0].size)));
      const statement = JSON.parse(fromUtf8(fromBase64(bundle.dsseEnvelope.payload)));
      assert.equal(statement.subject[0].digest.sha256, digest.slice(7));
      assert.equal(statement.predicateType, "https://sigstore.dev/cosign/sign/v1");
      // The allowlist manifest itself is the artifact the statement's subject names.
      const manifestBytes = (await t.fetchManifest(digest)).bytes;
      const [verdict] = await oracleVerify([{
        bundle,
        artifact: manifestBytes,
        trustedRoot: mock.trustedRoot,
        identity: { san: mock.defaultSubject, issuer: mock.defaultIssuer },
      }]);
      assert.ok(verdict.ok, verdict.error);
    });
  },
);

Deno.test(
  "same sandbox twice with --force: byte-identical manifest; one endpoint changed: only digest lines and generation change",
  needs("docker-registry"),
  async () => {
    await withEnv(async ({ dir, token, flags }) => {
      const out = join(dir, "m.yaml");
      const run = async (sandbox: string) => {
        const r = await runKars([
          "egress",
          "basic",
          "--enforce",
          "--from-file",
          sandbox,
          "--emit-manifest",
          out,
          "--force",
          "--json",
          ...flags,
        ], { env: { SIGSTORE_ID_TOKEN: token } });
        assert.equal(r.code, 0, r.stderr);
        return { result: JSON.parse(r.stdout), text: await Deno.readTextFile(out) };
      };
      const first = await run(await sandboxCopy(dir));
      const second = await run(await sandboxCopy(dir));
      assert.equal(second.text, first.text);
      assert.equal(second.result.digest, first.result.digest);
      assert.equal(second.result.generation, 1);
      const third = await run(
        await sandboxCopy(dir, (t) => t.replace("pypi.org", "files.pythonhosted.org")),
      );
      assert.equal(third.result.generation, 2);
      assert.notEqual(third.result.digest, first.result.digest);
      const a = first.text.split("\n");
      const b = third.text.split("\n");
      assert.equal(a.length, b.length);
      const changed = a.flatMap((l, i) => (l === b[i] ? [] : [i]));
      assert.equal(changed.length, 2, `changed lines: ${changed}`);
      for (const i of changed) assert.match(b[i], /digest[=:] ?sha256:/);
    });
  },
);

Deno.test(
  "faults after the push: Fulcio 500, Rekor down, TSA down — exit 5 (transient), manifest absent or untouched",
  needs("docker-registry"),
  async (t) => {
    await withEnv(async ({ mock, dir, token, registry }) => {
      // The mock's URL getters point at a closed port while a service is "down": read them late.
      const flags = () => [
        "--registry",
        registry,
        "--fulcio-url",
        mock.fulcioUrl,
        "--rekor-url",
        mock.rekorUrl,
      ];
      const cases: Array<[string, () => void, () => string[], RegExp]> = [
        ["Fulcio 500", () => (mock.fail.fulcio = 500), () => [], /fulcio/i],
        ["Rekor down", () => (mock.fail.rekor = "down"), () => [], /rekor/i],
        [
          "TSA down",
          () => (mock.fail.tsa = "down"),
          () => ["--tsa-url", mock.tsaUrl],
          /timestamp|tsa/i,
        ],
      ];
      // A manifest from an earlier, successful run.
      const old = join(dir, "old.yaml");
      const ok = await runKars([
        "egress",
        "basic",
        "--enforce",
        "--from-file",
        await sandboxCopy(dir),
        "--emit-manifest",
        old,
        ...flags(),
      ], { env: { SIGSTORE_ID_TOKEN: token } });
      assert.equal(ok.code, 0, ok.stderr);
      const oldText = await Deno.readTextFile(old);
      for (const [name, inject, extra, re] of cases) {
        await t.step(name, async () => {
          mock.fail.fulcio = mock.fail.rekor = mock.fail.tsa = undefined;
          inject();
          const fresh = join(dir, `${name.replace(/\W/g, "-")}.yaml`);
          // A changed sandbox: a successful run would rewrite the manifest.
          const sandbox = await sandboxCopy(
            dir,
            (s) => s.replace("pypi.org", `${name.length}.example`),
          );
          const args = [
            "egress",
            "basic",
            "--enforce",
            "--from-file",
            sandbox,
            ...flags(),
            ...extra(),
          ];
          const r1 = await runKars([...args, "--emit-manifest", fresh], {
            env: { SIGSTORE_ID_TOKEN: token },
          });
          assert.equal(r1.code, 5, r1.stderr);
          assert.match(r1.stderr, /signing failed; .* not written/);
          assert.match(r1.stderr, re);
          assert.ok(!r1.stderr.includes(token));
          await assert.rejects(Deno.stat(fresh), Deno.errors.NotFound);
          // With --force, an existing manifest stays exactly as it was.
          const r2 = await runKars([...args, "--emit-manifest", old, "--force"], {
            env: { SIGSTORE_ID_TOKEN: token },
          });
          assert.equal(r2.code, 5, r2.stderr);
          assert.equal(await Deno.readTextFile(old), oldText);
          assert.deepEqual(
            [...Deno.readDirSync(dir)].filter((e) => e.name.includes(".tmp")).map((e) => e.name),
            [],
          );
        });
      }
      mock.fail.fulcio = mock.fail.rekor = mock.fail.tsa = undefined;
    });
  },
);

Deno.test(
  "no identity token: fails before anything is pushed",
  needs("docker-registry"),
  async () => {
    await withEnv(async ({ dir, flags, registry }) => {
      const r = await runKars([
        "egress",
        "basic",
        "--enforce",
        "--from-file",
        await sandboxCopy(dir),
        "--emit-manifest",
        join(dir, "m.yaml"),
        ...flags,
      ], { env: {} });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /nothing was pushed/);
      const t = new RegistryTarget({ registry, repository: "policy/egress-allowlist/basic" });
      assert.equal(await t.resolve("latest"), null);
    });
  },
);

Deno.test(
  "--signer-policy: verified as the controller would; a non-matching policy leaves no manifest",
  needs("docker-registry"),
  async () => {
    await withEnv(async ({ mock, dir, token, flags }) => {
      const policy = (san: string) =>
        `apiVersion: v1
kind: ConfigMap
metadata:
  name: kars-signer-policy
data:
  fulcioIssuers: |
    ${mock.defaultIssuer}
  sanPatterns: |
    ${san}
`;
      const root = join(dir, "trusted_root.json");
      await Deno.writeTextFile(root, JSON.stringify(mock.trustedRoot));
      const good = join(dir, "good.yaml");
      const bad = join(dir, "bad.yaml");
      // The mock's SAN is a GitHub workflow identity: a glob over the workflow file matches it.
      const glob = mock.defaultSubject.replace(/[^/]+\.yml@/, "*.yml@");
      await Deno.writeTextFile(good, policy(glob));
      await Deno.writeTextFile(bad, policy("https://github.com/someone-else/*"));
      const base = [
        "egress",
        "basic",
        "--enforce",
        "--from-file",
        await sandboxCopy(dir),
        ...flags,
      ];
      const okOut = join(dir, "ok.yaml");
      const ok = await runKars(
        [
          ...base,
          "--signer-policy",
          good,
          "--trusted-root",
          root,
          "--emit-manifest",
          okOut,
          "--json",
        ],
        { env: { SIGSTORE_ID_TOKEN: token } },
      );
      assert.equal(ok.code, 0, ok.stderr);
      const v = JSON.parse(ok.stdout).verification; // the C3 verification object
      assert.equal(v.ours.status, "True");
      assert.equal(v.ours.reason, "Verified");
      assert.match(v.ours.message, /^digest=sha256:[0-9a-f]{64}, generation=\d+$/);
      assert.equal(v.decidedBy, "ours");
      assert.equal(v.verified, true);
      // the glob is read literally by the kars controller: warned at signing time, predicted refusal
      assert.equal(v.controller.reason, "IdentityMismatch");
      assert.match(ok.stderr, /sanPatterns\[1\] .*the kars controller reads it differently/);
      assert.match(ok.stderr, /the kars controller will refuse this artifact \(predicted\)/);
      await Deno.stat(okOut);

      const noOut = join(dir, "refused.yaml");
      const no = await runKars(
        [...base, "--signer-policy", bad, "--trusted-root", root, "--emit-manifest", noOut],
        { env: { SIGSTORE_ID_TOKEN: token } },
      );
      assert.equal(no.code, 3, no.stderr); // a verdict False, as kars egress verify exits
      assert.match(
        no.stderr,
        /verification failed; .*refused\.yaml not written: AllowlistVerified=False\/IdentityMismatch/,
      );
      await assert.rejects(Deno.stat(noOut), Deno.errors.NotFound);
    });
  },
);
