/**
 * Types of a CRD's structural `openAPIV3Schema` (the keywords Kubernetes accepts) and of the
 * generated schema table.
 *
 * @module
 */

/** One `x-kubernetes-validations` entry (a CEL rule). */
export interface ValidationRule {
  /** The CEL expression; `self` is the value at the schema node. */
  rule: string;
  /** Message reported when the rule is false. */
  message?: string;
  /** CEL expression producing the message (not evaluated here; `message` or the rule is used). */
  messageExpression?: string;
  /** `FieldValueInvalid` (default), `FieldValueForbidden`, `FieldValueRequired`, `FieldValueDuplicate`. */
  reason?: string;
  /** Relative JSONPath the error is reported at. */
  fieldPath?: string;
}

/**
 * A structural schema node (`JSONSchemaProps` as the API server reads it).
 *
 * @example
 * ```ts
 * import type { SchemaNode } from "./types.ts";
 * const s: SchemaNode = { type: "object", properties: { port: { type: "integer" } } };
 * ```
 */
export interface SchemaNode {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  additionalProperties?: boolean | SchemaNode;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  allOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  not?: SchemaNode;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: ValidationRule[];
}

/**
 * One CRD in the generated table (`kars_crds.ts`).
 *
 * @example
 * ```ts
 * import type { CrdSchemaEntry } from "./types.ts";
 * const e: CrdSchemaEntry = {
 *   group: "kars.azure.com", version: "v1alpha1", kind: "ToolPolicy", plural: "toolpolicies",
 *   scope: "Namespaced", source: "testdata/kars-crds/toolpolicies.yaml", schema: { type: "object" },
 * };
 * ```
 */
export interface CrdSchemaEntry {
  /** API group, e.g. `kars.azure.com`. */
  group: string;
  /** The served version. */
  version: string;
  /** Kind, e.g. `KarsSandbox`. */
  kind: string;
  /** Plural resource name. */
  plural: string;
  /** `Namespaced` or `Cluster`. */
  scope: string;
  /** Where the schema was read from (for messages). */
  source: string;
  /** The version's `openAPIV3Schema`. */
  schema: SchemaNode;
}
