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
  /** The JSON type of the value. */
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  /** The declared fields of an object. */
  properties?: Record<string, SchemaNode>;
  /** Fields an object must have. */
  required?: string[];
  /** The schema of every list item. */
  items?: SchemaNode;
  /** Schema of undeclared fields (a map), or `true` to allow any. */
  additionalProperties?: boolean | SchemaNode;
  /** The allowed values. */
  enum?: unknown[];
  /** A regular expression a string must match. */
  pattern?: string;
  /** A string format Kubernetes checks (e.g. `uri`, `date-time`, `int32`). */
  format?: string;
  /** Smallest allowed number. */
  minimum?: number;
  /** Largest allowed number. */
  maximum?: number;
  /** `minimum` itself is not allowed. */
  exclusiveMinimum?: boolean;
  /** `maximum` itself is not allowed. */
  exclusiveMaximum?: boolean;
  /** A number must be a multiple of this. */
  multipleOf?: number;
  /** Fewest characters in a string. */
  minLength?: number;
  /** Most characters in a string. */
  maxLength?: number;
  /** Fewest list items. */
  minItems?: number;
  /** Most list items. */
  maxItems?: number;
  /** List items must be distinct. */
  uniqueItems?: boolean;
  /** Fewest fields in an object. */
  minProperties?: number;
  /** Most fields in an object. */
  maxProperties?: number;
  /** `null` is allowed. */
  nullable?: boolean;
  /** Value applied when the field is absent. */
  default?: unknown;
  /** Schemas the value must all satisfy. */
  allOf?: SchemaNode[];
  /** Schemas of which the value must satisfy at least one. */
  anyOf?: SchemaNode[];
  /** Schemas of which the value must satisfy exactly one. */
  oneOf?: SchemaNode[];
  /** A schema the value must not satisfy. */
  not?: SchemaNode;
  /** Undeclared fields are kept (not errors). */
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  /** The value is an integer or a string. */
  "x-kubernetes-int-or-string"?: boolean;
  /** The value is a whole object (`apiVersion`, `kind`, `metadata`). */
  "x-kubernetes-embedded-resource"?: boolean;
  /** `atomic`, `set` (unique items) or `map` (unique by `x-kubernetes-list-map-keys`). */
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  /** The keys that identify an item of a `map` list. */
  "x-kubernetes-list-map-keys"?: string[];
  /** `atomic` or `granular` (how apply merges the map). */
  "x-kubernetes-map-type"?: "atomic" | "granular";
  /** CEL rules on the value. */
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
