/**
 * Everything kars-egress writes or shows as a kars object fits the real kars CRDs (vendored in
 * testdata/kars-crds): the GitOps manifest (a merge patch: present fields only), every kars
 * document under examples/, the README's YAML snippets and the demo's embedded sandbox.
 * (`migrate from-kagent` output is checked per fixture in tests/migrate/from_kagent_test.ts.)
 */
import assert from "assert";
import { join } from "node:path";
import { ROOT } from "../../scripts/build_binary.ts";
import { parseYamlDocuments } from "../../lib/encoding/yaml_read.ts";
import { emitGitopsManifest, GITOPS_ANNOTATION } from "../../lib/gitops/manifest.ts";
import { DEMO_SANDBOX } from "../../lib/workflow/demo.ts";
import { formatFieldErrors, validateKarsResource } from "../../lib/kube/schema/mod.ts";

type Doc = { apiVersion?: string; kind?: string; metadata?: { annotations?: object } };

function isKars(d: unknown): d is Doc {
  return d !== null && typeof d === "object" &&
    String((d as Doc).apiVersion ?? "").startsWith("kars.azure.com/");
}

/** GitOps manifests carry the marker annotation and are merge patches; the rest are objects. */
function modeOf(d: Doc): "patch" | "object" {
  return d.metadata?.annotations && GITOPS_ANNOTATION in d.metadata.annotations
    ? "patch"
    : "object";
}

function check(d: Doc, where: string, mode = modeOf(d)): void {
  const r = validateKarsResource(d, { mode });
  assert.deepEqual(formatFieldErrors(r.errors), [], `${where} (${mode})`);
  assert.deepEqual(r.unchecked, [], `${where}: unchecked rules`);
}

const enc = new TextDecoder();
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

Deno.test("GitOps manifest validates as a patch against the KarsSandbox CRD", () => {
  const base = {
    name: "my-agent",
    signer: "keyless:https://github.com/acme/gitops/.github/workflows/p.yml@refs/heads/main",
    registry: "myacr.azurecr.io",
    repository: "policy/egress-allowlist/my-agent",
    digest: DIGEST,
  };
  const variants = [
    base,
    { ...base, egressMode: "Strict" as const },
    { ...base, namespace: "team-a", egressMode: "Learn" as const },
    {
      ...base,
      egressMode: "Strict" as const,
      allowedEndpoints: [{ host: "api.github.com", port: 443 }, { host: "10.0.0.1", port: 5432 }],
    },
  ];
  for (const v of variants) {
    const docs = parseYamlDocuments(enc.decode(emitGitopsManifest(v)), "manifest");
    assert.equal(docs.length, 1);
    const d = docs[0] as Doc;
    assert.equal(modeOf(d), "patch");
    check(d, JSON.stringify(v));
    // It is a patch, not a whole object: strict object validation would refuse it.
    assert.ok(!validateKarsResource(d).ok);
  }
  // The check can fail: the CRD's digest pattern refuses what a careless emitter might write.
  const d = parseYamlDocuments(enc.decode(emitGitopsManifest(base)), "manifest")[0] as {
    spec: { networkPolicy: { allowlistRef: { digest: string } } };
  };
  d.spec.networkPolicy.allowlistRef.digest = `sha256:${"A".repeat(64)}`;
  const r = validateKarsResource(d, { mode: "patch" });
  assert.deepEqual(r.errors.map((e) => e.path), ["spec.networkPolicy.allowlistRef.digest"]);
});

Deno.test("every kars document under examples/ validates", async () => {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (/\.ya?ml$/.test(e.name)) files.push(p);
    }
  };
  await walk(join(ROOT, "examples"));
  let n = 0;
  for (const f of files.sort()) {
    const docs = parseYamlDocuments(await Deno.readTextFile(f), f);
    docs.forEach((d, i) => {
      if (!isKars(d)) return;
      n++;
      check(d, `${f} document ${i + 1}`);
    });
  }
  assert.ok(n >= 2, `only ${n} kars documents under examples/`);
});

Deno.test("the README's YAML snippets of kars objects validate", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const blocks = [...readme.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  let n = 0;
  blocks.forEach((b, i) => {
    for (const d of parseYamlDocuments(b, `README.md yaml block ${i + 1}`)) {
      if (!isKars(d)) continue;
      n++;
      check(d, `README.md yaml block ${i + 1} ${d.kind}`);
    }
  });
  assert.ok(n >= 4, `only ${n} kars objects in the README's YAML blocks`);
});

Deno.test("the demo's embedded sandbox is a valid KarsSandbox", () => {
  const docs = parseYamlDocuments(DEMO_SANDBOX, "DEMO_SANDBOX");
  assert.equal(docs.length, 1);
  check(docs[0] as Doc, "DEMO_SANDBOX", "object");
});

Deno.test("the README's migrate example is the real output of its fixture", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("## Migrating from kagent"));
  const block = /^```yaml\n([\s\S]*?)^```$/m.exec(section);
  assert.ok(block, "no yaml block in the migrate section");
  assert.equal(
    block[1],
    await Deno.readTextFile(join(ROOT, "testdata/kagent/declarative/expected.stdout")),
  );
  assert.match(section, /\| kagent +\| kars +\|/, "the mapping table");
});
