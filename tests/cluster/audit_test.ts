/**
 * `kars egress audit` over a fleet on the test API server, with artifacts in docker-registry
 * signed through the Sigstore mock: a tampered artifact the cluster calls True (security
 * finding), a foreign signer, a sandbox without ref, a forbidden registry (no request made),
 * key- and glob-signed allowlists the controller cannot accept (controller limitation), an
 * unexplained disagreement, shared allowlists verified once; exit codes; zero writes.
 */
import assert from "assert";
import YAML from "yaml";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { EXIT } from "../../lib/cli/command.ts";
import { classify } from "../../lib/cluster/audit.ts";
import { runKars } from "../support/cli.ts";
import {
  keylessSigner,
  keySigner,
  policyYaml,
  pushAllowlist,
  signLegacy,
} from "../verify/fixtures.ts";
import { noRegistry, type Stack, withStack } from "./fixtures.ts";

const TRANSIENT = EXIT.TRANSIENT; // 5

type Ref = { registry: string; repository: string; digest: string; artifactType: string };

function sb(ns: string, name: string, ref?: Ref) {
  return {
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name, namespace: ns },
    spec: {
      networkPolicy: ref
        ? { egressMode: "Strict", allowlistRef: ref }
        : { allowedEndpoints: [{ host: "api.github.com", port: 443 }] },
    },
  };
}

/** A signed artifact in `repo`; returns its ref. */
async function artifact(
  s: Stack,
  repo: string,
  sign: "default" | "foreign" | "glob" | "key",
  key: ReturnType<typeof keySigner>,
  generation: number,
): Promise<Ref> {
  const target = new RegistryTarget({ registry: s.reg.host, repository: repo });
  const a = await pushAllowlist(target, { generation });
  const signer = sign === "key" ? key.signer : keylessSigner(
    s.mock,
    sign === "foreign"
      ? { sub: "https://github.com/mallory/fork/.github/workflows/x.yml@refs/heads/main" }
      : sign === "glob"
      ? { sub: "https://github.com/acme/glob/.github/workflows/any.yml@refs/heads/main" }
      : undefined,
  );
  await signLegacy(target, {
    registry: s.reg.host,
    repository: repo,
    digest: a.manifestDigest,
    signer,
    rekorUrl: sign === "key" ? undefined : s.mock.rekorUrl,
  });
  return {
    registry: s.reg.host,
    repository: repo,
    digest: a.manifestDigest,
    artifactType: ALLOWLIST_MEDIA_TYPE,
  };
}

/** Rewrites the layer blob inside docker-registry's storage (the registry serves it as is). */
async function tamperLayer(s: Stack, repo: string, digest: string): Promise<void> {
  const target = new RegistryTarget({ registry: s.reg.host, repository: repo });
  const m = JSON.parse(
    new TextDecoder().decode((await target.fetchManifest(digest as `sha256:${string}`)).bytes),
  );
  const hex = m.layers[0].digest.slice(7);
  const file = `${s.reg.storageDir}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  const bytes = await Deno.readFile(file);
  const text = new TextDecoder().decode(bytes).replace("api.github.com", "api.evil00.com");
  assert.notEqual(text, new TextDecoder().decode(bytes));
  await Deno.writeTextFile(file, text);
}

Deno.test({
  name:
    "audit: a fleet with every kind of finding; exit 3, zero writes, zero requests to the forbidden registry",
  ignore: noRegistry,
  fn: async () => {
    // A server standing for a registry the audit must never contact.
    let forbiddenHits = 0;
    const forbidden = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => {
        forbiddenHits++;
        return new Response("no", { status: 500 });
      },
    );
    const forbiddenHost = `127.0.0.1:${forbidden.addr.port}`;
    try {
      await withStack([], async (s) => {
        const key = keySigner();
        const good = await artifact(s, "policy/egress-allowlist/good", "default", key, 1);
        const tampered = await artifact(s, "policy/egress-allowlist/tampered", "default", key, 2);
        await tamperLayer(s, tampered.repository, tampered.digest);
        const foreign = await artifact(s, "policy/egress-allowlist/foreign", "foreign", key, 3);
        const glob = await artifact(s, "policy/egress-allowlist/glob", "glob", key, 4);
        const keyed = await artifact(s, "policy/egress-allowlist/keyed", "key", key, 5);
        const policy = `${s.dir}/fleet-policy.yaml`;
        await Deno.writeTextFile(
          policy,
          policyYaml(
            [s.mock.defaultIssuer],
            [s.mock.defaultSubject, "https://github.com/acme/glob/*"],
            key.publicPem,
          ),
        );
        const fleet: [Record<string, unknown>, string | null][] = [
          [sb("team-a", "good-1", good), "True/Verified"],
          [sb("team-a", "good-2", good), "True/Verified"],
          [sb("team-b", "good-3", good), "False/NotFound"], // unexplained disagreement
          [sb("team-b", "tampered", tampered), "True/Verified"], // the controller does not re-hash
          [sb("team-b", "foreign", foreign), "False/IdentityMismatch"],
          [sb("team-c", "inline", undefined), null],
          [
            sb("team-c", "elsewhere", {
              ...good,
              registry: forbiddenHost,
            }),
            null,
          ],
          [sb("team-c", "glob", glob), "False/IdentityMismatch"],
          [sb("team-c", "keyed", keyed), "False/IdentityMismatch"],
        ];
        for (const [o, cond] of fleet) {
          s.api.apply(o);
          if (cond) {
            const [status, reason] = cond.split("/");
            const md = o.metadata as { name: string; namespace: string };
            s.api.setConditions(md.namespace, md.name, [{
              type: "AllowlistVerified",
              status: status as "True" | "False",
              reason,
            }]);
          }
        }
        const base = [
          "egress",
          "audit",
          "--kubeconfig",
          s.api.kubeconfigPath,
          "--signer-policy",
          policy,
          "--trusted-root",
          s.rootPath,
          "--allowed-registry",
          s.reg.host,
        ];
        const before = s.api.requests.length;
        const r = await runKars([...base, "-A", "--json"]);
        assert.equal(r.code, 3, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.equal(out.ok, true);
        assert.equal(out.schemaVersion, 1);
        const by = Object.fromEntries(
          out.sandboxes.map((x: { name: string }) => [x.name, x]),
        ) as Record<string, {
          finding: string;
          ours: { status: string; reason: string };
          cluster: { status: string; reason: string } | null;
          controller: { status: string; reason: string } | null;
          agree: boolean | null;
          digest: string | null;
        }>;
        const got = Object.fromEntries(
          Object.entries(by).map(([k, v]) => [k, `${v.ours.status}/${v.ours.reason} ${v.finding}`]),
        );
        assert.deepEqual(got, {
          "good-1": "True/Verified ok",
          "good-2": "True/Verified ok",
          "good-3": "True/Verified disagreement",
          tampered: "False/DigestMismatch security-finding",
          foreign: "False/IdentityMismatch refused",
          inline: "False/Unsigned inline-only",
          elsewhere: "False/InvalidRef refused",
          glob: "True/Verified controller-limitation",
          keyed: "True/Verified controller-limitation",
        });
        assert.equal(by["good-1"].agree, true);
        assert.equal(by.foreign.agree, true);
        assert.equal(by.tampered.agree, false);
        assert.equal(by.inline.cluster, null);
        assert.equal(by.inline.digest, null);
        assert.equal(by.keyed.controller?.reason, "IdentityMismatch");
        assert.equal(by.glob.controller?.reason, "IdentityMismatch");
        assert.equal(by["good-1"].controller?.status, "True");
        // Three sandboxes share one allowlist: 6 distinct references, one judgement each.
        assert.equal(out.summary.sandboxes, 9);
        assert.equal(out.summary.distinctReferences, 6);
        assert.equal(out.summary.verifications, 6);
        assert.equal(out.summary.findings["security-finding"], 1);
        // Read-only, and the forbidden registry was never contacted.
        const mine = s.api.requests.slice(before);
        assert.ok(mine.length > 0);
        assert.deepEqual([...new Set(mine.map((q) => q.method))], ["GET"]);
        assert.equal(forbiddenHits, 0);

        // The table names every finding.
        const t = await runKars([...base, "-A"]);
        assert.equal(t.code, 3);
        assert.match(
          t.stdout,
          /tampered\s+sha256:[0-9a-f]{12}\s+False\/DigestMismatch\s+True\/Verified/,
        );
        assert.match(t.stdout, /team-c\/elsewhere: refused: .*not among the allowed registries/);
        assert.match(t.stdout, /team-c\/keyed: controller-limitation: .*keyless/);

        // Only agreeing sandboxes: 0. Inline-only / limitations fail only with --strict.
        assert.equal((await runKars([...base, "-n", "team-a"])).code, 0);
        const c = await runKars([...base, "-n", "team-c", "-n", "team-a"]);
        assert.equal(c.code, 3, "team-c has a forbidden registry (refused)");
        s.api.remove("team-c", "elsewhere");
        assert.equal((await runKars([...base, "-n", "team-c"])).code, 0);
        assert.equal((await runKars([...base, "-n", "team-c", "--strict"])).code, 3);
        assert.equal(forbiddenHits, 0);

        // A registry that is down: transient, not a verdict.
        await s.reg.stop();
        const down = await runKars([...base, "-n", "team-a", "--json"]);
        assert.equal(down.code, TRANSIENT, down.stderr);
        const err = JSON.parse(down.stdout);
        assert.equal(err.ok, false);
        assert.equal(err.error.code, "TRANSIENT");
        assert.match(err.error.message, /2 of 2 sandboxes could not be verified/);
        const table = await runKars([...base, "-n", "team-a"]);
        assert.equal(table.code, TRANSIENT);
        assert.match(table.stdout, /good-1\s+sha256:[0-9a-f]{12}\s+Unknown\/TransientError/);
        assert.deepEqual([...new Set(s.api.requests.map((q) => q.method))], ["GET"]);
      });
    } finally {
      await forbidden.shutdown();
    }
  },
});

Deno.test({
  name:
    "audit: the cluster's kars-signer-policy ConfigMap is used without --signer-policy; in-cluster an empty allowed-registry list is refused",
  ignore: noRegistry,
  fn: () =>
    withStack([], async (s) => {
      const key = keySigner();
      const good = await artifact(s, "policy/egress-allowlist/good", "default", key, 1);
      s.api.apply(sb("team-a", "good", good));
      const base = [
        "egress",
        "audit",
        "--kubeconfig",
        s.api.kubeconfigPath,
        "--trusted-root",
        s.rootPath,
        "-n",
        "team-a",
        "--json",
      ];
      let r = await runKars(base);
      assert.equal(r.code, 3);
      assert.equal(JSON.parse(r.stdout).sandboxes[0].ours.reason, "SignerPolicyMissing");
      const cm = parseYamlPolicy(await Deno.readTextFile(s.policyPath));
      s.api.apply({ ...cm, metadata: { name: "kars-signer-policy", namespace: "kars-system" } });
      r = await runKars(base);
      assert.equal(r.code, 0, r.stdout);
      assert.ok(s.api.requests.some((q) =>
        q.path === "/api/v1/namespaces/kars-system/configmaps/kars-signer-policy"
      ));
      r = await runKars(base, { env: { KUBERNETES_SERVICE_HOST: "10.0.0.1" } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no allowed registries/);
    }),
});

function parseYamlPolicy(text: string): Record<string, unknown> {
  // policyYaml writes a ConfigMap with block scalars: reuse the YAML parser.
  return JSON.parse(JSON.stringify(YAML.parse(text)));
}
Deno.test("audit classify: the finding table", () => {
  const T = { status: "True", reason: "Verified", message: "" };
  const F = { status: "False", reason: "IdentityMismatch", message: "" };
  const U = { status: "Unknown", reason: "TransientError", message: "" };
  assert.equal(classify(true, T, T, T), "ok");
  assert.equal(classify(true, T, T, null), "ok");
  assert.equal(classify(true, F, F, T), "security-finding");
  assert.equal(classify(true, F, F, F), "refused");
  assert.equal(classify(true, T, F, F), "controller-limitation");
  assert.equal(classify(true, T, F, null), "controller-limitation");
  assert.equal(classify(true, T, T, F), "disagreement");
  assert.equal(classify(true, T, null, F), "disagreement");
  assert.equal(classify(true, U, null, T), "transient");
  assert.equal(classify(false, F, null, null), "inline-only");
});
