/**
 * The cluster's SignerPolicy: read once, and watched (created, edited, deleted → env fallback),
 * against the test API server.
 */
import assert from "assert";
import YAML from "yaml";
import { startKubeApiServer } from "../support/kube_apiserver.ts";
import { loadKubeConfig } from "../../lib/kube/kubeconfig.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { closeTransports } from "../../lib/io/transport.ts";
import { isKarsError } from "../../lib/errors.ts";
import {
  type PolicyFromCluster,
  readClusterSignerPolicy,
  watchClusterSignerPolicy,
} from "../../lib/cluster/policy_source.ts";
import { isPolicyError } from "../../lib/verify/policy.ts";
import { policyYaml } from "../verify/fixtures.ts";

const cm = (pattern: string) => ({
  ...YAML.parse(policyYaml(["https://issuer.example"], [pattern])),
  metadata: { name: "kars-signer-policy", namespace: "kars-system" },
});

Deno.test("policy source: ConfigMap, env fallback, missing; a 403 is an error, not a missing policy", async () => {
  const api = await startKubeApiServer({ objects: [] });
  try {
    const client = new KubeClient(
      await loadKubeConfig({ kubeconfig: api.kubeconfigPath, env: {} }),
    );
    let p = await readClusterSignerPolicy(client, "kars-system", {});
    assert.equal(p.source, "none");
    assert.ok(isPolicyError(p.policy) && p.policy.reason === "SignerPolicyMissing");
    p = await readClusterSignerPolicy(client, "kars-system", {
      KARS_SIGNER_FULCIO_ISSUERS: "https://issuer.example",
      KARS_SIGNER_SAN_PATTERNS: "a@example.com",
    });
    assert.equal(p.source, "environment");
    api.apply(cm("a@example.com"));
    p = await readClusterSignerPolicy(client, "kars-system", {});
    assert.equal(p.source, "ConfigMap kars-system/kars-signer-policy");
    assert.ok(!isPolicyError(p.policy));
    api.forbidden.push({ verb: "get", resource: "configmaps" });
    await assert.rejects(
      readClusterSignerPolicy(client, "kars-system", {}),
      (e) => isKarsError(e, "AUTH") && /"get" on resource "configmaps"/.test(e.message),
    );
  } finally {
    closeTransports();
    await api.stop();
  }
});

Deno.test("policy source: the watch reports the policy at start and after every change", async () => {
  const api = await startKubeApiServer({ objects: [cm("a@example.com")] });
  const ac = new AbortController();
  try {
    const client = new KubeClient(
      await loadKubeConfig({ kubeconfig: api.kubeconfigPath, env: {} }),
    );
    const seen: PolicyFromCluster[] = [];
    const done = watchClusterSignerPolicy(client, "kars-system", {}, (p) => seen.push(p), {
      signal: ac.signal,
      backoff: { initialMs: 10 },
    });
    const waitFor = async (n: number) => {
      for (let i = 0; i < 500 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(seen.length, n);
    };
    await waitFor(1);
    const first = seen[0].policy;
    assert.ok(!isPolicyError(first));
    for (let i = 0; i < 100 && api.openWatches === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    api.apply(cm("b@example.com"));
    await waitFor(2);
    const second = seen[1].policy;
    assert.ok(!isPolicyError(second) && second.hash !== first.hash);
    assert.equal(second.sanPatterns[0].source, "b@example.com");
    api.remove("kars-system", "kars-signer-policy", "configmaps");
    await waitFor(3);
    assert.ok(isPolicyError(seen[2].policy) && seen[2].policy.reason === "SignerPolicyMissing");
    assert.ok(api.requests.every((q) => q.method === "GET"));
    ac.abort();
    await done;
  } finally {
    ac.abort();
    closeTransports();
    await api.stop();
  }
});
