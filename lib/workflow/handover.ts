/**
 * The last step of the egress flow: handing the signed reference over — a GitOps manifest
 * file, the patch document, or a patch of the live sandbox — with the pull-request summary.
 * (Verifying what was signed is `verify_step.ts`, loaded only when the plan verifies.)
 *
 * @module
 */
import { canonicalizeEndpoints, type Endpoint } from "../allowlist/canonical.ts";
import { applyApproveDeny } from "../allowlist/edit.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { type AllowlistRef, emitGitopsManifest } from "../gitops/manifest.ts";
import { writeFileAtomic } from "../io/fs_atomic.ts";
import type { LiveCluster } from "../kube/live_cluster.ts";
import type { LiveSandbox } from "../kube/sandbox.ts";
import { readNetworkPolicy } from "../model/sandbox_read.ts";
import type { EgressPlan } from "./plan.ts";
import type { EgressResult } from "./result.ts";

/** Inputs of {@link handOver}. */
export interface HandOverOptions {
  /** The plan (sink, change, summary). */
  plan: EgressPlan;
  /** The result so far (filled in). */
  result: EgressResult;
  /** The signed reference. */
  ref: AllowlistRef;
  /** The endpoints signed. */
  endpoints: Endpoint[];
  /** `Strict` when the mode changes. */
  egressMode?: "Strict";
  /** The inline list, when it changed. */
  allowedEndpoints?: Endpoint[];
  /** The live sandbox, for a `cluster` sink. */
  cluster?: { cluster: LiveCluster; live: LiveSandbox };
  /** Progress lines. */
  progress: (line: string) => void;
}

/**
 * Writes the summary (when asked), then the GitOps manifest, returns the patch document, or
 * patches the live sandbox (only when the endpoints signed are still what the live sandbox
 * gives).
 *
 * @example
 * ```ts
 * import { handOver } from "./handover.ts";
 * typeof handOver; // "function"
 * ```
 */
export async function handOver(o: HandOverOptions): Promise<void> {
  const { plan, result, ref, progress } = o;
  const { name, namespace } = result.sandbox;
  const sink = plan.sink;
  const gitops = () =>
    emitGitopsManifest({
      name,
      namespace,
      signer: result.signer ?? "unsigned",
      unsigned: !plan.signing,
      ...ref,
      egressMode: o.egressMode,
      allowedEndpoints: o.allowedEndpoints,
    });
  // The summary first: it only reports, so when writing it fails (the file appeared since the
  // run checked it, a full disk) the GitOps manifest is not yet written nor the sandbox patched;
  // a run that changed either is never reported as failed.
  if (plan.summary !== undefined) {
    const { renderSummary } = await import("../gitops/summary.ts");
    result.summary = renderSummary({
      sandbox: name,
      namespace,
      repository: `${ref.registry}/${ref.repository}`,
      next: { digest: result.digest, generation: result.generation },
      previous: result.previous,
      signer: result.signer,
      diff: result.diff!,
      manifestPath: sink.kind === "file" ? sink.label ?? sink.path : undefined,
    });
    const path = plan.summary.path;
    if (path) {
      await writeFileAtomic(path, new TextEncoder().encode(result.summary), {
        force: plan.summary.force === true,
      });
      progress(`wrote summary ${path}`);
    }
  }
  if (sink.kind === "file") {
    progress(`writing ${sink.path}`);
    await writeFileAtomic(sink.path, gitops(), { force: sink.force });
    result.manifestPath = sink.path;
  } else if (sink.kind === "stdout" || !o.cluster) {
    result.document = fromUtf8(gitops());
  } else {
    const { cluster, live } = o.cluster;
    const { approve, deny } = plan.change;
    progress(`patching KarsSandbox ${namespace}/${name}`);
    await cluster.patch(live, {
      egressMode: o.egressMode,
      allowedEndpoints: o.allowedEndpoints,
      allowlistRef: ref,
    }, (fresh: LiveSandbox) => {
      // A concurrent change: only patch if the endpoints we signed are still what we derive.
      const again = applyApproveDeny(
        canonicalizeEndpoints(readNetworkPolicy(fresh).allowedEndpoints),
        approve,
        deny,
      );
      if (JSON.stringify(again.endpoints) !== JSON.stringify(o.endpoints)) {
        throw new KarsError(
          "KUBE",
          `KarsSandbox ${namespace}/${name} changed its endpoints while this run signed them; nothing was patched — re-run kars egress`,
        );
      }
    });
    result.patched = true;
  }
}
