/**
 * A hand-rolled, deterministic YAML emitter for plain JSON values (the resources
 * `kars migrate` writes): keys in insertion order, two-space indent, list items indented two
 * under their key, LF line endings, single trailing newline, no trailing whitespace. Strings go
 * through `lib/encoding/yaml_emit.ts` quoting rules; multi-line strings become literal blocks when that
 * round-trips exactly, otherwise double-quoted.
 *
 * @module
 */
import { doubleQuoted, scalar } from "../encoding/yaml_emit.ts";
import { KarsError } from "../errors.ts";

/** A JSON value. */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

const YAML11_TIMESTAMP = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/;

// deno-lint-ignore no-control-regex
const BLOCK_UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/;

function literalBlock(s: string, indent: string): string | undefined {
  if (!s.includes("\n") || BLOCK_UNSAFE.test(s)) return undefined;
  const trailing = /\n*$/.exec(s)![0].length;
  if (trailing > 1) return undefined;
  const body = trailing ? s.slice(0, -1) : s;
  const lines = body.split("\n");
  if (lines[0] === "" || lines[0].startsWith(" ") || lines[0].startsWith("\t")) return undefined;
  if (lines.some((l) => /[ \t]$/.test(l))) return undefined;
  const head = trailing ? "|" : "|-";
  return head + "\n" + lines.map((l) => (l === "" ? "" : indent + l)).join("\n");
}

function leaf(v: Json, indent: string): string | undefined {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new KarsError("INTERNAL", "cannot emit a non-finite number");
    return String(v);
  }
  if (typeof v === "string") {
    // YAML 1.1 readers (go-yaml v2 behind sigs.k8s.io/yaml) resolve 2024-06-01 as a timestamp.
    if (YAML11_TIMESTAMP.test(v)) return doubleQuoted(v);
    return literalBlock(v, indent) ?? scalar(v);
  }
  if (Array.isArray(v) && v.length === 0) return "[]";
  if (!Array.isArray(v) && Object.keys(v).length === 0) return "{}";
  return undefined;
}

function key(k: string): string {
  return scalar(k);
}

function emitMap(obj: { [k: string]: Json }, indent: string, out: string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const l = leaf(v, indent + "  ");
    if (l !== undefined) {
      out.push(`${indent}${key(k)}: ${l}`);
    } else if (Array.isArray(v)) {
      out.push(`${indent}${key(k)}:`);
      emitList(v, indent + "  ", out);
    } else {
      out.push(`${indent}${key(k)}:`);
      emitMap(v as { [k: string]: Json }, indent + "  ", out);
    }
  }
}

function emitList(list: Json[], indent: string, out: string[]): void {
  for (const item of list) {
    const l = leaf(item, indent + "  ");
    if (l !== undefined) {
      out.push(`${indent}- ${l}`);
    } else if (Array.isArray(item)) {
      out.push(`${indent}-`);
      emitList(item, indent + "  ", out);
    } else {
      const sub: string[] = [];
      emitMap(item as { [k: string]: Json }, indent + "  ", sub);
      sub[0] = `${indent}- ${sub[0].slice(indent.length + 2)}`;
      out.push(...sub);
    }
  }
}

/**
 * Emits one YAML document (a mapping) with a single trailing newline.
 *
 * @example
 * ```ts
 * import { emitYamlDocument } from "./emit.ts";
 * emitYamlDocument({ kind: "ToolPolicy", spec: { tools: ["a", "b"] } });
 * // "kind: ToolPolicy\nspec:\n  tools:\n    - a\n    - b\n"
 * ```
 */
export function emitYamlDocument(obj: { [k: string]: Json }): string {
  const out: string[] = [];
  emitMap(obj, "", out);
  return out.join("\n") + "\n";
}

/**
 * Emits a value as JSON with two-space indentation and a trailing newline.
 *
 * @example
 * ```ts
 * import { emitJson } from "./emit.ts";
 * emitJson({ a: 1 }); // "{\n  \"a\": 1\n}\n"
 * ```
 */
export function emitJson(v: Json): string {
  return JSON.stringify(v, null, 2) + "\n";
}
