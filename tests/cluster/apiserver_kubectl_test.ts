/**
 * The test API server (tests/support/kube_apiserver.ts) checked by a real client: `kubectl get`,
 * `kubectl get -o json` and `kubectl get --watch` against it (discovery, server-side printing,
 * list-then-watch with resourceVersion).
 */
import assert from "assert";
import { toolsRequired } from "../support/docker_registry.ts";
import { startKubeApiServer } from "../support/kube_apiserver.ts";

const KUBECTL = "/usr/bin/kubectl";
function haveKubectl(): boolean {
  try {
    Deno.statSync(KUBECTL);
    return true;
  } catch {
    if (toolsRequired()) throw new Error("kubectl not installed; KARS_REQUIRE_TOOLS=1");
    return false;
  }
}
const ignore = !haveKubectl();

const sandbox = (name: string, namespace: string, phase: string) => ({
  apiVersion: "kars.azure.com/v1alpha1",
  kind: "KarsSandbox",
  metadata: { name, namespace },
  spec: { networkPolicy: { allowedEndpoints: [{ host: "api.github.com" }] } },
  status: { phase },
});

async function withKubectl(
  fn: (
    api: Awaited<ReturnType<typeof startKubeApiServer>>,
    kubectl: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>,
    spawn: (args: string[]) => Deno.ChildProcess,
  ) => Promise<void>,
) {
  const api = await startKubeApiServer({
    objects: [
      sandbox("alpha", "team-a", "Running"),
      sandbox("beta", "team-b", "Pending"),
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "kars-signer-policy", namespace: "kars-system" },
        data: { fulcioIssuers: "https://issuer.example", sanPatterns: "a@example.com" },
      },
    ],
  });
  const cache = await Deno.makeTempDir({ prefix: "kars-kubectl-cache-" });
  const base = ["--kubeconfig", api.kubeconfigPath, "--cache-dir", cache];
  const dec = new TextDecoder();
  const env = { HOME: cache, PATH: Deno.env.get("PATH") ?? "/usr/bin" };
  try {
    await fn(
      api,
      async (args) => {
        const o = await new Deno.Command(KUBECTL, {
          args: [...base, ...args],
          env,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
      },
      (args) =>
        new Deno.Command(KUBECTL, {
          args: [...base, ...args],
          env,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
    );
  } finally {
    await api.stop();
    await Deno.remove(cache, { recursive: true });
  }
}

Deno.test({
  name: "kubectl get: discovery, short names, server-side table across namespaces",
  ignore,
  fn: () =>
    withKubectl(async (api, kubectl) => {
      const r = await kubectl(["get", "karssandboxes", "-A"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").map((l) => l.split(/\s+/));
      assert.deepEqual(lines[0], ["NAMESPACE", "NAME", "PHASE", "AGE"]);
      assert.deepEqual(lines.slice(1).map((l) => l.slice(0, 3)), [
        ["team-a", "alpha", "Running"],
        ["team-b", "beta", "Pending"],
      ]);
      const cm = await kubectl(["get", "cm", "-n", "kars-system"]);
      assert.equal(cm.code, 0, cm.stderr);
      assert.match(cm.stdout, /kars-signer-policy\s+2\s/);
      const paths = api.requests.map((q) => q.path.split("?")[0]);
      for (const p of ["/api", "/apis", "/apis/kars.azure.com/v1alpha1"]) {
        assert.ok(paths.includes(p), `kubectl read discovery ${p}`);
      }
      assert.ok(api.requests.every((q) => q.method === "GET"));
      const missing = await kubectl(["get", "karssandbox", "nope", "-n", "team-a"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /karssandboxes.kars.azure.com "nope" not found/);
    }),
});

Deno.test({
  name: "kubectl get -o json: the objects as stored, status included",
  ignore,
  fn: () =>
    withKubectl(async (api, kubectl) => {
      api.setConditions("team-a", "alpha", [
        { type: "AllowlistVerified", status: "False", reason: "IdentityMismatch", message: "m" },
      ]);
      const r = await kubectl(["get", "karssandbox", "alpha", "-n", "team-a", "-o", "json"]);
      assert.equal(r.code, 0, r.stderr);
      const o = JSON.parse(r.stdout);
      assert.equal(o.kind, "KarsSandbox");
      const stored = api.get("team-a", "alpha") as { metadata: { resourceVersion: string } };
      assert.equal(o.metadata.resourceVersion, stored.metadata.resourceVersion);
      assert.equal(o.status.conditions[0].reason, "IdentityMismatch");
      assert.equal(o.status.conditions[0].observedGeneration, 1);
      const list = JSON.parse(
        (await kubectl(["get", "karssandboxes", "-A", "-o", "json"])).stdout,
      );
      assert.deepEqual(list.items.map((i: { metadata: { name: string } }) => i.metadata.name), [
        "alpha",
        "beta",
      ]);
    }),
});

Deno.test({
  name: "kubectl get --watch: list, then the watch from the list's resourceVersion sees updates",
  ignore,
  fn: () =>
    withKubectl(async (api, _kubectl, spawn) => {
      const child = spawn(["get", "karssandboxes", "-n", "team-a", "--watch"]);
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      const until = async (re: RegExp) => {
        for (let i = 0; i < 200 && !re.test(out); i++) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
        }
        assert.match(out, re);
      };
      try {
        await until(/alpha\s+Running/);
        // The watch is open once the request is logged.
        for (let i = 0; i < 100 && api.openWatches === 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const listRv = api.requests.find((q) => /karssandboxes\?limit=500$/.test(q.path));
        assert.ok(listRv, "kubectl listed first");
        const watch = api.requests.find((q) => /watch=true/.test(q.path));
        assert.match(watch!.path, /resourceVersion=\d+/);
        api.mutate("team-a", "alpha", (o) => {
          (o as { status: { phase: string } }).status.phase = "Degraded";
        });
        await until(/alpha\s+Degraded/);
      } finally {
        child.kill("SIGTERM");
        await reader.cancel().catch(() => {});
        await child.status;
        await child.stderr.cancel().catch(() => {});
      }
    }),
});
