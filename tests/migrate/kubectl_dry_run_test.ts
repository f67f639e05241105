/**
 * `kubectl apply --dry-run=client --validate=strict -f` of every successful migrate golden
 * output, against the test API server made to serve the vendored kars CRDs
 * (tests/support/kars_crd_routes.ts: discovery, OpenAPI v3 without the fieldValidation
 * parameter, and the OpenAPI v2 document as protobuf, which kubectl's client-side validation
 * reads). kubectl checks each object against the CRD schema (unknown fields, types, required
 * fields — not CEL, enums or patterns: those are tests/migrate/from_kagent_test.ts), resolves
 * the kind through discovery, reads the object (404) and reports "created (dry run)".
 */
import assert from "assert";
import { parseAllDocuments } from "yaml";
import { startKubeApiServer } from "../support/kube_apiserver.ts";
import { karsCrdRoutes } from "../support/kars_crd_routes.ts";

const ROOT = new URL("../../testdata/kagent/", import.meta.url);

function kubectlPath(): string | undefined {
  for (const p of ["/usr/bin/kubectl", "/usr/local/bin/kubectl"]) {
    try {
      Deno.statSync(p);
      return p;
    } catch { /* next */ }
  }
  if (Deno.env.get("KARS_REQUIRE_TOOLS") === "1") {
    throw new Error("kubectl is required (KARS_REQUIRE_TOOLS=1)");
  }
  return undefined;
}
const KUBECTL = kubectlPath();

const cases: string[] = [];
for await (const e of Deno.readDir(ROOT)) {
  if (!e.isDirectory) continue;
  const exit = await Deno.readTextFile(new URL(`${e.name}/expected.exit`, ROOT));
  if (exit.trim() === "0") cases.push(e.name);
}
cases.sort();

async function dryRun(kubeconfig: string, file: string) {
  const o = await new Deno.Command(KUBECTL!, {
    args: [
      "--kubeconfig",
      kubeconfig,
      "apply",
      "--dry-run=client",
      "--validate=strict",
      "-f",
      file,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  };
}

Deno.test({
  name:
    "kubectl apply --dry-run=client accepts every migrate output (kinds from the vendored CRDs)",
  ignore: !KUBECTL,
  async fn() {
    assert.ok(cases.length >= 8, `only ${cases.length} successful fixtures`);
    const srv = await startKubeApiServer({ routes: karsCrdRoutes() });
    try {
      for (const name of cases) {
        const file = new URL(`${name}/expected.stdout`, ROOT).pathname;
        const docs = parseAllDocuments(await Deno.readTextFile(file)).map((d) => d.toJS());
        const r = await dryRun(srv.kubeconfigPath, file);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.deepEqual(
          r.stdout.trim().split("\n"),
          docs.map((d) =>
            `${d.kind.toLowerCase()}.kars.azure.com/${d.metadata.name} created (dry run)`
          ),
          name,
        );
      }
      // kubectl really consulted the server: discovery, then a GET per object.
      const paths = srv.requests.map((r) => r.path.split("?")[0]);
      assert.ok(paths.includes("/apis/kars.azure.com/v1alpha1"));
      assert.ok(paths.some((p) => p.endsWith("/mcpservers/github-mcp")));
    } finally {
      await srv.stop();
    }
  },
});

Deno.test({
  name: "kubectl's client-side validation really uses the CRD schemas: the old migrate shapes fail",
  ignore: !KUBECTL,
  async fn() {
    const srv = await startKubeApiServer({ routes: karsCrdRoutes() });
    const dir = await Deno.makeTempDir({ prefix: "kars-dryrun-" });
    const head = "apiVersion: kars.azure.com/v1alpha1\nmetadata:\n  name: a\n  namespace: team\n";
    const valid = "  runtime:\n    kind: OpenClaw\n    openclaw: {}\n  sandbox: {}\n" +
      "  inferenceRef:\n    name: a\n";
    try {
      for (
        const [body, re] of [
          // What migrate wrote before it knew the CRDs.
          [
            `kind: KarsSandbox\nspec:\n${valid}  isolation: enhanced\n`,
            /unknown field "isolation"/,
          ],
          [
            `kind: KarsSandbox\nspec:\n  sandbox: {}\n  inferenceRef:\n    name: a\n`,
            /missing required field "runtime"/,
          ],
          [
            `kind: InferencePolicy\nspec:\n  appliesTo: {}\n  model: gpt-4o\n`,
            /unknown field "model"/,
          ],
          [
            `kind: ToolPolicy\nspec:\n  appliesTo: {}\n  mcpServers: []\n`,
            /unknown field "mcpServers"/,
          ],
          [
            `kind: KarsSandbox\nspec:\n${valid}  networkPolicy:\n    allowedEndpoints:\n      - host: a.example\n        port: "443"\n`,
            /port.*expected "integer"|expected "integer".*port|invalid type/,
          ],
        ] as const
      ) {
        const file = `${dir}/obj.yaml`;
        await Deno.writeTextFile(file, head + body);
        const r = await dryRun(srv.kubeconfigPath, file);
        assert.notEqual(r.code, 0, body);
        assert.match(r.stderr, re, body);
      }
      // The valid sandbox passes the same check.
      await Deno.writeTextFile(`${dir}/ok.yaml`, `${head}kind: KarsSandbox\nspec:\n${valid}`);
      const ok = await dryRun(srv.kubeconfigPath, `${dir}/ok.yaml`);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "kubectl apply --dry-run=client refuses a kind the vendored CRDs do not define",
  ignore: !KUBECTL,
  async fn() {
    const srv = await startKubeApiServer({ routes: karsCrdRoutes() });
    const dir = await Deno.makeTempDir({ prefix: "kars-dryrun-" });
    try {
      const file = `${dir}/old.yaml`;
      await Deno.writeTextFile(
        file,
        "apiVersion: kars.azure.com/v1alpha1\nkind: AgentPolicy\nmetadata:\n  name: a\n  namespace: team\nspec: {}\n",
      );
      const r = await dryRun(srv.kubeconfigPath, file);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no matches for kind "AgentPolicy"/);
    } finally {
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "kubectl apply --dry-run=client --validate=strict accepts examples/sandbox.yaml",
  ignore: !KUBECTL,
  async fn() {
    const srv = await startKubeApiServer({ routes: karsCrdRoutes() });
    try {
      const file = new URL("../../examples/sandbox.yaml", import.meta.url).pathname;
      const r = await dryRun(srv.kubeconfigPath, file);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "karssandbox.kars.azure.com/my-agent created (dry run)\n");
    } finally {
      await srv.stop();
    }
  },
});
