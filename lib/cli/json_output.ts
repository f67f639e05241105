/**
 * The `--json` envelope of every command (schema: `schema/kars-output.v1.json`): exactly one JSON
 * object on stdout. `{"ok": true, "schemaVersion": 1, …}` when the command ran to its result
 * (exit 0, or 3 with the verdict inside); `{"ok": false, "schemaVersion": 1, "error": {code,
 * exitCode, message}}` for every other exit code.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { exitCodeOf } from "./exit_codes.ts";

/** The `schemaVersion` of every `--json` object (bumped on an incompatible change). */
export const JSON_SCHEMA_VERSION = 1;

/** One condition as the verification object carries it. */
export interface ConditionJson {
  /** `True` or `False` (a fault is never a verdict: it is an error object). */
  status: "True" | "False";
  /** The condition reason (`Verified`, `IdentityMismatch`, …). */
  reason: string;
  /** The condition message. */
  message: string;
}

/** The verification object of contract C3 (egress verify, egress --signer-policy, audit rows). */
export interface VerificationJson {
  /** `<registry>/<repository>@<digest>`, or `null` for a sandbox without an allowlistRef. */
  reference: string | null;
  /** Our verdict. */
  ours: ConditionJson;
  /** The kars controller's predicted verdict (formats.md §8), when computed. */
  controller?: ConditionJson;
  /** Which verdict decides `verified` (and the exit code). */
  decidedBy: "both" | "ours" | "controller";
  /** Whether the deciding verdict(s) are `True`. */
  verified: boolean;
}

/**
 * Builds the C3 verification object. With only `ours`, `decidedBy` is `ours`.
 *
 * @example
 * ```ts
 * import { verificationJson } from "./json_output.ts";
 * const v = verificationJson("r.example/p@sha256:" + "0".repeat(64), {
 *   status: "True", reason: "Verified", message: "ok",
 * });
 * v.verified; // true
 * ```
 */
export function verificationJson(
  reference: string | null,
  ours: { status: string; reason: string; message: string },
  controller?: { status: string; reason: string; message: string },
  decidedBy: "both" | "ours" | "controller" = controller ? "both" : "ours",
): VerificationJson {
  const c = (x: { status: string; reason: string; message: string }): ConditionJson => ({
    status: x.status === "True" ? "True" : "False",
    reason: x.reason,
    message: x.message,
  });
  const o = c(ours);
  const k = controller ? c(controller) : undefined;
  const verified = decidedBy === "ours"
    ? o.status === "True"
    : decidedBy === "controller"
    ? k?.status === "True"
    : o.status === "True" && (k === undefined || k.status === "True");
  return { reference, ours: o, ...(k ? { controller: k } : {}), decidedBy, verified };
}

/**
 * The success envelope: `{ok: true, schemaVersion: 1, ...body}` (body keys after the two).
 *
 * @example
 * ```ts
 * import { okJson } from "./json_output.ts";
 * okJson({ digest: "sha256:…" }).ok; // true
 * ```
 */
export function okJson(body: Record<string, unknown>): Record<string, unknown> {
  return { ok: true, schemaVersion: JSON_SCHEMA_VERSION, ...body };
}

/**
 * The failure envelope of an error (its exit code from the one table).
 *
 * @example
 * ```ts
 * import { errorJson } from "./json_output.ts";
 * import { KarsError } from "../errors.ts";
 * errorJson(new KarsError("TRANSIENT", "registry down")).error; // { code: "TRANSIENT", exitCode: 5, … }
 * ```
 */
export function errorJson(
  e: unknown,
  exitCode = exitCodeOf(e),
): {
  ok: false;
  schemaVersion: number;
  error: { code: string; exitCode: number; message: string };
} {
  const code = e instanceof KarsError ? e.code : "INTERNAL";
  const message = e instanceof Error ? e.message : String(e);
  return { ok: false, schemaVersion: JSON_SCHEMA_VERSION, error: { code, exitCode, message } };
}

/**
 * Serialises one `--json` object (two-space indent, trailing newline).
 *
 * @example
 * ```ts
 * import { printJson } from "./json_output.ts";
 * printJson({ ok: true }); // "{\n  \"ok\": true\n}\n"
 * ```
 */
export function printJson(o: unknown): string {
  return `${JSON.stringify(o, null, 2)}\n`;
}
