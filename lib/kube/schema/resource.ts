/**
 * Validation of a whole Kubernetes object of a CRD kind, as the API server does it on create
 * (or, in `patch` mode, on a JSON merge patch): the CRD's group/version and kind, ObjectMeta
 * (`object_meta.ts`), then the CRD's schema with `validator.ts`.
 *
 * @module
 */
import type { CrdSchemaEntry, SchemaNode } from "./types.ts";
import { checkMetadata, type Report } from "./object_meta.ts";
import {
  describeType,
  type FieldError,
  MAX_FIELD_ERRORS,
  quoteValue,
  validateAgainstSchema,
  type ValidateOptions,
  type ValidationResult,
} from "./validator.ts";

/**
 * Validates a whole Kubernetes object (or, in `patch` mode, a merge patch) of a CRD kind:
 * `apiVersion` must be the CRD's group/version, `kind` its kind, `metadata` a valid
 * ObjectMeta, and everything else must fit the CRD's schema.
 *
 * @example
 * ```ts
 * import { validateResource } from "./resource.ts";
 * import { KARS_CRDS } from "./kars_crds.ts";
 * const r = validateResource({
 *   apiVersion: "kars.azure.com/v1alpha1", kind: "McpServer",
 *   metadata: { name: "github", namespace: "team" },
 *   spec: { url: "https://api.githubcopilot.com/mcp/", allowedTools: ["*"] },
 * }, KARS_CRDS.McpServer);
 * r.ok; // true
 * ```
 */
export function validateResource(
  obj: unknown,
  crd: CrdSchemaEntry,
  opts: ValidateOptions = {},
): ValidationResult {
  const patch = opts.mode === "patch";
  const own: FieldError[] = [];
  const report: Report = (path, type, message) => {
    if (own.length < MAX_FIELD_ERRORS) own.push({ path: path || "<root>", type, message });
  };
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    report("", "FieldValueTypeInvalid", `expected an object, got ${describeType(obj)}`);
    return { ok: false, errors: own, unchecked: [] };
  }
  const o = obj as Record<string, unknown>;
  const gv = `${crd.group}/${crd.version}`;
  if (o.apiVersion !== gv) {
    report(
      "apiVersion",
      "FieldValueInvalid",
      `Invalid value: ${quoteValue(o.apiVersion)}: expected ${gv}`,
    );
  }
  if (o.kind !== crd.kind) {
    report(
      "kind",
      "FieldValueInvalid",
      `Invalid value: ${quoteValue(o.kind)}: expected ${crd.kind}`,
    );
  }
  checkMetadata(report, "metadata", o.metadata, crd.scope === "Namespaced", patch);
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k !== "apiVersion" && k !== "kind") rest[k] = v;
  }
  // `metadata` is visible to CEL (`self.metadata.name`) but is not in the CRD schema.
  const schema: SchemaNode = {
    ...crd.schema,
    properties: {
      ...crd.schema.properties,
      metadata: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    },
  };
  const r = validateAgainstSchema(rest, schema, opts);
  const errors = [...own, ...r.errors];
  return { ok: errors.length === 0, errors, unchecked: r.unchecked };
}
