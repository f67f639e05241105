/**
 * `kars egress status`: the controller's verdict on a live KarsSandbox, read (never written).
 * {@link evaluateSandboxStatus} turns one object into a report — verified, refused (with the
 * fix) or pending — and {@link waitSandboxStatus} watches the sandbox (list-then-watch) until the
 * report is final: the live `allowlistRef` is the expected digest and the condition's
 * `observedGeneration` has caught up with `metadata.generation`.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import type { KubeClient } from "../kube/client.ts";
import type { LiveSandbox } from "../kube/sandbox.ts";
import { type AllowlistRefInput as AllowlistRef, rawAllowlistRef } from "../model/sandbox.ts";
import { KARS_GROUP, KARS_VERSION, KARSSANDBOXES } from "../kube/sandbox.ts";
import { listWatch, type WatchRetry } from "../kube/watch.ts";
import type { BackoffOptions } from "../kube/backoff.ts";
import { fixFor } from "./fixes.ts";

/** One condition as read from `status.conditions`, with its age. */
export interface ObservedCondition {
  /** Condition type. */
  type: string;
  /** `True`, `False` or `Unknown`. */
  status: string;
  /** Reason. */
  reason: string;
  /** Message. */
  message: string;
  /** `lastTransitionTime` (RFC 3339) or null. */
  lastTransitionTime: string | null;
  /** Seconds since `lastTransitionTime`, or null. */
  ageSeconds: number | null;
  /** The condition's `observedGeneration` (else `status.observedGeneration`), or null. */
  observedGeneration: number | null;
}

/** `verified` (exit 0), `refused` (exit 3) or `pending` (not there yet: transient). */
export type StatusState = "verified" | "refused" | "pending";

/** What {@link evaluateSandboxStatus} returns. */
export interface SandboxStatusReport {
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
  /** `metadata.generation`. */
  generation: number;
  /** The live `spec.networkPolicy.allowlistRef`, or null. */
  allowlistRef: AllowlistRef | null;
  /** The expected digest, or null when none was given. */
  expectedDigest: string | null;
  /** Whether the live digest is the expected one (null without an expectation). */
  digestMatches: boolean | null;
  /** The controller's conditions (AllowlistVerified, AllowlistAuthoritative, AllowlistDrift first). */
  conditions: ObservedCondition[];
  /** The state. */
  state: StatusState;
  /** One line: why this state. */
  summary: string;
  /** The reason of a refusal (`False` reason, or `Unsigned` for a sandbox without ref). */
  reason: string | null;
  /** The fix for a refusal. */
  fix: string | null;
}

const ORDER = ["AllowlistVerified", "AllowlistAuthoritative", "AllowlistDrift"];

function num(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

function str(x: unknown): string {
  return typeof x === "string" ? x : "";
}

/**
 * Reads `status.conditions` (kars conditions first, then the rest in order).
 *
 * @example
 * ```ts
 * import { readConditions } from "./status.ts";
 * readConditions({ status: { conditions: [{ type: "AllowlistVerified", status: "True", reason: "Verified" }] } }, new Date())[0].status; // "True"
 * ```
 */
export function readConditions(obj: Record<string, unknown>, now: Date): ObservedCondition[] {
  const st = (obj.status ?? {}) as { conditions?: unknown; observedGeneration?: unknown };
  const list = Array.isArray(st.conditions) ? st.conditions : [];
  const out: ObservedCondition[] = [];
  for (const c of list) {
    if (!c || typeof c !== "object") continue;
    const r = c as Record<string, unknown>;
    const ltt = typeof r.lastTransitionTime === "string" ? r.lastTransitionTime : null;
    const t = ltt ? Date.parse(ltt) : NaN;
    out.push({
      type: str(r.type),
      status: str(r.status),
      reason: str(r.reason),
      message: str(r.message),
      lastTransitionTime: ltt,
      ageSeconds: Number.isFinite(t) ? Math.max(0, Math.round((now.getTime() - t) / 1000)) : null,
      observedGeneration: num(r.observedGeneration) ?? num(st.observedGeneration),
    });
  }
  const rank = (t: string) => {
    const i = ORDER.indexOf(t);
    return i < 0 ? ORDER.length : i;
  };
  return out.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c.type) - rank(b.c.type) || a.i - b.i)
    .map((x) => x.c);
}

/**
 * The report for one live sandbox. Final states: `verified` when the live ref is the expected
 * digest (if one is given) and `AllowlistVerified` is `True` for the current generation (and its
 * message, when it names a digest, names this one); `refused` when it is `False` for the current
 * generation, or when there is no `allowlistRef` and none is expected. Anything else is `pending`.
 *
 * @example
 * ```ts
 * import { evaluateSandboxStatus } from "./status.ts";
 * const r = evaluateSandboxStatus({ apiVersion: "kars.azure.com/v1alpha1", kind: "KarsSandbox",
 *   metadata: { name: "a", namespace: "n", generation: 1 } }, {});
 * r.state; // "refused" (no allowlistRef)
 * ```
 */
export function evaluateSandboxStatus(
  sb: LiveSandbox,
  opts: { expectedDigest?: string; now?: Date },
): SandboxStatusReport {
  const now = opts.now ?? new Date();
  const generation = num(sb.metadata.generation) ?? 1;
  const ref = rawAllowlistRef(sb) ?? null;
  const conditions = readConditions(sb as Record<string, unknown>, now);
  const expected = opts.expectedDigest ?? null;
  const digestMatches = expected === null ? null : ref?.digest === expected;
  const base = {
    namespace: sb.metadata.namespace,
    name: sb.metadata.name,
    generation,
    allowlistRef: ref,
    expectedDigest: expected,
    digestMatches,
    conditions,
  };
  const pending = (summary: string): SandboxStatusReport => ({
    ...base,
    state: "pending",
    summary,
    reason: null,
    fix: null,
  });
  if (!ref) {
    if (expected !== null) {
      return pending(
        `the live sandbox has no allowlistRef yet (expected ${expected}): the GitOps change has not been applied`,
      );
    }
    return {
      ...base,
      state: "refused",
      summary: "no spec.networkPolicy.allowlistRef: the inline allowlist is not authoritative",
      reason: "Unsigned",
      fix: fixFor("Unsigned"),
    };
  }
  if (digestMatches === false) {
    return pending(
      `the live allowlistRef is ${ref.digest}, expected ${expected}: the GitOps change has not been applied yet`,
    );
  }
  const v = conditions.find((c) => c.type === "AllowlistVerified");
  if (!v) return pending("the controller has not reported AllowlistVerified yet");
  if (v.observedGeneration === null || v.observedGeneration < generation) {
    return pending(
      `AllowlistVerified=${v.status}/${v.reason} is for generation ${
        v.observedGeneration ?? "?"
      }; the controller has not observed generation ${generation} yet`,
    );
  }
  const named = /digest=(sha256:[0-9a-f]{64})/.exec(v.message)?.[1];
  if (v.status === "True") {
    if (named && named !== ref.digest) {
      return pending(
        `AllowlistVerified=True names ${named}, not the live ${ref.digest}; waiting for the controller`,
      );
    }
    return {
      ...base,
      state: "verified",
      summary: `AllowlistVerified=True/${v.reason}: ${v.message}`,
      reason: null,
      fix: null,
    };
  }
  if (v.status === "False") {
    return {
      ...base,
      state: "refused",
      summary: `AllowlistVerified=False/${v.reason}: ${v.message}`,
      reason: v.reason,
      fix: fixFor(v.reason),
    };
  }
  return pending(`AllowlistVerified=${v.status}/${v.reason}: ${v.message}`);
}

/** Options of {@link waitSandboxStatus}. */
export interface WaitStatusOptions {
  /** Namespace of the sandbox. */
  namespace: string;
  /** Name of the sandbox. */
  name: string;
  /** The digest the live ref must reach. */
  expectedDigest?: string;
  /** Ends the wait (the caller's timeout): the result is then the last pending report. */
  signal?: AbortSignal;
  /** Called with every report (progress). */
  onReport?: (r: SandboxStatusReport) => void;
  /** Called before each reconnect of the watch. */
  onRetry?: (r: WatchRetry) => void;
  /** Reconnect backoff. */
  backoff?: BackoffOptions;
  /** Clock (tests). */
  now?: () => Date;
}

/**
 * Watches one sandbox until its report is final (`verified` or `refused`) and returns it; when
 * `signal` aborts first, returns the last report (state `pending`, or null when the sandbox was
 * never seen). Throws for non-transient API errors (AUTH, KUBE).
 *
 * @example
 * ```ts
 * import { waitSandboxStatus } from "./status.ts";
 * // const r = await waitSandboxStatus(client, { namespace, name, expectedDigest, signal });
 * ```
 */
export async function waitSandboxStatus(
  client: KubeClient,
  opts: WaitStatusOptions,
): Promise<SandboxStatusReport | null> {
  const now = opts.now ?? (() => new Date());
  let last: SandboxStatusReport | null = null;
  const consider = (o: LiveSandbox | undefined): boolean => {
    if (!o) return false;
    last = evaluateSandboxStatus(o, { expectedDigest: opts.expectedDigest, now: now() });
    opts.onReport?.(last);
    return last.state !== "pending";
  };
  const path = `/apis/${KARS_GROUP}/${KARS_VERSION}/namespaces/${
    encodeURIComponent(opts.namespace)
  }/${KARSSANDBOXES}`;
  const stream = listWatch<LiveSandbox>(client, {
    path,
    target: { resource: KARSSANDBOXES, group: KARS_GROUP, namespace: opts.namespace },
    fieldSelector: `metadata.name=${opts.name}`,
    signal: opts.signal,
    backoff: opts.backoff,
    onRetry: opts.onRetry,
  });
  for await (const u of stream) {
    if (u.type === "SYNC") {
      const o = u.items.find((i) => i.metadata?.name === opts.name);
      if (!o) {
        last = null;
        continue;
      }
      if (consider(o)) return last;
    } else if (u.type === "DELETED") {
      if (u.object.metadata?.name === opts.name) last = null;
    } else if (u.object.metadata?.name === opts.name && consider(u.object)) {
      return last;
    }
  }
  return last;
}

/**
 * The error for a wait that ended without a final report (exit code: transient).
 *
 * @example
 * ```ts
 * import { pendingError } from "./status.ts";
 * pendingError("ns", "a", null, "timed out after 5m").code; // "TRANSIENT"
 * ```
 */
export function pendingError(
  namespace: string,
  name: string,
  last: SandboxStatusReport | null,
  why: string,
): KarsError {
  const state = last ? last.summary : `KarsSandbox ${namespace}/${name} was not found`;
  return new KarsError(
    "TRANSIENT",
    `KarsSandbox ${namespace}/${name}: ${why}; last seen: ${state}`,
    { details: { status: last } },
  );
}
