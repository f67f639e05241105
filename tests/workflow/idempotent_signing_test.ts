/**
 * Idempotent signing (lib/workflow/already_signed.ts, lib/workflow/egress.ts step 5): repeated
 * `kars egress … --emit-manifest … --force` runs on one allowlist leave exactly one signature
 * per signer (key file and keyless against the Sigstore mock), `--resign` adds one, and the
 * emitted manifest stays byte-identical. In-process runs against the in-process registry
 * (referrers API on, so the bundle layout is covered too).
 */
import assert from "assert";
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { runKars } from "../support/cli.ts";
import { startRegistryServer } from "../support/registry_server.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { pemEncode } from "../../lib/encoding/pem.ts";
import { pkcs8FromSecret } from "../../lib/sign/p256.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { signatureTag } from "../../lib/cosign/vocabulary.ts";
import type { Digest } from "../../lib/encoding/digest.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
const REPO = "policy/egress-allowlist/basic";
const BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const RUNS = 100;

Deno.test("idempotent signing: 100 runs per signer leave one signature each; --resign adds one; the manifest stays byte-identical", async (t) => {
  const reg = await startRegistryServer({ referrersApi: true });
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-idem-" });
  try {
    // An unencrypted PKCS#8 key: no scrypt per run (the encrypted path is the same signer).
    const keyPath = join(dir, "key.pem");
    await Deno.writeTextFile(
      keyPath,
      pemEncode("PRIVATE KEY", pkcs8FromSecret(p256.utils.randomSecretKey())),
    );
    const rootPath = join(dir, "root.json");
    await Deno.writeTextFile(rootPath, JSON.stringify(mock.trustedRoot));
    const out = join(dir, "gitops", "basic.yaml");
    const common = [
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      BASIC,
      "--registry",
      reg.host,
      "--emit-manifest",
      out,
      "--force",
      "--trusted-root",
      rootPath,
    ];
    const keyArgs = [...common, "--key", keyPath, "--tlog-upload=false"];
    const keylessArgs = [...common, "--fulcio-url", mock.fulcioUrl, "--rekor-url", mock.rekorUrl];
    const token = mock.mintToken();
    const target = new RegistryTarget({ registry: reg.host, repository: REPO });
    let digest: Digest | undefined;
    const layers = async () => {
      const m = JSON.parse(
        new TextDecoder().decode((await target.fetchManifest(signatureTag(digest!))).bytes),
      );
      return m.layers.length as number;
    };
    const bundles = async () => (await target.referrers(digest!, BUNDLE)).length;

    const timings: Record<string, number> = {};
    const repeat = async (name: string, args: string[], env: Record<string, string>) => {
      const first = await runKars(args, { env });
      assert.equal(first.code, 0, first.stderr);
      const bytes = await Deno.readFile(out);
      const started = performance.now();
      for (let i = 1; i < RUNS; i++) {
        const r = await runKars(args, { env });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /already signed by \S+; not signing again/);
        assert.doesNotMatch(r.stderr, /^signing /m);
        assert.deepEqual(await Deno.readFile(out), bytes, `run ${i}: manifest changed`);
      }
      timings[name] = (performance.now() - started) / (RUNS - 1);
      return bytes;
    };

    await t.step(`key file: ${RUNS} runs → one .sig layer`, async () => {
      await repeat("key", keyArgs, {});
      digest = /digest=(sha256:[0-9a-f]{64})/.exec(await Deno.readTextFile(out))![1] as Digest;
      assert.equal(await layers(), 1);
    });
    let keyManifest: Uint8Array;
    await t.step(`keyless (mock): ${RUNS} runs → one more layer (one per signer)`, async () => {
      keyManifest = await repeat("keyless", keylessArgs, { SIGSTORE_ID_TOKEN: token });
      assert.equal(await layers(), 2);
      const fulcioCalls = mock.requests.filter((r) => r.service === "fulcio").length;
      assert.equal(fulcioCalls, 1, "Fulcio is contacted only by the first keyless run");
    });
    await t.step(
      "the key run again: still already signed (its layer found among others)",
      async () => {
        const r = await runKars(keyArgs);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /already signed by key:/);
        assert.equal(await layers(), 2);
      },
    );
    await t.step("--resign adds exactly one layer; the manifest is byte-identical", async () => {
      const before = await Deno.readFile(out);
      const r = await runKars([...keyArgs, "--resign"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^signing /m);
      assert.equal(await layers(), 3);
      assert.deepEqual(await Deno.readFile(out), before);
    });
    await t.step(
      "--signature-format both: the missing bundle is added once, legacy untouched",
      async () => {
        for (let i = 0; i < 5; i++) {
          const r = await runKars([...keylessArgs, "--signature-format", "both"], {
            env: { SIGSTORE_ID_TOKEN: token },
          });
          assert.equal(r.code, 0, r.stderr);
        }
        assert.equal(await layers(), 3);
        assert.equal(await bundles(), 1);
      },
    );
    await t.step("another keyless identity is a new signer: it signs once", async () => {
      const other = mock.mintToken({
        sub: "https://github.com/acme/other/.github/workflows/b.yml@refs/heads/main",
      });
      for (let i = 0; i < 3; i++) {
        const r = await runKars(keylessArgs, { env: { SIGSTORE_ID_TOKEN: other } });
        assert.equal(r.code, 0, r.stderr);
      }
      assert.equal(await layers(), 4);
    });
    await t.step(
      "a different trust root does not count the mock's signature: it signs again",
      async () => {
        // Without --trusted-root the embedded public-good root cannot verify the mock's chain.
        const args = keylessArgs.filter((a, i) =>
          a !== "--trusted-root" && keylessArgs[i - 1] !== "--trusted-root"
        );
        const r = await runKars(args, { env: { SIGSTORE_ID_TOKEN: token } });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await layers(), 5);
      },
    );
    console.log(
      `idempotent signing: ms per repeated run — key ${timings.key?.toFixed(1)}, keyless ${
        timings.keyless?.toFixed(1)
      } (${RUNS - 1} runs each)`,
    );
    void keyManifest!;
  } finally {
    await Deno.remove(dir, { recursive: true });
    await mock.stop();
    await reg.stop();
  }
});
