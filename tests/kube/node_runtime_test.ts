/**
 * The kube client and transport on Node 20 (the `node:https` path of lib/io/transport.ts):
 * bundled with `deno bundle` into a temp dir, run with `node` against the test API server
 * (client certificate auth, CA pinned; then a token over insecure-skip-tls-verify).
 */
import assert from "assert";
import { startKubeApiServer } from "../support/kube_apiserver.ts";
import { bundleLibForNode } from "../support/node_bundle.ts";

async function hasNode(): Promise<boolean> {
  try {
    return (await new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" })
      .output())
      .success;
  } catch {
    return false;
  }
}

const SCRIPT = `
import fs from "node:fs";
import { loadKubeConfig, KubeClient, findSandbox, patchSandbox } from "./bundle.mjs";
const [kubeconfig, insecureKubeconfig] = process.argv.slice(2);
const out = {};
const cfg = await loadKubeConfig({ kubeconfig, env: {}, cwd: process.cwd() });
const client = new KubeClient(cfg);
const sb = await findSandbox(client, "my-agent", {});
out.found = sb.metadata.namespace;
const patched = await patchSandbox(client, sb, {
  egressMode: "Strict",
  allowlistRef: { registry: "r.example", repository: "policy/egress-allowlist/my-agent",
    digest: "sha256:" + "c".repeat(64), artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
}, { recheck() {} });
out.patchedMode = patched.spec.networkPolicy.egressMode;
const ins = await loadKubeConfig({ kubeconfig: insecureKubeconfig, env: {}, cwd: process.cwd() });
out.insecure = (await findSandbox(new KubeClient(ins), "my-agent", {})).metadata.name;
try {
  await findSandbox(new KubeClient(cfg), "missing", { namespace: "nowhere" });
} catch (e) {
  out.notFound = e.code;
}
console.log(JSON.stringify(out));
`;

const nodeMissing = !(await hasNode()) && Deno.env.get("KARS_REQUIRE_TOOLS") !== "1";
if (nodeMissing) console.warn("ignored: node_runtime_test needs node (not installed; CI has it)");

Deno.test({
  name: "kube client over node:https under Node 20 (mTLS, token + insecure, 404)",
  ignore: nodeMissing,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-node-kube-" });
  const srv = await startKubeApiServer({
    objects: [{
      metadata: { name: "my-agent", namespace: "kars-my-agent" },
      spec: { networkPolicy: {} },
    }],
    tokens: { "node-token-123": "nodeuser" },
  });
  try {
    await bundleLibForNode(dir, {
      "kube/kubeconfig.ts": ["loadKubeConfig"],
      "kube/client.ts": ["KubeClient"],
      "kube/sandbox.ts": ["findSandbox", "patchSandbox"],
    });
    await Deno.writeTextFile(`${dir}/main.mjs`, SCRIPT);
    await Deno.writeTextFile(
      `${dir}/insecure.yaml`,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${srv.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: node-token-123\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`,
    );
    const r = await new Deno.Command("node", {
      args: [`${dir}/main.mjs`, srv.kubeconfigPath, `${dir}/insecure.yaml`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(r.stdout)), {
      found: "kars-my-agent",
      patchedMode: "Strict",
      insecure: "my-agent",
      notFound: "NOT_FOUND",
    });
    assert.deepEqual(srv.requests.map((q) => `${q.method} ${q.user}`), [
      "GET admin",
      "PATCH admin",
      "GET token:nodeuser",
      "GET admin",
      "GET admin",
    ]);
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
