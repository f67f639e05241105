/**
 * CRD schema validation for kars objects: the vendored kars CRDs (`KARS_CRDS`), a validator for
 * structural `openAPIV3Schema`s with strict field validation and a CEL subset, and
 * {@link validateKarsResource} to check any `kars.azure.com` object by its kind.
 *
 * @example
 * ```ts
 * import { validateKarsResource } from "./mod.ts";
 * const r = validateKarsResource({
 *   apiVersion: "kars.azure.com/v1alpha1", kind: "InferencePolicy",
 *   metadata: { name: "a", namespace: "team" }, spec: { appliesTo: { sandboxName: "a" } },
 * });
 * r.ok; // true
 * ```
 *
 * @module
 */
import { KARS_CRDS } from "./kars_crds.ts";
import type { FieldError, ValidateOptions, ValidationResult } from "./validator.ts";
import { validateResource } from "./resource.ts";

export { KARS_CRDS } from "./kars_crds.ts";
export type { CrdSchemaEntry, SchemaNode, ValidationRule } from "./types.ts";
export {
  type FieldError,
  formatFieldErrors,
  validateAgainstSchema,
  type ValidateOptions,
  type ValidationResult,
} from "./validator.ts";
export { validateResource } from "./resource.ts";
export { type CelProgram, compileCel, runCel } from "./cel.ts";

/**
 * Validates a `kars.azure.com` object against the vendored CRD of its `kind`. An unknown kind
 * or API group is a validation error (nothing to check it against).
 *
 * @example
 * ```ts
 * import { validateKarsResource } from "./mod.ts";
 * validateKarsResource({ apiVersion: "v1", kind: "ConfigMap" }).errors[0].path; // "kind"
 * ```
 */
export function validateKarsResource(obj: unknown, opts: ValidateOptions = {}): ValidationResult {
  const kind = obj !== null && typeof obj === "object"
    ? (obj as { kind?: unknown }).kind
    : undefined;
  const crd = typeof kind === "string" && Object.hasOwn(KARS_CRDS, kind)
    ? KARS_CRDS[kind]
    : undefined;
  if (!crd) {
    const error: FieldError = {
      path: "kind",
      type: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(kind ?? null)}: supported kinds: ${
        Object.keys(KARS_CRDS).join(", ")
      }`,
    };
    return { ok: false, errors: [error], unchecked: [] };
  }
  return validateResource(obj, crd, opts);
}
