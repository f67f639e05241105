/**
 * The public surface (issue 12, item 6): a small root `mod.ts` for the common flow, the rest at
 * subpath exports, each a `lib/<area>/mod.ts` face with module docs and an example; every
 * name the README imports or lists exists at the path it names; the Node bundle's entry
 * covers every export path.
 */
import assert from "assert";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as root from "../mod.ts";
import * as allowlist from "../lib/allowlist/mod.ts";
import * as cluster from "../lib/cluster/mod.ts";
import * as cosign from "../lib/cosign/mod.ts";
import * as io from "../lib/io/mod.ts";
import * as kube from "../lib/kube/mod.ts";
import * as migrate from "../lib/migrate/mod.ts";
import * as model from "../lib/model/mod.ts";
import * as oci from "../lib/oci/mod.ts";
import * as sign from "../lib/sign/mod.ts";
import * as verify from "../lib/verify/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
/** The most names the root may export (values and types); it was 217 before the subpaths. */
const ROOT_NAMES_MAX = 50;

/** Each export path's runtime namespace (`./cli` is the command's entry, checked apart). */
const FACES: Record<string, Record<string, unknown>> = {
  ".": root,
  "./allowlist": allowlist,
  "./cluster": cluster,
  "./cosign": cosign,
  "./io": io,
  "./kube": kube,
  "./migrate": migrate,
  "./model": model,
  "./oci": oci,
  "./sign": sign,
  "./verify": verify,
};

const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as {
  exports: Record<string, string>;
};
const EXPORTS = config.exports;

interface DocNode {
  module_doc?: { doc?: string; tags?: { kind: string }[] };
  symbols: { name: string }[];
}

/** `deno doc --json` over every export path: the names (values and types) each one exports. */
async function docNodes(): Promise<Map<string, DocNode>> {
  const files = Object.values(EXPORTS);
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...files],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(o.success, new TextDecoder().decode(o.stderr));
  const nodes = JSON.parse(new TextDecoder().decode(o.stdout)).nodes as Record<string, DocNode>;
  const byPath = new Map<string, DocNode>();
  for (const [path, file] of Object.entries(EXPORTS)) {
    const url = new URL(file, `file://${ROOT}/`).href;
    const node = nodes[url];
    assert.ok(node, `deno doc has no node for ${path} (${url})`);
    byPath.set(path, node);
  }
  return byPath;
}

const docs = await docNodes();
const namesOf = (path: string) => new Set(docs.get(path)!.symbols.map((s) => s.name));

Deno.test("the root mod.ts is small: the common flow only", () => {
  const names = [...namesOf(".")];
  assert.ok(
    names.length <= ROOT_NAMES_MAX,
    `mod.ts exports ${names.length} names (at most ${ROOT_NAMES_MAX}): ${names.join(", ")}`,
  );
  // The common flow the README's first example and examples/library.ts use.
  for (
    const name of [
      "KarsError",
      "canonicalizeEndpoints",
      "emitCanonicalAllowlist",
      "buildAllowlistArtifact",
      "Target",
      "openTarget",
      "pushArtifact",
      "signArtifact",
      "verifyAllowlist",
      "emitGitopsManifest",
      "egress",
    ]
  ) assert.ok(names.includes(name), `mod.ts lacks ${name}`);
});

Deno.test("deno.json exports are the faces this test imports, plus ./cli", () => {
  assert.deepEqual(
    Object.keys(EXPORTS).sort(),
    [...Object.keys(FACES), "./cli"].sort(),
  );
  assert.equal(EXPORTS["./cli"], "./cli.ts");
  for (const [path, file] of Object.entries(EXPORTS)) {
    if (path === "." || path === "./cli") continue;
    assert.match(
      file,
      /^\.\/lib\/[a-z]+\/mod\.ts$/,
      `${path} → ${file} is not a lib/<area>/mod.ts`,
    );
  }
});

Deno.test("every export path resolves, has module docs with an example, and exports names", () => {
  for (const [path, ns] of Object.entries(FACES)) {
    const doc = docs.get(path)!;
    assert.ok(doc.module_doc?.doc, `${path}: no module JSDoc`);
    assert.ok(
      doc.module_doc?.tags?.some((t) => t.kind === "example"),
      `${path}: module JSDoc has no @example`,
    );
    const values = Object.keys(ns);
    assert.ok(values.length > 0, `${path} exports no values`);
    const names = namesOf(path);
    for (const v of values) {
      assert.ok(names.has(v), `${path}: ${v} at run time but not in deno doc`);
    }
  }
  assert.ok(namesOf("./cli").has("denoContext"));
});

/** `import { a, type B } from "jsr:@kars/egress/sub"` in the README's ts blocks. */
function readmeImports(readme: string): { path: string; names: string[] }[] {
  const out: { path: string; names: string[] }[] = [];
  for (const block of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const re = /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"jsr:@kars\/egress(\/[a-z]+)?"/g;
    for (const m of block[1].matchAll(re)) {
      const names = m[1].split(",").map((n) =>
        n.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]
      )
        .filter(Boolean);
      out.push({ path: m[2] ? `.${m[2]}` : ".", names });
    }
  }
  return out;
}

Deno.test("every name the README imports from jsr:@kars/egress exists at that path", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const imports = readmeImports(readme);
  assert.ok(imports.length > 0, "the README has no library import example");
  for (const { path, names } of imports) {
    assert.ok(EXPORTS[path], `README imports from ${path}, which deno.json does not export`);
    const exported = namesOf(path);
    for (const n of names) assert.ok(exported.has(n), `README: ${n} is not exported by ${path}`);
  }
});

Deno.test("every name the README's subpath table lists exists at that subpath", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const rows = [...readme.matchAll(/^\| `jsr:@kars\/egress(\/[a-z]+)` +\| (.*)\|$/gm)];
  const paths = rows.map((r) => `.${r[1]}`);
  assert.deepEqual(
    paths.slice().sort(),
    Object.keys(EXPORTS).filter((p) => p !== ".").sort(),
    "the README's table lists every subpath",
  );
  for (const [, sub, what] of rows) {
    const path = `.${sub}`;
    if (path === "./cli") continue;
    const names = [...what.matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map((m) => m[1]);
    assert.ok(names.length > 0, `README table row ${path} names nothing`);
    for (const n of names) assert.ok(namesOf(path).has(n), `README table: ${n} not in ${path}`);
  }
});

Deno.test("the Node bundle's entry re-exports every export path but ./cli", async () => {
  const entry = join(ROOT, "scripts", "node_lib.ts");
  const text = await Deno.readTextFile(entry);
  const reexported = [...text.matchAll(/^export \* from "([^"]+)";$/gm)]
    .map((m) => relative(ROOT, join(ROOT, "scripts", m[1])));
  const expected = Object.entries(EXPORTS).filter(([p]) => p !== "./cli")
    .map(([, f]) => relative(ROOT, join(ROOT, f)));
  assert.deepEqual(reexported.sort(), expected.sort());
  // Every face's values reach the bundle with the same binding (no name resolves two ways).
  const bundle = await import("../scripts/node_lib.ts") as Record<string, unknown>;
  for (const [path, ns] of Object.entries(FACES)) {
    for (const [k, v] of Object.entries(ns)) {
      assert.ok(bundle[k] === v, `${path}: ${k} is not the same in scripts/node_lib.ts`);
    }
  }
});
