import assert from "assert";
import { needs } from "../support/docker_registry.ts";
import { parse, parseAllDocuments } from "yaml";
import { runCli } from "../../lib/cli/main.ts";
import type { CliContext } from "../../lib/cli/command.ts";
import { migrateFromKagentCommand } from "../../lib/cli/migrate.ts";
import { canonicalizeEndpoints } from "../../lib/allowlist/canonical.ts";
import { nextStepHint } from "../../lib/migrate/from_kagent.ts";
import { formatFieldErrors, validateKarsResource } from "../../lib/kube/schema/mod.ts";

const ROOT = new URL("../../testdata/kagent/", import.meta.url);
const UPDATE = Deno.env.get("KARS_UPDATE_GOLDEN") === "1";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kars migrate from-kagent` in-process with the given cwd and stdin. */
async function kars(args: string[], cwd: string, stdin = ""): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const dec = new TextDecoder();
  const ctx: CliContext = {
    stdout: (t) => void (stdout += typeof t === "string" ? t : dec.decode(t)),
    stderr: (t) => void (stderr += t),
    stdin: () => new Blob([stdin]).stream(),
    env: {},
    cwd,
    isTTY: { stdin: false, stdout: false, stderr: false },
    color: false,
  };
  const code = await runCli(["migrate", "from-kagent", ...args], ctx, [migrateFromKagentCommand]);
  return { code, stdout, stderr };
}

async function readOr(p: URL, dflt: string): Promise<string> {
  try {
    return await Deno.readTextFile(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return dflt;
    throw e;
  }
}

const cases: string[] = [];
for await (const e of Deno.readDir(ROOT)) if (e.isDirectory) cases.push(e.name);
cases.sort();

Deno.test("golden cases exist (at least 6 kagent inputs)", () => {
  assert.ok(cases.length >= 6, `only ${cases.length} cases`);
});

let kubectl: string | undefined;
try {
  const o = await new Deno.Command("kubectl", {
    args: ["version", "--client"],
    stdout: "null",
    stderr: "null",
  })
    .output();
  if (o.success) kubectl = "kubectl";
} catch { /* absent */ }

async function kustomize(dir: string): Promise<void> {
  assert.ok(kubectl, "kubectl is required (CI installs it)");
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".yaml")) files.push(e.name);
  files.sort();
  await Deno.writeTextFile(
    `${dir}/kustomization.yaml`,
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${
      files.map((f) => `  - ${f}`).join("\n")
    }\n`,
  );
  const o = await new Deno.Command(kubectl, {
    args: ["kustomize", dir],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.ok(o.success, `kubectl kustomize failed: ${new TextDecoder().decode(o.stderr)}`);
  const built = parseAllDocuments(new TextDecoder().decode(o.stdout)).map((d) => d.toJS());
  assert.equal(built.length, files.length);
}

for (const name of cases) {
  Deno.test(`migrate from-kagent golden: ${name}`, async (t) => {
    const dir = new URL(`${name}/`, ROOT);
    const cwd = dir.pathname;
    const extra = (await readOr(new URL("args", dir), "")).split("\n").filter((l) => l !== "");
    const args = ["input.yaml", ...extra];
    const r = await kars(args, cwd);
    if (UPDATE) {
      await Deno.writeTextFile(new URL("expected.stdout", dir), r.stdout);
      await Deno.writeTextFile(new URL("expected.stderr", dir), r.stderr);
      await Deno.writeTextFile(new URL("expected.exit", dir), `${r.code}\n`);
    }
    assert.equal(r.stdout, await Deno.readTextFile(new URL("expected.stdout", dir)), "stdout");
    assert.equal(r.stderr, await Deno.readTextFile(new URL("expected.stderr", dir)), "stderr");
    assert.equal(
      `${r.code}\n`,
      await Deno.readTextFile(new URL("expected.exit", dir)),
      "exit code",
    );

    // Deterministic: same input, same bytes; stdin gives the same output.
    const again = await kars(args, cwd);
    assert.deepEqual(again, r);
    const viaStdin = await kars(
      ["-", ...extra],
      cwd,
      await Deno.readTextFile(new URL("input.yaml", dir)),
    );
    assert.equal(viaStdin.stdout, r.stdout);
    assert.equal(viaStdin.code, r.code);
    if (r.code !== 0) {
      assert.equal(r.stdout, "", "nothing printed when failing");
      return;
    }

    // The YAML we emit parses back to exactly the JSON output.
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const json = await kars([...args, "--format", "json"], cwd);
    assert.equal(json.code, 0);
    const list = JSON.parse(json.stdout);
    assert.equal(list.kind, "List");
    assert.deepEqual(docs, list.items);

    // Every emitted object validates against the vendored kars CRDs (strict, with CEL).
    for (const d of docs) {
      const v = validateKarsResource(d);
      assert.deepEqual(formatFieldErrors(v.errors), [], `${d.kind}/${d.metadata.name}`);
      assert.deepEqual(v.unchecked, [], `${d.kind}/${d.metadata.name}: unchecked CEL rules`);
    }

    // Every KarsSandbox: ports present, already canonical; exactly one hint line per allowlist.
    for (const d of docs.filter((d) => d.kind === "KarsSandbox")) {
      const np = d.spec.networkPolicy;
      const eps = np.allowedEndpoints ?? [];
      for (const e of eps) assert.equal(typeof e.port, "number", `port present for ${e.host}`);
      assert.deepEqual(canonicalizeEndpoints(eps), eps);
      const hint = nextStepHint(d.metadata.name, d.metadata.namespace);
      const lines = r.stderr.split("\n").filter((l) => l === hint);
      assert.equal(lines.length, eps.length ? 1 : 0, `hint for ${d.metadata.name}`);
      assert.equal(np.egressMode, eps.length ? "Strict" : "Learn");
    }
    assert.equal(
      r.stderr.split("\n").filter((l) => l.startsWith("Next step: ")).length,
      docs.filter((d) => d.kind === "KarsSandbox" && d.spec.networkPolicy.allowedEndpoints).length,
    );

    // --out-dir: one file per object, accepted by kubectl kustomize; refuses to overwrite.
    const out = await Deno.makeTempDir({ prefix: "kars-migrate-" });
    try {
      const w = await kars([...args, "--out-dir", out], cwd);
      assert.equal(w.code, 0, w.stderr);
      assert.equal(w.stdout, "");
      const names: string[] = [];
      for await (const e of Deno.readDir(out)) names.push(e.name);
      const fileOf = (d: { kind: string; metadata: { name: string; namespace: string } }) => {
        const twin = docs.filter((o) => o.kind === d.kind && o.metadata.name === d.metadata.name);
        const ns = twin.length > 1 ? `${d.metadata.namespace}-` : "";
        return `${d.kind.toLowerCase()}-${ns}${d.metadata.name}.yaml`;
      };
      assert.deepEqual(names.sort(), docs.map(fileOf).sort());
      for (const d of docs) {
        const text = await Deno.readTextFile(`${out}/${fileOf(d)}`);
        assert.deepEqual(parse(text), d);
      }
      const again = await kars([...args, "--out-dir", out], cwd);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /refusing to overwrite existing file .*; pass --force/);
      assert.equal((await kars([...args, "--out-dir", out, "--force"], cwd)).code, 0);
      await t.step({
        name: "kubectl kustomize renders the --out-dir files",
        ...needs("kubectl"),
        fn: () => kustomize(out),
      });
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

Deno.test("migrate: --dry-run with --out-dir writes nothing", async () => {
  const out = await Deno.makeTempDir({ prefix: "kars-migrate-" });
  try {
    const r = await kars(
      ["input.yaml", "--out-dir", `${out}/sub`, "--dry-run", "--allow-lossy"],
      new URL("declarative/", ROOT).pathname,
    );
    assert.equal(r.code, 0);
    assert.match(r.stderr, /would write .*karssandbox-k8s-helper\.yaml/);
    assert.equal(parseAllDocuments(r.stdout).length, 5);
    assert.deepEqual([...Deno.readDirSync(out)], []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("migrate: usage errors exit 2", async () => {
  const cwd = new URL("declarative/", ROOT).pathname;
  for (
    const [args, re] of [
      [[], /needs one input/],
      [
        ["input.yaml", "--isolation", "max"],
        /--isolation must be one of standard, enhanced, confidential/,
      ],
      [["input.yaml", "--format", "toml"], /--format must be yaml or json/],
      [["input.yaml", "-n", "Bad_NS"], /not a valid namespace name/],
      [["input.yaml", "--force"], /--force only applies with --out-dir/],
      [["missing.yaml"], /missing\.yaml/],
    ] as const
  ) {
    const r = await kars([...args], cwd);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

Deno.test("migrate: --format json --out-dir writes <kind>-<name>.json files equal to the YAML objects", async () => {
  const out = await Deno.makeTempDir({ prefix: "kars-migrate-" });
  try {
    const cwd = new URL("declarative/", ROOT).pathname;
    const y = await kars(["input.yaml", "--allow-lossy"], cwd);
    const r = await kars(
      ["input.yaml", "--out-dir", out, "--format", "json", "--allow-lossy"],
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "inferencepolicy-k8s-helper.json",
      "karssandbox-k8s-helper.json",
      "mcpserver-github-mcp.json",
      "toolpolicy-k8s-helper-approve-1.json",
      "toolpolicy-k8s-helper.json",
    ]);
    const byName = Object.fromEntries(
      parseAllDocuments(y.stdout).map((d) => d.toJS()).map((
        d,
      ) => [`${d.kind.toLowerCase()}-${d.metadata.name}.json`, d]),
    );
    for (const n of names) {
      const text = await Deno.readTextFile(`${out}/${n}`);
      assert.ok(text.endsWith("}\n"));
      assert.deepEqual(JSON.parse(text), byName[n]);
    }
    assert.equal(
      r.stderr.split("\n").filter((l) =>
        l ===
          "Next step: kars egress k8s-helper --namespace kars-k8s-helper --enforce --emit-manifest ./gitops/k8s-helper-allowlist.yaml"
      ).length,
      1,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
