/**
 * `kubectl apply --dry-run=client -f` of every successful migrate golden output, against the
 * test API server made to serve the vendored kars CRDs (discovery and OpenAPI v3:
 * tests/support/kars_crd_routes.ts). kubectl resolves each kind through discovery, reads each
 * object from the server (404) and reports "created (dry run)".
 *
 * `--validate=false`: kubectl's client-side schema validation reads the OpenAPI v2 document,
 * which kubectl only accepts as gnostic protobuf; our test server does not serve it (see the
 * README's migrate section). The schema check of these outputs is
 * tests/migrate/from_kagent_test.ts (our strict validator, CEL included).
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
    args: ["--kubeconfig", kubeconfig, "apply", "--dry-run=client", "--validate=false", "-f", file],
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
