/**
 * The cluster code is runtime-neutral: bundled with `deno bundle --platform=node` and run by
 * Node 20, the webhook server answers an AdmissionReview over TLS (node:https) with its metrics,
 * and list-then-watch streams a change from the test API server (node:https transport, mTLS).
 */
import assert from "assert";
import { makeTestPki, startKubeApiServer } from "../support/kube_apiserver.ts";
import { bundleLibForNode } from "../support/node_bundle.ts";

const noNode = await (async () => {
  try {
    const ok =
      (await new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" })
        .output()).success;
    if (ok) return false;
  } catch { /* below */ }
  if (Deno.env.get("KARS_REQUIRE_TOOLS") === "1") throw new Error("node is required");
  return true;
})();

const SCRIPT = `
import https from "node:https";
import fs from "node:fs";
import { AdmissionController, WebhookMetrics, startWebhookServer, loadKubeConfig, KubeClient, listWatch } from "./bundle.mjs";
const [pki, kubeconfig] = process.argv.slice(2);
const out = {};
const controller = new AdmissionController({
  policy: () => ({ fulcioIssuers: ["https://i.example"], sanPatterns: [], publicKeys: [], source: "env", hash: "sha256:1" }),
  trustedRoot: {},
  requireRef: true,
});
const srv = await startWebhookServer({
  controller, metrics: new WebhookMetrics(),
  listen: { host: "127.0.0.1", port: 0 }, metricsListen: { host: "127.0.0.1", port: 0 },
  tls: { certFile: pki + "/server.crt", keyFile: pki + "/server.key" }, log: () => {},
});
const post = (body) => new Promise((resolve, reject) => {
  const u = new URL(srv.url + "/validate");
  const req = https.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: "POST",
    ca: fs.readFileSync(pki + "/ca.crt"), headers: { "content-type": "application/json" } }, (res) => {
    let d = ""; res.on("data", (c) => (d += c)); res.on("end", () => resolve({ status: res.statusCode, body: d }));
  });
  req.on("error", reject);
  req.end(JSON.stringify(body));
});
const r = await post({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1",
  operation: "CREATE", object: { kind: "KarsSandbox", metadata: { name: "a", namespace: "n" }, spec: { networkPolicy: {} } } } });
const resp = JSON.parse(r.body).response;
out.review = { uid: resp.uid, allowed: resp.allowed, unsigned: /False\\/Unsigned/.test(resp.status.message) };
out.metrics = (await (await fetch(srv.metricsUrl + "/metrics")).text()).includes('reason="Unsigned",result="denied"} 1');
await srv.close(1000);
const client = new KubeClient(await loadKubeConfig({ kubeconfig, env: {}, cwd: process.cwd() }));
const path = "/apis/kars.azure.com/v1alpha1/namespaces/ns/karssandboxes";
const stop = new AbortController();
const it = listWatch(client, { path, target: { resource: "karssandboxes", group: "kars.azure.com", namespace: "ns" }, signal: stop.signal })[Symbol.asyncIterator]();
out.sync = (await it.next()).value.items.map((i) => i.metadata.name);
const next = it.next();
await new Promise((r) => setTimeout(r, 300));
await client.mergePatch(path + "/a", { spec: { networkPolicy: { egressMode: "Strict" } } },
  { verb: "patch", resource: "karssandboxes", group: "kars.azure.com", namespace: "ns", name: "a" });
const ev = (await next).value;
out.event = ev.type + " " + ev.object.spec.networkPolicy.egressMode;
stop.abort();
await it.return();
console.log(JSON.stringify(out));
process.exit(0);
`;

Deno.test({
  name:
    "cluster code under Node 20: webhook over node:https, list-then-watch over the node transport",
  ignore: noNode,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "kars-node-cluster-" });
    const api = await startKubeApiServer({
      objects: [{ metadata: { name: "a", namespace: "ns" }, spec: { networkPolicy: {} } }],
    });
    try {
      await makeTestPki(dir);
      await bundleLibForNode(dir, {
        "cluster/admission.ts": ["AdmissionController"],
        "cluster/metrics.ts": ["WebhookMetrics"],
        "cluster/webhook_server.ts": ["startWebhookServer"],
        "kube/kubeconfig.ts": ["loadKubeConfig"],
        "kube/client.ts": ["KubeClient"],
        "kube/watch.ts": ["listWatch"],
      });
      await Deno.writeTextFile(`${dir}/main.mjs`, SCRIPT);
      const r = await new Deno.Command("node", {
        args: [`${dir}/main.mjs`, dir, api.kubeconfigPath],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      assert.deepEqual(JSON.parse(new TextDecoder().decode(r.stdout)), {
        review: { uid: "u1", allowed: false, unsigned: true },
        metrics: true,
        sync: ["a"],
        event: "MODIFIED Strict",
      });
      assert.ok(api.requests.some((q) => /watch=1/.test(q.path)));
    } finally {
      await api.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
