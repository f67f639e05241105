/**
 * A small JSON Schema (2020-12) validator for the subset schema/kars-output.v1.json uses:
 * type (incl. "integer" and type lists), const, enum, required, properties,
 * additionalProperties: false, items, oneOf (exactly one), minimum, maximum, pattern, and
 * local $ref (#/$defs/…). Any other keyword is an error, so the schema cannot silently use
 * something this validator ignores.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  "$schema",
  "$id",
  "title",
  "description",
  "$defs",
  "$ref",
  "type",
  "const",
  "enum",
  "required",
  "properties",
  "additionalProperties",
  "items",
  "oneOf",
  "minimum",
  "maximum",
  "pattern",
]);

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case "null":
      return v === null;
    case "boolean":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "array":
      return Array.isArray(v);
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    default:
      throw new Error(`schema: unknown type ${t}`);
  }
}

/** Returns the list of violations (empty when `value` is valid). */
export function validate(root: Schema, value: unknown): string[] {
  return validateAt(root, root, value);
}

function validateAt(root: Schema, start: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const walk = (s: Schema, v: unknown, at: string, depth: number): void => {
    if (depth > 64) throw new Error("schema: $ref loop");
    for (const k of Object.keys(s)) {
      if (!KNOWN.has(k)) throw new Error(`schema: unsupported keyword ${k} at ${at}`);
    }
    if (typeof s.$ref === "string") {
      const m = /^#\/\$defs\/([A-Za-z0-9_]+)$/.exec(s.$ref);
      const defs = root.$defs as Record<string, Schema> | undefined;
      if (!m || !defs?.[m[1]]) throw new Error(`schema: bad $ref ${s.$ref}`);
      walk(defs[m[1]], v, at, depth + 1);
    }
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type as string[] : [s.type as string];
      if (!types.some((t) => typeOk(t, v))) {
        errors.push(`${at}: expected ${types.join("|")}, got ${JSON.stringify(v)?.slice(0, 80)}`);
        return;
      }
    }
    if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(v)) {
      errors.push(`${at}: expected ${JSON.stringify(s.const)}`);
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
      errors.push(`${at}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`);
    }
    if (typeof v === "number") {
      if (typeof s.minimum === "number" && v < s.minimum) errors.push(`${at}: < ${s.minimum}`);
      if (typeof s.maximum === "number" && v > s.maximum) errors.push(`${at}: > ${s.maximum}`);
    }
    if (typeof v === "string" && typeof s.pattern === "string" && !new RegExp(s.pattern).test(v)) {
      errors.push(`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`);
    }
    if (typeOk("object", v)) {
      const o = v as Record<string, unknown>;
      for (const r of (s.required as string[] | undefined) ?? []) {
        if (!(r in o)) errors.push(`${at}: missing ${r}`);
      }
      const props = (s.properties as Record<string, Schema> | undefined) ?? {};
      for (const [k, sub] of Object.entries(props)) {
        if (k in o) walk(sub, o[k], `${at}.${k}`, depth + 1);
      }
      if (s.additionalProperties === false) {
        for (const k of Object.keys(o)) {
          if (!(k in props)) errors.push(`${at}: unexpected property ${k}`);
        }
      }
    }
    if (Array.isArray(v) && s.items) {
      v.forEach((x, i) => walk(s.items as Schema, x, `${at}[${i}]`, depth + 1));
    }
    if (Array.isArray(s.oneOf)) {
      const passing = (s.oneOf as Schema[]).filter((sub) => validateAt(root, sub, v).length === 0);
      if (passing.length !== 1) {
        errors.push(`${at}: matches ${passing.length} of oneOf (exactly one required)`);
      }
    }
  };
  walk(start, value, "$", 0);
  return errors;
}
