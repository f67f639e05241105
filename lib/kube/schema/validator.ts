/**
 * Validates an object against a CRD's structural `openAPIV3Schema` the way the API server does
 * with strict server-side field validation (`kubectl apply`'s default): after defaulting, it
 * checks types (with `nullable`, `x-kubernetes-int-or-string`), `required`, `enum`, `pattern`,
 * `format` (the formats Kubernetes checks), numeric bounds, string/list/map sizes,
 * `x-kubernetes-list-type: set|map` uniqueness, embedded resources, and — as errors — fields the
 * schema does not declare (except under `x-kubernetes-preserve-unknown-fields`). CEL rules
 * (`x-kubernetes-validations`) are evaluated with the subset in `cel.ts`; rules outside that
 * subset are returned in `unchecked`, never silently passed.
 *
 * A whole object of a CRD kind (`apiVersion`, `kind`, `metadata` too) is `resource.ts`'s.
 *
 * Two modes:
 * - `object` (default): a whole object as `kubectl apply` would create it, with `apiVersion`,
 *   `kind` and `metadata` checked too.
 * - `patch`: a JSON merge patch (what a GitOps manifest is): only present fields are checked;
 *   `required` is enforced inside list items (a merge patch replaces lists whole) but not for
 *   objects, no defaults are applied and CEL rules are not evaluated (they need the whole
 *   object). `null` (a merge-patch delete) is accepted anywhere.
 *
 * One deliberate difference from the API server: a `null` on a field that is not `nullable` is
 * an error here; the API server prunes it silently, which for a generated document is a bug.
 *
 * Pure and bounded (depth ≤ 64, at most 1,000 errors).
 *
 * @module
 */
import { type CelProgram, compileCel, runCel } from "./cel.ts";
import type { SchemaNode } from "./types.ts";
import { applyDefaults } from "./defaults.ts";
import { checkFormat } from "./formats.ts";
import { checkEmbedded, join } from "./object_meta.ts";

/** One validation failure, shaped like the API server's field errors. */
export interface FieldError {
  /** Field path, e.g. `spec.runtime.kind` or `spec.networkPolicy.allowedEndpoints[0].port`. */
  path: string;
  /** `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueTypeInvalid`, `FieldValueTooLong`, `FieldValueTooMany`, `FieldValueDuplicate`, `FieldValueForbidden` or `UnknownField`. */
  type: string;
  /** Human-readable detail. */
  message: string;
}

/** What {@link validateAgainstSchema} returns. */
export interface ValidationResult {
  /** True when `errors` is empty. */
  ok: boolean;
  /** All failures found (capped at 1,000). */
  errors: FieldError[];
  /** CEL rules that applied to a present value but could not be evaluated here (`path: rule`). */
  unchecked: string[];
}

/** Options of {@link validateAgainstSchema}. */
export interface ValidateOptions {
  /** `object` (default) or `patch`. */
  mode?: "object" | "patch";
}

const MAX_DEPTH = 64;
/** Error types after which the API server skips CEL rules. */
const BLOCKING = new Set(["FieldValueTypeInvalid", "FieldValueNotSupported"]);
/**
 * Most field errors one validation reports (the rest are dropped).
 *
 * @example
 * ```ts
 * import { MAX_FIELD_ERRORS } from "./validator.ts";
 * MAX_FIELD_ERRORS; // 1000
 * ```
 */
export const MAX_FIELD_ERRORS = 1000;

const regexCache = new Map<string, RegExp | null>();
function compilePattern(p: string): RegExp | null {
  if (!regexCache.has(p)) {
    let r: RegExp | null = null;
    try {
      r = new RegExp(p, "u");
    } catch {
      try {
        r = new RegExp(p);
      } catch {
        r = null;
      }
    }
    regexCache.set(p, r);
  }
  return regexCache.get(p)!;
}

const celCache = new Map<string, CelProgram | string>();
function cel(rule: string): CelProgram | string {
  if (!celCache.has(rule)) celCache.set(rule, compileCel(rule));
  return celCache.get(rule)!;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The JSON type of a value as the API server names it in messages (`integer` for whole numbers).
 *
 * @example
 * ```ts
 * import { describeType } from "./validator.ts";
 * describeType(3); // "integer"
 * describeType([1]); // "array"
 * ```
 */
export function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/**
 * A value quoted for a field error: its JSON, cut to 200 characters.
 *
 * @example
 * ```ts
 * import { quoteValue } from "./validator.ts";
 * quoteValue("a"); // '"a"'
 * ```
 */
export function quoteValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

class Ctx {
  errors: FieldError[] = [];
  unchecked: string[] = [];
  /** `schema`: structural checks only; `cel`: only the CEL rules (a second pass). */
  constructor(readonly patch: boolean, readonly pass: "schema" | "cel" = "schema") {}
  err(path: string, type: string, message: string, cel = false) {
    if (cel !== (this.pass === "cel")) return;
    if (this.errors.length < MAX_FIELD_ERRORS) {
      this.errors.push({ path: path || "<root>", type, message });
    }
  }
}

function checkType(c: Ctx, path: string, v: unknown, s: SchemaNode): boolean {
  if (s["x-kubernetes-int-or-string"]) {
    if (typeof v === "string" || (typeof v === "number" && Number.isInteger(v))) return true;
    c.err(
      path,
      "FieldValueTypeInvalid",
      `Invalid value: ${quoteValue(v)}: must be an integer or a string`,
    );
    return false;
  }
  if (!s.type) return true;
  const t = describeType(v);
  const ok = s.type === t || (s.type === "number" && t === "integer") ||
    (s.type === "object" && t === "object");
  if (!ok) {
    c.err(
      path,
      "FieldValueTypeInvalid",
      `Invalid value: ${quoteValue(v)}: must be of type ${s.type}`,
    );
  }
  return ok;
}

function walk(c: Ctx, path: string, v: unknown, s: SchemaNode, depth: number, inListItem: boolean) {
  if (depth > MAX_DEPTH) {
    c.err(path, "FieldValueInvalid", `nested deeper than ${MAX_DEPTH} levels`);
    return;
  }
  if (v === null) {
    if (c.patch || s.nullable) return;
    c.err(
      path,
      "FieldValueInvalid",
      `null on a field that is not nullable (the API server would silently drop it)`,
    );
    return;
  }
  if (!checkType(c, path, v, s)) return;
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    c.err(
      path,
      "FieldValueNotSupported",
      `Unsupported value: ${quoteValue(v)}: supported values: ${
        s.enum.map((e) => quoteValue(e)).join(", ")
      }`,
    );
  }
  if (typeof v === "string") {
    const n = [...v].length;
    if (s.maxLength !== undefined && n > s.maxLength) {
      c.err(path, "FieldValueTooLong", `Too long: may not be more than ${s.maxLength} bytes`);
    }
    if (s.minLength !== undefined && n < s.minLength) {
      c.err(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quoteValue(v)}: should be at least ${s.minLength} chars long`,
      );
    }
    if (s.pattern !== undefined) {
      const re = compilePattern(s.pattern);
      if (!re && c.pass === "schema") c.unchecked.push(`${path}: pattern ${s.pattern}`);
      else if (re && !re.test(v)) {
        c.err(
          path,
          "FieldValueInvalid",
          `Invalid value: ${quoteValue(v)}: should match '${s.pattern}'`,
        );
      }
    }
    if (s.format && checkFormat(s.format, v) === false) {
      c.err(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quoteValue(v)}: must be of format ${s.format}`,
      );
    }
  }
  if (typeof v === "number") {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) {
      c.err(
        path,
        "FieldValueInvalid",
        `Invalid value: ${v}: should be greater than ${
          s.exclusiveMinimum ? "" : "or equal to "
        }${s.minimum}`,
      );
    }
    if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) {
      c.err(
        path,
        "FieldValueInvalid",
        `Invalid value: ${v}: should be less than ${
          s.exclusiveMaximum ? "" : "or equal to "
        }${s.maximum}`,
      );
    }
    if (s.multipleOf !== undefined && v % s.multipleOf !== 0) {
      c.err(
        path,
        "FieldValueInvalid",
        `Invalid value: ${v}: should be a multiple of ${s.multipleOf}`,
      );
    }
    if (s.format === "int32" && (v < -(2 ** 31) || v >= 2 ** 31)) {
      c.err(path, "FieldValueInvalid", `Invalid value: ${v}: out of range for int32`);
    }
    if (s.format === "uint32" && (v < 0 || v >= 2 ** 32)) {
      c.err(path, "FieldValueInvalid", `Invalid value: ${v}: out of range for uint32`);
    }
  }
  if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems) {
      c.err(
        path,
        "FieldValueTooMany",
        `Too many: ${v.length}: must have at most ${s.maxItems} items`,
      );
    }
    if (s.minItems !== undefined && v.length < s.minItems) {
      c.err(path, "FieldValueInvalid", `Invalid value: should have at least ${s.minItems} items`);
    }
    const lt = s["x-kubernetes-list-type"];
    if (lt === "set" || s.uniqueItems) {
      const seen = new Set<string>();
      v.forEach((x, i) => {
        const k = JSON.stringify(x);
        if (seen.has(k)) {
          c.err(`${path}[${i}]`, "FieldValueDuplicate", `Duplicate value: ${quoteValue(x)}`);
        }
        seen.add(k);
      });
    }
    if (lt === "map") {
      const keys = s["x-kubernetes-list-map-keys"] ?? [];
      const seen = new Set<string>();
      v.forEach((x, i) => {
        if (!isObj(x)) return;
        const k = JSON.stringify(keys.map((key) => x[key]));
        if (seen.has(k)) c.err(`${path}[${i}]`, "FieldValueDuplicate", `Duplicate value: ${k}`);
        seen.add(k);
      });
    }
    if (s.items) v.forEach((x, i) => walk(c, `${path}[${i}]`, x, s.items!, depth + 1, true));
  }
  if (isObj(v)) {
    const n = Object.keys(v).length;
    if (s.maxProperties !== undefined && n > s.maxProperties) {
      c.err(
        path,
        "FieldValueTooMany",
        `Too many: ${n}: must have at most ${s.maxProperties} items`,
      );
    }
    if (s.minProperties !== undefined && n < s.minProperties) {
      c.err(
        path,
        "FieldValueInvalid",
        `Invalid value: should have at least ${s.minProperties} properties`,
      );
    }
    if (!c.patch || inListItem) {
      for (const r of s.required ?? []) {
        if (!(r in v)) c.err(join(path, r), "FieldValueRequired", "Required value");
      }
    }
    const embedded = s["x-kubernetes-embedded-resource"] === true;
    if (embedded) checkEmbedded((p, t, m) => c.err(p, t, m), path, v, c.patch);
    const props = s.properties ?? {};
    const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
    for (const [k, x] of Object.entries(v)) {
      const p = join(path, k);
      if (k in props) walk(c, p, x, props[k], depth + 1, false);
      else if (isObj(s.additionalProperties)) {
        walk(c, p, x, s.additionalProperties, depth + 1, false);
      } else if (embedded && (k === "apiVersion" || k === "kind" || k === "metadata")) continue;
      else if (!preserve && s.additionalProperties !== true) {
        c.err(p, "UnknownField", `unknown field "${p}"`);
      }
    }
  }
  for (const sub of s.allOf ?? []) walk(c, path, v, sub, depth + 1, inListItem);
  for (const [kw, list] of [["anyOf", s.anyOf], ["oneOf", s.oneOf]] as const) {
    if (!list) continue;
    const passing = list.filter((sub) => {
      const t = new Ctx(c.patch);
      walk(t, path, v, sub, depth + 1, inListItem);
      return t.errors.filter((e) => e.type !== "UnknownField").length === 0;
    }).length;
    if (kw === "anyOf" ? passing === 0 : passing !== 1) {
      c.err(
        path,
        "FieldValueInvalid",
        `Invalid value: must validate ${
          kw === "anyOf" ? "at least one" : "exactly one"
        } of the ${kw} schemas`,
      );
    }
  }
  if (s.not) {
    const t = new Ctx(c.patch);
    walk(t, path, v, s.not, depth + 1, inListItem);
    if (t.errors.length === 0) {
      c.err(path, "FieldValueInvalid", "Invalid value: must not validate the schema (not)");
    }
  }
  if (!c.patch && c.pass === "cel") {
    for (const rule of s["x-kubernetes-validations"] ?? []) {
      const p = cel(rule.rule);
      if (typeof p === "string") {
        c.unchecked.push(`${path || "<root>"}: ${rule.rule} (${p})`);
        continue;
      }
      const r = runCel(p, v);
      const at = rule.fieldPath ? `${path}${rule.fieldPath}` : path;
      if (!r.ok) {
        c.err(
          at,
          "FieldValueInvalid",
          `Invalid value: rule ${quoteValue(rule.rule)} could not be evaluated: ${r.error}`,
          true,
        );
      } else if (r.value !== true) {
        c.err(
          at,
          rule.reason ?? "FieldValueInvalid",
          `Invalid value: ${rule.message ?? `failed rule: ${rule.rule}`}`,
          true,
        );
      }
    }
  }
}

/**
 * Validates `obj` against one schema node (usually a CRD version's `openAPIV3Schema`).
 * Top-level `apiVersion`, `kind` and `metadata` are not part of a CRD's schema; use
 * `validateResource` (resource.ts) for a whole object.
 *
 * @example
 * ```ts
 * import { validateAgainstSchema } from "./validator.ts";
 * const r = validateAgainstSchema({ port: "443" }, {
 *   type: "object", properties: { port: { type: "integer" } },
 * });
 * r.errors[0].path; // "port"
 * ```
 */
export function validateAgainstSchema(
  obj: unknown,
  schema: SchemaNode,
  opts: ValidateOptions = {},
): ValidationResult {
  const c = new Ctx(opts.mode === "patch");
  const value = c.patch ? obj : applyDefaults(obj, schema);
  walk(c, "", value, schema, 0, false);
  if (!c.patch) {
    // Like the API server: type and enum errors block the CEL rules (they would misfire).
    if (c.errors.some((e) => BLOCKING.has(e.type))) {
      c.err(
        "",
        "FieldValueInvalid",
        "Invalid value: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
      );
    } else {
      const rules = new Ctx(false, "cel");
      walk(rules, "", value, schema, 0, false);
      c.errors.push(...rules.errors.slice(0, MAX_FIELD_ERRORS - c.errors.length));
      c.unchecked.push(...rules.unchecked);
    }
  }
  return { ok: c.errors.length === 0, errors: c.errors, unchecked: c.unchecked };
}

/**
 * One line per error, `<path>: <message>`, for reports.
 *
 * @example
 * ```ts
 * import { formatFieldErrors } from "./validator.ts";
 * formatFieldErrors([{ path: "spec.x", type: "UnknownField", message: 'unknown field "spec.x"' }]);
 * // ['spec.x: unknown field "spec.x"']
 * ```
 */
export function formatFieldErrors(errors: readonly FieldError[]): string[] {
  return errors.map((e) => `${e.path}: ${e.message}`);
}
