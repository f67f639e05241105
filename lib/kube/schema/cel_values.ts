/**
 * The lexer and value semantics of the CEL subset in `cel.ts`: tokens, equality, `size()`,
 * ordering, and the error type evaluation raises.
 *
 * @module
 */

/** A token: number, string, identifier or operator. */
export type Tok = { t: "num" | "str" | "id" | "op"; v: string };

/** Longest rule compiled. */
export const MAX_LEN = 4096;
/** Deepest nesting parsed. */
export const MAX_DEPTH = 64;

/** An unsupported construct (at compile time) or an evaluation error. */
export class CelError extends Error {}

/**
 * Splits a rule into tokens.
 *
 * @example
 * ```ts
 * import { tokenize } from "./cel_values.ts";
 * tokenize("self.a > 1").length; // 5
 * ```
 */
export function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const ops = [
    "&&",
    "||",
    "==",
    "!=",
    "<=",
    ">=",
    "!",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "(",
    ")",
    "[",
    "]",
    ".",
    ",",
    "?",
    ":",
  ];
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?u?/.exec(src.slice(i))!;
      out.push({ t: "num", v: m[0] });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: "id", v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      let s = "";
      let j = i + 1;
      for (; j < src.length && src[j] !== c; j++) {
        if (src[j] === "\\") {
          const n = src[++j];
          const esc: Record<string, string> = {
            n: "\n",
            t: "\t",
            r: "\r",
            "\\": "\\",
            "'": "'",
            '"': '"',
          };
          if (!(n in esc)) throw new CelError(`unsupported escape \\${n}`);
          s += esc[n];
        } else s += src[j];
      }
      if (j >= src.length) throw new CelError("unterminated string");
      out.push({ t: "str", v: s });
      i = j + 1;
      continue;
    }
    const op = ops.find((o) => src.startsWith(o, i));
    if (!op) throw new CelError(`unexpected character ${JSON.stringify(c)}`);
    out.push({ t: "op", v: op });
    i += op.length;
  }
  return out;
}

/** Variable bindings (`self`, macro variables). */
export type Env = Map<string, unknown>;
/** A compiled sub-expression. */
export type Node = (env: Env) => unknown;

/** Whether `v` is a CEL map (a plain object). */
export function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** CEL equality (deep for lists and maps). */
export function eq(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => eq(x, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && eq(a[k], b[k]));
  }
  return a === b;
}

/** The value as a bool, or an evaluation error. */
export function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new CelError(`${what}: expected a bool`);
  return v;
}

/** `size()` of a string (code points), list or map. */
export function size(v: unknown): number {
  if (typeof v === "string") return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new CelError("size() of a value without a size");
}

/** Ordering of two numbers or two strings. */
export function cmp(a: unknown, b: unknown, op: string): boolean {
  const ok = (typeof a === "number" && typeof b === "number") ||
    (typeof a === "string" && typeof b === "string");
  if (!ok) throw new CelError(`no such overload: ${op} on ${typeof a} and ${typeof b}`);
  const x = a as number | string;
  const y = b as number | string;
  return op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
}
