/**
 * `kars egress status` end to end: `kars egress --emit-manifest` against docker-registry and the
 * Sigstore mock, the manifest applied to the test API server (as Argo CD / Flux would), a
 * simulated controller writing the conditions; `status --wait` exits 0 on True/Verified for the
 * new digest, 3 with the fix on False/IdentityMismatch, the transient code on timeout, and
 * survives a 410 mid-watch and a dropped connection without missing the update.
 */
import assert from "assert";
import { parse } from "yaml";
import { runKars } from "../support/cli.ts";
import { EXIT } from "../../lib/cli/command.ts";
import { evaluateSandboxStatus } from "../../lib/cluster/status.ts";
import { parseDuration } from "../../lib/cli/cluster_common.ts";
import type { LiveSandbox } from "../../lib/kube/sandbox.ts";
import {
  noRegistry,
  sandbox,
  simulateController,
  type Stack,
  waitFor,
  withStack,
} from "./fixtures.ts";

const TRANSIENT = EXIT.TRANSIENT; // 5
const NS = "kars-my-agent";

async function emit(
  s: Stack,
): Promise<{ path: string; digest: string; doc: Record<string, unknown> }> {
  const path = `${s.dir}/my-agent-allowlist.yaml`;
  const r = await runKars([
    "egress",
    "my-agent",
    "--enforce",
    "--emit-manifest",
    path,
    "--force",
    "--kubeconfig",
    s.api.kubeconfigPath,
    "--registry",
    s.reg.host,
    "--fulcio-url",
    s.mock.fulcioUrl,
    "--rekor-url",
    s.mock.rekorUrl,
  ], { env: { SIGSTORE_ID_TOKEN: s.mock.mintToken() } });
  assert.equal(r.code, 0, r.stderr);
  const doc = parse(await Deno.readTextFile(path));
  return { path, digest: doc.spec.networkPolicy.allowlistRef.digest, doc };
}

const status = (s: Stack, ...extra: string[]) =>
  runKars(["egress", "status", "my-agent", "--kubeconfig", s.api.kubeconfigPath, ...extra]);

const watchOpen = (s: Stack) => waitFor(() => s.api.openWatches > 0, "the watch to open");

Deno.test({
  name:
    "status --wait: 0 once the controller writes True/Verified for the applied digest, across a 410 and a drop",
  ignore: noRegistry,
  fn: () =>
    withStack([sandbox("my-agent", NS, ["api.github.com"])], async (s) => {
      // An earlier verdict for generation 1 must not satisfy the wait.
      s.api.setConditions(NS, "my-agent", [{
        type: "AllowlistVerified",
        status: "True",
        reason: "Verified",
        message: `digest=sha256:${"0".repeat(64)}, generation=1`,
      }]);
      const m = await emit(s);
      const waiting = status(s, "--manifest", m.path, "--wait", "--timeout", "60s", "--json");
      await watchOpen(s);
      // GitOps applies the manifest; the watch then expires (410) before the controller runs.
      s.api.apply(m.doc);
      await new Promise((r) => setTimeout(r, 50));
      s.api.expireWatches();
      await waitFor(() => s.api.openWatches > 0, "the relisted watch");
      // The connection drops; the controller's write lands while the client reconnects.
      s.api.dropWatches();
      const v = await simulateController(s, NS, "my-agent", s.policyPath);
      assert.equal(v.status, "True");
      const r = await waiting;
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.status.state, "verified");
      assert.equal(out.status.allowlistRef.digest, m.digest);
      assert.equal(out.status.digestMatches, true);
      assert.equal(out.status.generation, 2);
      assert.deepEqual(
        out.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`),
        ["AllowlistVerified=True", "AllowlistAuthoritative=True"],
      );
      const watches = s.api.requests.filter((q) => q.path.includes("watch=1"));
      const lists = s.api.requests.filter((q) =>
        q.path.includes("karssandboxes?") && !q.path.includes("watch=")
      );
      assert.ok(lists.length >= 2, "relisted after 410");
      assert.ok(watches.length >= 3, "re-watched after the drop");
      assert.ok(watches.every((w) => /resourceVersion=\d+/.test(w.path)));
      // Read-only.
      assert.ok(s.api.requests.every((q) => q.method === "GET"));
      // Without --wait, it is the same verdict now.
      const now = await status(s, "--digest", m.digest);
      assert.equal(now.code, 0, now.stderr);
      assert.match(now.stdout, /AllowlistVerified=True\/Verified/);
      assert.match(now.stdout, /live digest matches/);
    }),
});

Deno.test({
  name: "status --wait: 3 with the walkthrough's fix on False/IdentityMismatch",
  ignore: noRegistry,
  fn: () =>
    withStack([sandbox("my-agent", NS, ["api.github.com"])], async (s) => {
      const m = await emit(s);
      s.api.apply(m.doc);
      const waiting = status(s, "-n", NS, "--digest", m.digest, "--wait", "--timeout", "60s");
      await watchOpen(s);
      const v = await simulateController(s, NS, "my-agent", s.otherPolicyPath);
      assert.equal(v.reason, "IdentityMismatch");
      const r = await waiting;
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stdout, /AllowlistVerified=False\/IdentityMismatch/);
      assert.match(
        r.stdout,
        /fix: Signer identity not allowlisted in SignerPolicy: update the SignerPolicy SAN\/issuer allowlist/,
      );
      assert.match(r.stdout, /AllowlistAuthoritative=False\/FailedClosed/);
    }),
});

Deno.test({
  name:
    "status: the transient code on --timeout, and without --wait when the verdict is not there yet",
  ignore: noRegistry,
  fn: () =>
    withStack([sandbox("my-agent", NS, ["api.github.com"])], async (s) => {
      const m = await emit(s);
      // Not applied yet: the live sandbox has no ref.
      let r = await status(s, "--manifest", m.path);
      assert.equal(r.code, TRANSIENT, r.stderr);
      assert.match(r.stderr, /has no allowlistRef yet/);
      r = await status(s, "--manifest", m.path, "--wait", "--timeout", "1s");
      assert.equal(r.code, TRANSIENT, r.stderr);
      assert.match(r.stderr, /gave up after --timeout 1s/);
      assert.match(r.stderr, /GitOps change has not been applied/);
      s.api.apply(m.doc);
      r = await status(s, "--manifest", m.path, "--wait", "--timeout", "500ms");
      assert.equal(r.code, TRANSIENT);
      assert.match(r.stderr, /controller has not reported AllowlistVerified yet/);
      assert.ok(s.api.requests.every((q) => q.method === "GET"));
    }),
});

Deno.test("status: a sandbox without allowlistRef is refused (Unsigned) with the fix; usage errors", async () => {
  const sb = {
    ...sandbox("a", "ns", ["x.example"]),
    metadata: { name: "a", namespace: "ns", generation: 1 },
  };
  const r = evaluateSandboxStatus(sb as unknown as LiveSandbox, {});
  assert.equal(r.state, "refused");
  assert.equal(r.reason, "Unsigned");
  assert.match(r.fix!, /enforce mode, emit the GitOps manifest/);
  assert.throws(() => parseDuration("5x", "--timeout"), /not a duration/);
  assert.equal(parseDuration("1m30s", "--timeout"), 90_000);
  assert.equal(parseDuration("250ms", "--timeout"), 250);
  const u = await runKars(["egress", "status", "a", "--digest", "sha256:bad"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /--digest "sha256:bad" is not sha256:<64 hex>/);
});

Deno.test("status: stale or mismatching verdicts stay pending", () => {
  const digest = "sha256:" + "a".repeat(64);
  const ref = {
    registry: "r.example",
    repository: "p",
    digest,
    artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
  };
  const live = (conditions: unknown[], generation = 2) => ({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox" as const,
    metadata: { name: "a", namespace: "ns", generation },
    spec: { networkPolicy: { allowlistRef: ref } },
    status: { conditions },
  });
  const cond = (status: string, reason: string, observedGeneration: number, message = "") => ({
    type: "AllowlistVerified",
    status,
    reason,
    observedGeneration,
    message,
    lastTransitionTime: "2026-01-01T00:00:00Z",
  });
  assert.equal(evaluateSandboxStatus(live([cond("True", "Verified", 1)]), {}).state, "pending");
  assert.equal(evaluateSandboxStatus(live([cond("False", "NotFound", 1)]), {}).state, "pending");
  assert.equal(evaluateSandboxStatus(live([cond("False", "NotFound", 2)]), {}).state, "refused");
  assert.equal(
    evaluateSandboxStatus(
      live([cond("True", "Verified", 2, `digest=sha256:${"b".repeat(64)}, generation=4`)]),
      {},
    ).state,
    "pending",
  );
  assert.equal(
    evaluateSandboxStatus(live([cond("True", "Verified", 2, `digest=${digest}, generation=4`)]), {
      expectedDigest: digest,
    }).state,
    "verified",
  );
  assert.equal(
    evaluateSandboxStatus(live([cond("True", "Verified", 2)]), {
      expectedDigest: "sha256:" + "c".repeat(64),
    }).state,
    "pending",
  );
  assert.equal(
    evaluateSandboxStatus(live([cond("Unknown", "TransientError", 2)]), {}).state,
    "pending",
  );
});
