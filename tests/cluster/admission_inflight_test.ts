/**
 * The admission controller shares one verification among concurrent requests for the same
 * artifact (lib/cluster/admission.ts); after a trust-root refresh, a request must not join a
 * verification still running under the root it replaced.
 */
import assert from "assert";
import { AdmissionController } from "../../lib/cluster/admission.ts";
import type { Judgement } from "../../lib/cluster/judge.ts";
import type { SignerPolicy } from "../../lib/verify/policy.ts";
import type { TrustedRoot } from "../../lib/verify/sigstore/mod.ts";

const REF = {
  registry: "registry.example",
  repository: "policy/egress-allowlist/my-agent",
  digest: `sha256:${"a".repeat(64)}`,
  artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
};

function create(uid: string) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "kars.azure.com", version: "v1alpha1", kind: "KarsSandbox" },
      resource: { group: "kars.azure.com", version: "v1alpha1", resource: "karssandboxes" },
      name: "my-agent",
      namespace: "kars-my-agent",
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:argocd:argocd-application-controller" },
      object: {
        apiVersion: "kars.azure.com/v1alpha1",
        kind: "KarsSandbox",
        metadata: { name: "my-agent", namespace: "kars-my-agent" },
        spec: { networkPolicy: { egressMode: "Strict", allowlistRef: REF } },
      },
      oldObject: null,
      dryRun: false,
    },
  };
}

Deno.test("admission: after a trust-root refresh, a request does not join a verification started under the old root", async () => {
  const rootA = { name: "A" } as unknown as TrustedRoot;
  const rootB = { name: "B" } as unknown as TrustedRoot;
  let root = rootA;
  const calls: TrustedRoot[] = [];
  const pending: Array<(j: Judgement) => void> = [];
  const policy = { hash: "sha256:policy" } as unknown as SignerPolicy;
  const ac = new AdmissionController({
    policy: () => policy,
    trustedRoot: () => root,
    deadlineMs: 10, // the reviews answer "not finished" while the judgements stay pending
    judge: (o) => {
      calls.push(o.trustedRoot as TrustedRoot);
      return new Promise<Judgement>((resolve) => pending.push(resolve));
    },
  });
  await ac.review(create("1"));
  await ac.review(create("2")); // same root: joins the first verification
  assert.deepEqual(calls, [rootA]);
  root = rootB; // the refresh
  await ac.review(create("3"));
  assert.deepEqual(calls, [rootA, rootB], "a verification of its own, under the new root");
  await ac.review(create("4"));
  assert.deepEqual(calls, [rootA, rootB]);
  for (const r of pending) r({ ours: {} as Judgement["ours"], controller: null });
});
