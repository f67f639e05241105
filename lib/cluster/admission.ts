/**
 * The validating admission decision for `KarsSandbox` CREATE/UPDATE (AdmissionReview v1):
 * verify `spec.networkPolicy.allowlistRef` with our verifier and deny with the reason and the
 * fix; allow an UPDATE that does not touch the ref without any registry round trip; in
 * authoritative mode (`requireRef`) deny a sandbox without ref once a SignerPolicy is installed
 * (an UPDATE of one that predates the policy is allowed only while its inline
 * `spec.networkPolicy` stays as it was);
 * answer inside a verification deadline (a verification still running then goes on and fills
 * the cache); deny on a transient fault (fail closed) unless `allowOnError`; add the kars
 * controller's predicted refusal as an AdmissionReview warning.
 *
 * @module
 */
import { isPolicyError, type PolicyError, type SignerPolicy } from "../verify/policy.ts";
import { type VerdictCache, verdictCacheKey } from "../verify/cache.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import type { VerifyResult } from "../verify/result.ts";
import type { Target } from "../oci/types.ts";
import { fixFor } from "./fixes.ts";
import { anonymousRegistryTarget, type Judge, judgeBoth, type Judgement } from "./judge.ts";

/** `admission.k8s.io/v1`. */
export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

/** The `response` of an AdmissionReview. */
export interface AdmissionResponse {
  /** The request's uid. */
  uid: string;
  /** The decision. */
  allowed: boolean;
  /** Why (on denial). */
  status?: { code: number; reason?: string; message: string };
  /** Warnings shown by kubectl (each ≤ 256 characters here). */
  warnings?: string[];
}

/** What one decision reports for logs and metrics. */
export interface AdmissionOutcome {
  /** The AdmissionReview to send back (HTTP 200), or null for a malformed request (HTTP 400). */
  review: { apiVersion: string; kind: "AdmissionReview"; response: AdmissionResponse } | null;
  /** `allowed`, `denied` or `error` (malformed). */
  result: "allowed" | "denied" | "error";
  /** Short reason (metrics label): Verified, a False reason, Unchanged, NoRef, TransientError … */
  reason: string;
  /** Message for logs. */
  message: string;
  /** Sandbox namespace/name, when known. */
  object?: string;
  /** Operation. */
  operation?: string;
  /** Whether a verification ran (false: cache hit or no round trip). */
  verified: boolean;
  /** Whether the verdict came from the cache. */
  cached: boolean;
  /** Verification time in ms (when it ran). */
  verifyMs?: number;
}

/** Options of {@link AdmissionController}. */
export interface AdmissionOptions {
  /** The current SignerPolicy (re-read by the caller on change). */
  policy: () => SignerPolicy | PolicyError;
  /** Trust material, or a getter for the root in force (periodic refresh). */
  trustedRoot: TrustedRoot | (() => TrustedRoot);
  /** Allowed registries from flags (united with the policy's by the verifier). */
  allowedRegistries?: readonly string[];
  /** Opens a repository (credentials, transport; default: anonymous registry access). */
  openTarget?: (ref: AllowlistRefInput) => Target | Promise<Target>;
  /** Verdict cache. */
  cache?: VerdictCache<VerifyResult>;
  /**
   * Deny a sandbox without `allowlistRef` once a SignerPolicy is installed; an UPDATE of one
   * without ref is allowed only when it leaves `spec.networkPolicy` unchanged.
   */
  requireRef?: boolean;
  /** Allow (with a warning) when verification fails transiently, instead of denying. */
  allowOnError?: boolean;
  /** Answer within this many ms (default 8 000; below the webhook's timeoutSeconds). */
  deadlineMs?: number;
  /** The judge (default: ours + the controller's prediction). */
  judge?: Judge;
  /** Clock for latency (default `performance.now`). */
  now?: () => number;
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const isObj = (x: unknown): x is Obj => !!x && typeof x === "object" && !Array.isArray(x);

function sameRef(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null) return b === undefined || b === null;
  if (!isObj(a) || !isObj(b)) return false;
  return ["registry", "repository", "digest", "artifactType"].every((k) => a[k] === b[k]) &&
    Object.keys(a).length === Object.keys(b).length;
}

/**
 * Deep equality of two JSON values (object key order ignored). Past 64 levels of nesting the
 * values count as different (fail closed: the change is then judged, not waved through).
 */
function sameJson(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (depth > 64) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length &&
      a.every((x, i) => sameJson(x, b[i], depth + 1));
  }
  if (!isObj(a) || !isObj(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length &&
    ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k], depth + 1));
}

function clip(s: string, n = 256): string {
  return s.length <= n ? s : s.slice(0, n - 1) + "…";
}

/**
 * Decides admission requests.
 *
 * @example
 * ```ts
 * import { AdmissionController } from "./admission.ts";
 * const ac = new AdmissionController({
 *   policy: () => ({ reason: "SignerPolicyMissing", message: "none" }),
 *   trustedRoot: {} as never,
 * });
 * const out = await ac.review({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
 *   request: { uid: "1", operation: "DELETE" } });
 * out.review?.response.allowed; // true
 * ```
 */
export class AdmissionController {
  readonly #o: AdmissionOptions;
  /** Verifications in flight, by ref (one per artifact, shared by concurrent requests). */
  readonly #inflight = new Map<string, Promise<Judgement>>();

  /** A controller answering with `options`. @param options see {@link AdmissionOptions} */
  constructor(options: AdmissionOptions) {
    this.#o = options;
  }

  /** Decides one AdmissionReview (any JSON value; malformed input gives `review: null`). */
  async review(body: unknown): Promise<AdmissionOutcome> {
    const bad = (message: string): AdmissionOutcome => ({
      review: null,
      result: "error",
      reason: "BadRequest",
      message,
      verified: false,
      cached: false,
    });
    if (!isObj(body)) return bad("the body is not a JSON object");
    if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== "AdmissionReview") {
      return bad(
        `expected apiVersion ${ADMISSION_API_VERSION}, kind AdmissionReview; got ${
          JSON.stringify(body.apiVersion)
        }, ${JSON.stringify(body.kind)}`,
      );
    }
    const req = body.request;
    if (!isObj(req) || typeof req.uid !== "string" || req.uid === "") {
      return bad("request.uid is missing");
    }
    const uid = req.uid;
    const op = typeof req.operation === "string" ? req.operation : "";
    const obj = isObj(req.object) ? req.object : undefined;
    const objName = obj?.metadata?.name ?? req.name;
    const ns = obj?.metadata?.namespace ?? req.namespace;
    const object = objName ? `${ns ?? ""}/${objName}` : undefined;
    const answer = (
      allowed: boolean,
      reason: string,
      message: string,
      extra: Partial<AdmissionOutcome> & { warnings?: string[]; code?: number } = {},
    ): AdmissionOutcome => {
      const response: AdmissionResponse = { uid, allowed };
      if (!allowed) {
        response.status = { code: extra.code ?? 403, reason: "Forbidden", message };
      }
      if (extra.warnings?.length) response.warnings = extra.warnings.map((w) => clip(w));
      const { warnings: _w, code: _c, ...rest } = extra;
      return {
        review: { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response },
        result: allowed ? "allowed" : "denied",
        reason,
        message,
        object,
        operation: op,
        verified: false,
        cached: false,
        ...rest,
      };
    };
    if (op !== "CREATE" && op !== "UPDATE") {
      return answer(true, "NotApplicable", `operation ${op || "(none)"} is not checked`);
    }
    if (!obj || obj.kind !== "KarsSandbox") {
      return answer(
        false,
        "BadRequest",
        `kars webhook: expected a KarsSandbox object, got ${JSON.stringify(obj?.kind ?? null)}`,
        { code: 400 },
      );
    }
    const ref = obj.spec?.networkPolicy?.allowlistRef;
    if (op === "UPDATE" && isObj(req.oldObject)) {
      const oldRef = req.oldObject.spec?.networkPolicy?.allowlistRef;
      // In authoritative mode a sandbox without ref that predates the SignerPolicy may still be
      // updated (labels, other spec fields), but not have its inline allowlist changed: that is
      // a new egress decision, judged below as a CREATE would be.
      const inlineChanged = (ref === undefined || ref === null) && this.#o.requireRef === true &&
        !sameJson(req.oldObject.spec?.networkPolicy, obj.spec?.networkPolicy);
      if (sameRef(oldRef, ref) && !inlineChanged) {
        return answer(true, "Unchanged", "allowlistRef unchanged: no verification needed");
      }
    }
    const policy = this.#o.policy();
    if (ref === undefined || ref === null) {
      const installed = !(isPolicyError(policy) && policy.reason === "SignerPolicyMissing");
      if (this.#o.requireRef && installed) {
        return answer(
          false,
          "Unsigned",
          `kars webhook: KarsSandbox ${object} has no spec.networkPolicy.allowlistRef and a SignerPolicy is installed (authoritative mode): AllowlistVerified=False/Unsigned. Fix: ${
            fixFor("Unsigned")
          }`,
        );
      }
      return answer(true, "NoRef", "no allowlistRef: inline allowlist", {
        warnings: ["kars: no allowlistRef: the inline allowlist is not authoritative"],
      });
    }
    if (!isObj(ref)) {
      return answer(
        false,
        "InvalidRef",
        `kars webhook: spec.networkPolicy.allowlistRef is not an object: AllowlistVerified=False/InvalidRef. Fix: ${
          fixFor("InvalidRef")
        }`,
      );
    }
    return await this.#verify(ref as AllowlistRefInput, policy, answer);
  }

  async #verify(
    ref: AllowlistRefInput,
    policy: SignerPolicy | PolicyError,
    answer: (
      allowed: boolean,
      reason: string,
      message: string,
      extra?: Partial<AdmissionOutcome> & { warnings?: string[]; code?: number },
    ) => AdmissionOutcome,
  ): Promise<AdmissionOutcome> {
    const now = this.#o.now ?? (() => performance.now());
    const started = now();
    // The root in force now is part of the key: after a refresh, a request never joins a
    // verification still running under the root it replaced (as the verdict cache's keys).
    const trustedRoot = typeof this.#o.trustedRoot === "function"
      ? this.#o.trustedRoot()
      : this.#o.trustedRoot;
    const key = verdictCacheKey(
      ref,
      `${ref.artifactType}|${isPolicyError(policy) ? policy.reason : policy.hash}`,
      trustedRoot,
    );
    let p = this.#inflight.get(key);
    if (!p) {
      const judge = this.#o.judge ?? judgeBoth;
      p = judge({
        ref,
        policy,
        trustedRoot,
        target: this.#o.openTarget ?? anonymousRegistryTarget,
        ...(this.#o.cache ? { cache: this.#o.cache } : {}),
        ...(this.#o.allowedRegistries ? { allowedRegistries: this.#o.allowedRegistries } : {}),
      }).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    const deadline = this.#o.deadlineMs ?? 8000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), deadline);
    });
    let j: Judgement | "timeout";
    try {
      j = await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
    const ms = Math.round(now() - started);
    const at = `${ref.registry}/${ref.repository}@${ref.digest}`;
    if (j === "timeout") {
      // The verification goes on in the background and fills the cache for the API server's retry.
      const msg =
        `kars webhook: verifying ${at} did not finish within ${deadline} ms (transient; not a verdict)`;
      return this.#o.allowOnError
        ? answer(true, "TransientError", msg, {
          warnings: [`kars: allowed without verification (allow-on-error mode): ${msg}`],
          verified: true,
          verifyMs: ms,
        })
        : answer(false, "TransientError", `${msg}; denied (fail closed), retry`, {
          code: 503,
          verified: true,
          verifyMs: ms,
        });
    }
    const c = j.ours.condition;
    const cached = j.ours.cached === true;
    const extra = { verified: !cached, cached, ...(cached ? {} : { verifyMs: ms }) };
    if (c.status === "True") {
      const warnings: string[] = [];
      const ctl = j.controller?.condition;
      if (ctl && ctl.status === "False") {
        warnings.push(
          `kars: the kars controller will refuse this allowlist: AllowlistVerified=False/${ctl.reason}: ${ctl.message}`,
        );
      }
      return answer(true, "Verified", `AllowlistVerified=True/Verified: ${c.message}`, {
        ...extra,
        warnings,
      });
    }
    if (c.status === "False") {
      return answer(
        false,
        c.reason,
        `kars webhook: ${at}: AllowlistVerified=False/${c.reason}: ${c.message}. Fix: ${
          fixFor(c.reason)
        }`,
        extra,
      );
    }
    const msg = `kars webhook: ${at}: verification could not be carried out: ${c.message}`;
    return this.#o.allowOnError
      ? answer(true, c.reason, msg, {
        ...extra,
        warnings: [`kars: allowed without verification (allow-on-error mode): ${c.message}`],
      })
      : answer(false, c.reason, `${msg}; denied (fail closed), retry`, { ...extra, code: 503 });
  }
}
