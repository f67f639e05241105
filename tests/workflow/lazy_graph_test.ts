/**
 * What `kars egress` loads before it runs (issue 15): the static import graph of the command
 * (`deno info --json`, dynamic imports not followed) holds none of the code only some runs need —
 * the verifier (own-signature lookup, verification after signing), key-file and KMS signers,
 * the browser sign-in (node:http), credential helpers (node:child_process), the OCI layout's
 * node:crypto and file lock. Each is imported where it is used.
 */
import assert from "assert";
import { staticGraph } from "../support/static_graph.ts";

Deno.test("kars egress: the command's static graph leaves out what only some runs need", async () => {
  const graph = await staticGraph("lib/cli/egress.ts");
  const has = (suffix: string) => graph.some((s) => s.endsWith(suffix));
  // Sanity: the graph is the command's (the flow, the registry client, keyless signing).
  for (const needed of ["lib/workflow/egress.ts", "lib/oci/registry.ts", "lib/sign/keyless.ts"]) {
    assert.ok(has(needed), `${needed} should be in the graph`);
  }
  const lazy = [
    "lib/workflow/already_signed.ts",
    "lib/workflow/verify_step.ts",
    "lib/verify/verdict.ts",
    "lib/verify/both.ts",
    "lib/verify/controller_advice.ts",
    "lib/verify/policy_lint.ts",
    "lib/gitops/summary.ts",
    "lib/sign/keyfile.ts",
    "lib/sign/azure_kms.ts",
    "lib/sign/oidc_interactive.ts",
    "lib/oci/credential_helper.ts",
    "lib/oci/layout_hash.ts",
    "lib/io/lock.ts",
    "node:http",
    "node:child_process",
    "node:crypto",
    "node:os",
    "scrypt.js",
  ];
  assert.deepEqual(lazy.filter(has), [], "loaded by every egress run, though only some need it");
});

Deno.test("kars egress status: its static graph holds no OCI client (it never opens a registry)", async () => {
  const graph = await staticGraph("lib/cli/egress_status.ts");
  assert.ok(graph.includes("lib/kube/client.ts"), "sanity: the Kubernetes client is there");
  const client = [
    "lib/oci/registry.ts",
    "lib/oci/client.ts",
    "lib/oci/credentials.ts",
    "lib/oci/docker_config.ts",
    "lib/oci/acr_credentials.ts",
    "lib/oci/blob_upload.ts",
  ];
  assert.deepEqual(client.filter((m) => graph.includes(m)), []);
});
