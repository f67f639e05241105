/**
 * The OpenAPI v2 document a Kubernetes API server publishes for CRDs, encoded as kubectl reads
 * it (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, the gnostic
 * `openapi.v2.Document` message). Test support only: it lets real `kubectl` validate objects
 * client-side against the vendored kars CRD schemas.
 *
 * The schemas are converted the way the API server converts CRD schemas for v2: CEL rules,
 * `nullable`, `anyOf`/`oneOf`/`not` are dropped; a `nullable` or int-or-string field loses its
 * `type`; a `x-kubernetes-preserve-unknown-fields` object loses `type` and `properties` (so
 * kubectl does not reject what the server keeps).
 *
 * @module
 */
import type { CrdSchemaEntry, SchemaNode } from "../../lib/kube/schema/mod.ts";

const META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

class Writer {
  #parts: number[] = [];
  varint(n: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.#parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#parts.push(Number(v));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.#parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  int(field: number, n: number): this {
    return this.tag(field, 0).varint(n);
  }
  bool(field: number, b: boolean): this {
    return b ? this.tag(field, 0).varint(1) : this;
  }
  double(field: number, d: number): this {
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, d, true);
    this.tag(field, 1);
    for (let i = 0; i < 8; i++) this.#parts.push(buf.getUint8(i));
    return this;
  }
  finish(): Uint8Array {
    return new Uint8Array(this.#parts);
  }
}

/** `openapi.v2.Any` holding a YAML (JSON) text. */
function any(v: unknown): Writer {
  return new Writer().string(2, JSON.stringify(v));
}

/** Converts a structural schema node to what the API server publishes in v2. */
export function toV2(s: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  if (s.type && !s.nullable && !s["x-kubernetes-int-or-string"] && !preserve) out.type = s.type;
  for (
    const k of [
      "format",
      "pattern",
      "enum",
      "minimum",
      "maximum",
      "exclusiveMinimum",
      "exclusiveMaximum",
      "multipleOf",
      "minLength",
      "maxLength",
      "minItems",
      "maxItems",
      "uniqueItems",
      "minProperties",
      "maxProperties",
      "required",
      "x-kubernetes-preserve-unknown-fields",
      "x-kubernetes-int-or-string",
      "x-kubernetes-embedded-resource",
    ] as const
  ) {
    if (s[k] !== undefined) (out as Record<string, unknown>)[k] = s[k];
  }
  if (s.properties && !preserve) {
    out.properties = Object.fromEntries(
      Object.entries(s.properties).map(([k, v]) => [k, toV2(v)]),
    );
  }
  if (s.items) out.items = toV2(s.items);
  if (typeof s.additionalProperties === "object") {
    out.additionalProperties = toV2(s.additionalProperties);
  } else if (s.additionalProperties !== undefined) {
    out.additionalProperties = s.additionalProperties;
  }
  if (s.allOf) out.allOf = s.allOf.map(toV2);
  return out;
}

type V2 = SchemaNode & { $ref?: string; "x-kubernetes-group-version-kind"?: unknown };

function schema(s: V2): Writer {
  const w = new Writer();
  if (s.$ref) w.string(1, s.$ref);
  if (s.format) w.string(2, s.format);
  if (s.multipleOf !== undefined) w.double(6, s.multipleOf);
  if (s.maximum !== undefined) w.double(7, s.maximum);
  if (s.exclusiveMaximum) w.bool(8, true);
  if (s.minimum !== undefined) w.double(9, s.minimum);
  if (s.exclusiveMinimum) w.bool(10, true);
  if (s.maxLength !== undefined) w.int(11, s.maxLength);
  if (s.minLength !== undefined) w.int(12, s.minLength);
  if (s.pattern !== undefined) w.string(13, s.pattern);
  if (s.maxItems !== undefined) w.int(14, s.maxItems);
  if (s.minItems !== undefined) w.int(15, s.minItems);
  if (s.uniqueItems) w.bool(16, true);
  if (s.maxProperties !== undefined) w.int(17, s.maxProperties);
  if (s.minProperties !== undefined) w.int(18, s.minProperties);
  for (const r of s.required ?? []) w.string(19, r);
  for (const e of s.enum ?? []) w.message(20, any(e));
  if (typeof s.additionalProperties === "object") {
    w.message(21, new Writer().message(1, schema(s.additionalProperties)));
  } else if (s.additionalProperties !== undefined) {
    w.message(21, new Writer().bool(2, s.additionalProperties));
  }
  if (s.type) w.message(22, new Writer().string(1, s.type));
  if (s.items) w.message(23, new Writer().message(1, schema(s.items)));
  for (const a of s.allOf ?? []) w.message(24, schema(a as V2));
  if (s.properties) {
    const p = new Writer();
    for (const [k, v] of Object.entries(s.properties)) {
      p.message(1, new Writer().string(1, k).message(2, schema(v as V2)));
    }
    w.message(25, p);
  }
  for (
    const ext of [
      "x-kubernetes-group-version-kind",
      "x-kubernetes-preserve-unknown-fields",
      "x-kubernetes-int-or-string",
      "x-kubernetes-embedded-resource",
    ] as const
  ) {
    const v = (s as Record<string, unknown>)[ext];
    if (v !== undefined) w.message(31, new Writer().string(1, ext).message(2, any(v)));
  }
  return w;
}

/**
 * The protobuf-encoded OpenAPI v2 document for `crds`.
 *
 * @example
 * ```ts
 * import { openapiV2Protobuf } from "./openapi_v2_pb.ts";
 * import { KARS_CRDS } from "../../lib/kube/schema/mod.ts";
 * openapiV2Protobuf(Object.values(KARS_CRDS)).length > 0; // true
 * ```
 */
export function openapiV2Protobuf(crds: readonly CrdSchemaEntry[]): Uint8Array {
  const defs: [string, V2][] = [[META, {
    type: "object",
    properties: {
      name: { type: "string" },
      generateName: { type: "string" },
      namespace: { type: "string" },
      labels: { type: "object", additionalProperties: { type: "string" } },
      annotations: { type: "object", additionalProperties: { type: "string" } },
      uid: { type: "string" },
      resourceVersion: { type: "string" },
      generation: { type: "integer", format: "int64" },
      finalizers: { type: "array", items: { type: "string" } },
    },
  }]];
  for (const c of crds) {
    const v2 = toV2(c.schema);
    defs.push([`com.azure.kars.${c.version}.${c.kind}`, {
      ...v2,
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { $ref: `#/definitions/${META}` } as SchemaNode,
        ...v2.properties,
      },
      "x-kubernetes-group-version-kind": [{ group: c.group, kind: c.kind, version: c.version }],
    }]);
  }
  const definitions = new Writer();
  for (const [name, s] of defs) {
    definitions.message(1, new Writer().string(1, name).message(2, schema(s)));
  }
  return new Writer()
    .string(1, "2.0")
    .message(2, new Writer().string(1, "Kubernetes").string(2, "v1.32.0"))
    .message(8, new Writer())
    .message(9, definitions)
    .finish();
}
