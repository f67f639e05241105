/**
 * `kars egress audit`: a second opinion on every KarsSandbox of the fleet. Lists the sandboxes
 * (read-only), verifies each distinct `allowlistRef` once with our verifier (bounded
 * concurrency, a verdict cache keyed by digest, repository, policy and trust root),
 * and puts our verdict beside the controller's condition and its predicted verdict:
 *
 * - `security-finding`: the cluster says True where we say False;
 * - `refused`: we say False on a sandbox with a ref;
 * - `controller-limitation`: we say True, the controller says (or will say) False for a reason
 *   it cannot check (keys, globs, bundles);
 * - `disagreement`: we say True, the cluster False, and no known limitation explains it;
 * - `inline-only`: no `allowlistRef` (False/Unsigned);
 * - `transient`: we could not verify (network, 5xx);
 * - `ok`.
 *
 * @module
 */
import type { KubeClient } from "../kube/client.ts";
import { KARS_GROUP, KARS_VERSION, KARSSANDBOXES, type LiveSandbox } from "../kube/sandbox.ts";
import { listObjects } from "../kube/watch.ts";
import { rawAllowlistRef } from "../model/sandbox.ts";
import type { VerdictCache } from "../verify/cache.ts";
import { falseCondition } from "../verify/conditions.ts";
import type { PolicyError, SignerPolicy } from "../verify/policy.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import type { VerifyAllowlistOptions } from "../verify/options.ts";
import type { VerifyResult } from "../verify/result.ts";
import type { Target } from "../oci/types.ts";
import { anonymousRegistryTarget, type Judge, judgeBoth, type Judgement } from "./judge.ts";
import { readConditions } from "./status.ts";

/** What a row says about a sandbox. */
export type AuditFinding =
  | "ok"
  | "refused"
  | "security-finding"
  | "controller-limitation"
  | "disagreement"
  | "inline-only"
  | "transient";

/** A condition, short. */
export interface ConditionSummary {
  /** `True`, `False`, `Unknown`. */
  status: string;
  /** Reason. */
  reason: string;
  /** Message. */
  message: string;
}

/** One sandbox of the audit. */
export interface AuditRow {
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
  /** `allowlistRef.digest`, or null (inline only). */
  digest: string | null;
  /** `<registry>/<repository>@<digest>`, or null. */
  reference: string | null;
  /** Our verdict. */
  ours: ConditionSummary;
  /** The controller's verdict, predicted (null: cannot be told). */
  controller: ConditionSummary | null;
  /** The cluster's `AllowlistVerified` condition, or null. */
  cluster: (ConditionSummary & { current: boolean }) | null;
  /** Whether ours and the cluster's status agree (null without a cluster condition). */
  agree: boolean | null;
  /** The classification. */
  finding: AuditFinding;
  /** Our verdict came from the cache (or from another sandbox with the same ref). */
  shared: boolean;
}

/** Counts. */
export interface AuditSummary {
  /** Sandboxes audited. */
  sandboxes: number;
  /** Per finding. */
  findings: Record<AuditFinding, number>;
  /** Distinct allowlist references. */
  distinctReferences: number;
  /** Verifications carried out (not served from the cache). */
  verifications: number;
  /** Verdicts served from the cache. */
  cacheHits: number;
}

/** Options of {@link auditFleet}. */
export interface AuditOptions {
  /** The API client. */
  client: KubeClient;
  /** Namespaces to audit, or `"all"`. */
  namespaces: readonly string[] | "all";
  /** The SignerPolicy (or why none). */
  policy: SignerPolicy | PolicyError;
  /** Trust material. */
  trustedRoot: TrustedRoot;
  /** Allowed registries (united with the policy's `registries`). */
  allowedRegistries?: readonly string[];
  /** Opens a repository (credentials, transport; default: anonymous registry access). */
  openTarget?: (ref: AllowlistRefInput) => Target | Promise<Target>;
  /** Verifications in flight at once (default 8). */
  concurrency?: number;
  /** Verdict cache (shared across runs by a long-lived caller). */
  cache?: VerdictCache<VerifyResult>;
  /** The judge (default {@link judgeBoth}). */
  judge?: Judge;
  /** LIST page size (default 500). */
  pageSize?: number;
}

const summary = (c: { status: string; reason: string; message: string }): ConditionSummary => ({
  status: c.status,
  reason: c.reason,
  message: c.message,
});

function refKey(r: AllowlistRefInput): string {
  return JSON.stringify([r.registry, r.repository, r.digest, r.artifactType]);
}

/**
 * Classifies one row from ours, the predicted controller verdict and the cluster's condition.
 *
 * @example
 * ```ts
 * import { classify } from "./audit.ts";
 * classify(true, { status: "False", reason: "DigestMismatch", message: "" }, null,
 *   { status: "True", reason: "Verified", message: "" }); // "security-finding"
 * ```
 */
export function classify(
  hasRef: boolean,
  ours: ConditionSummary,
  controller: ConditionSummary | null,
  cluster: ConditionSummary | null,
): AuditFinding {
  if (!hasRef) return cluster?.status === "True" ? "security-finding" : "inline-only";
  if (ours.status === "Unknown") return "transient";
  if (ours.status === "False") return cluster?.status === "True" ? "security-finding" : "refused";
  if (controller?.status === "False") return "controller-limitation";
  if (cluster?.status === "False") return "disagreement";
  return "ok";
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

/**
 * Audits the fleet. Never writes to the cluster. Throws for API errors (listing).
 *
 * @example
 * ```ts
 * import { auditFleet } from "./audit.ts";
 * // const { rows, summary } = await auditFleet({ client, namespaces: "all", policy, trustedRoot });
 * ```
 */
export async function auditFleet(
  opts: AuditOptions,
): Promise<{ rows: AuditRow[]; summary: AuditSummary }> {
  const base = `/apis/${KARS_GROUP}/${KARS_VERSION}`;
  const sandboxes: LiveSandbox[] = [];
  const lists = opts.namespaces === "all"
    ? [{ path: `${base}/${KARSSANDBOXES}`, namespace: undefined }]
    : [...new Set(opts.namespaces)].map((ns) => ({
      path: `${base}/namespaces/${encodeURIComponent(ns)}/${KARSSANDBOXES}`,
      namespace: ns,
    }));
  for (const l of lists) {
    const { items } = await listObjects<LiveSandbox>(opts.client, {
      path: l.path,
      target: { resource: KARSSANDBOXES, group: KARS_GROUP, namespace: l.namespace },
      pageSize: opts.pageSize,
    });
    sandboxes.push(...items);
  }
  // One verification per distinct reference.
  const refs = new Map<string, AllowlistRefInput>();
  for (const sb of sandboxes) {
    const ref = rawAllowlistRef(sb);
    if (ref) refs.set(refKey(ref), ref);
  }
  const judgements = new Map<string, Judgement>();
  const judge = opts.judge ?? judgeBoth;
  let verifications = 0;
  let cacheHits = 0;
  await pool([...refs.entries()], opts.concurrency ?? 8, async ([k, ref]) => {
    const o: VerifyAllowlistOptions = {
      ref,
      policy: opts.policy,
      trustedRoot: opts.trustedRoot,
      target: opts.openTarget ?? anonymousRegistryTarget,
      ...(opts.cache ? { cache: opts.cache } : {}),
      ...(opts.allowedRegistries ? { allowedRegistries: opts.allowedRegistries } : {}),
    };
    const j = await judge(o);
    if (j.ours.cached) cacheHits++;
    else verifications++;
    judgements.set(k, j);
  });
  const seen = new Set<string>();
  const rows: AuditRow[] = sandboxes.map((sb) => {
    const ref = rawAllowlistRef(sb);
    const hasRef = ref !== undefined;
    const generation = typeof sb.metadata.generation === "number" ? sb.metadata.generation : 1;
    const cond = readConditions(sb as Record<string, unknown>, new Date()).find((c) =>
      c.type === "AllowlistVerified"
    );
    const cluster = cond
      ? {
        ...summary(cond),
        current: cond.observedGeneration !== null && cond.observedGeneration >= generation,
      }
      : null;
    let ours: ConditionSummary;
    let controller: ConditionSummary | null;
    let shared = false;
    if (!hasRef) {
      ours = summary(
        falseCondition(
          "Unsigned",
          "inline allowlist only (no spec.networkPolicy.allowlistRef); sign it with kars egress in enforce mode",
        ),
      );
      controller = null;
    } else {
      const k = refKey(ref!);
      const j = judgements.get(k)!;
      shared = seen.has(k) || j.ours.cached === true;
      seen.add(k);
      ours = summary(j.ours.condition);
      controller = j.controller ? summary(j.controller.condition) : null;
    }
    return {
      namespace: sb.metadata.namespace,
      name: sb.metadata.name,
      digest: hasRef ? String(ref!.digest) : null,
      reference: hasRef ? `${ref!.registry}/${ref!.repository}@${ref!.digest}` : null,
      ours,
      controller,
      cluster,
      agree: cluster ? cluster.status === ours.status : null,
      finding: classify(hasRef, ours, controller, cluster),
      shared,
    };
  });
  rows.sort((a, b) =>
    a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : 1
  );
  const findings: Record<AuditFinding, number> = {
    ok: 0,
    refused: 0,
    "security-finding": 0,
    "controller-limitation": 0,
    disagreement: 0,
    "inline-only": 0,
    transient: 0,
  };
  for (const r of rows) findings[r.finding]++;
  return {
    rows,
    summary: {
      sandboxes: rows.length,
      findings,
      distinctReferences: refs.size,
      verifications,
      cacheHits,
    },
  };
}

/**
 * The outcome of an audit: `finding` (exit 3) when a sandbox with a ref is False for us or the
 * cluster says True where we say False — and, with `strict`, inline-only sandboxes, controller
 * limitations and disagreements; else `transient` (exit 5) when something could not be
 * verified; else `ok`.
 *
 * @example
 * ```ts
 * import { auditOutcome } from "./audit.ts";
 * auditOutcome({ ok: 1, refused: 0, "security-finding": 0, "controller-limitation": 0,
 *   disagreement: 0, "inline-only": 2, transient: 0 }, false); // "ok"
 * ```
 */
export function auditOutcome(
  f: Record<AuditFinding, number>,
  strict: boolean,
): "ok" | "finding" | "transient" {
  if (f["security-finding"] > 0 || f.refused > 0) return "finding";
  if (strict && (f["inline-only"] > 0 || f["controller-limitation"] > 0 || f.disagreement > 0)) {
    return "finding";
  }
  if (f.transient > 0) return "transient";
  return "ok";
}
