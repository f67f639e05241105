/**
 * Structural defaulting as the API server does it before validation: a property with a
 * `default` that is absent from a present object gets the default (deep-copied). Pure: returns
 * a new value.
 *
 * @module
 */
import type { SchemaNode } from "./types.ts";

const MAX_DEPTH = 64;

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Applies structural defaults to present objects (the API server defaults before validating).
 *
 * @example
 * ```ts
 * import { applyDefaults } from "./defaults.ts";
 * applyDefaults({}, { type: "object", properties: { mode: { type: "string", default: "Learn" } } });
 * // { mode: "Learn" }
 * ```
 */
export function applyDefaults(v: unknown, s: SchemaNode, depth = 0): unknown {
  if (depth > MAX_DEPTH) return v;
  if (isObj(v) && s.properties) {
    const out: Record<string, unknown> = { ...v };
    for (const [k, sub] of Object.entries(s.properties)) {
      if (!(k in out) && sub.default !== undefined) out[k] = structuredClone(sub.default);
      if (k in out) out[k] = applyDefaults(out[k], sub, depth + 1);
    }
    if (isObj(s.additionalProperties)) {
      for (const k of Object.keys(out)) {
        if (!(k in s.properties)) out[k] = applyDefaults(out[k], s.additionalProperties, depth + 1);
      }
    }
    return out;
  }
  if (isObj(v) && isObj(s.additionalProperties)) {
    const ap = s.additionalProperties;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, applyDefaults(x, ap, depth + 1)]),
    );
  }
  if (Array.isArray(v) && s.items) {
    const items = s.items;
    return v.map((x) => applyDefaults(x, items, depth + 1));
  }
  return v;
}
