/**
 * A small subset of CEL (the Common Expression Language of `x-kubernetes-validations`), enough
 * for the rules in the kars CRDs: literals (int, double, string, bool, null, lists), field
 * selection, `has()`, `! && || ?:`, comparisons, `in`, `+ - * / %`, `size()`/`.size()`,
 * `.contains() .startsWith() .endsWith()`, and the macros `all`, `exists`, `exists_one`.
 *
 * A rule that uses anything else does not parse ({@link compileCel} returns an error string), and
 * the validator reports it as unchecked rather than guessing. Evaluation errors (a missing field
 * without `has()`, a type mismatch) are returned as errors, as the API server reports them.
 * Bounded: expressions over 4,096 characters or nested deeper than 64 are refused.
 *
 * @module
 */

import {
  bool,
  CelError,
  cmp,
  eq,
  isMap,
  MAX_DEPTH,
  MAX_LEN,
  type Node,
  size,
  type Tok,
  tokenize,
} from "./cel_values.ts";

/** A compiled expression. */
export type CelProgram = (self: unknown) => unknown;

class Parser {
  #i = 0;
  #depth = 0;
  constructor(readonly toks: Tok[]) {}
  peek(v?: string): boolean {
    const t = this.toks[this.#i];
    return t !== undefined && (v === undefined || (t.t === "op" || t.t === "id") && t.v === v);
  }
  take(v: string): void {
    if (!this.peek(v)) throw new CelError(`expected ${v}`);
    this.#i++;
  }
  done(): boolean {
    return this.#i >= this.toks.length;
  }
  expr(): Node {
    if (++this.#depth > MAX_DEPTH) throw new CelError("expression nested too deeply");
    try {
      const c = this.or();
      if (this.peek("?")) {
        this.take("?");
        const a = this.expr();
        this.take(":");
        const b = this.expr();
        return (env) => (bool(c(env), "?:") ? a(env) : b(env));
      }
      return c;
    } finally {
      this.#depth--;
    }
  }
  or(): Node {
    let l = this.and();
    while (this.peek("||")) {
      this.take("||");
      const a = l;
      const r = this.and();
      l = (env) => bool(a(env), "||") || bool(r(env), "||");
    }
    return l;
  }
  and(): Node {
    let l = this.rel();
    while (this.peek("&&")) {
      this.take("&&");
      const a = l;
      const r = this.rel();
      l = (env) => bool(a(env), "&&") && bool(r(env), "&&");
    }
    return l;
  }
  rel(): Node {
    let l = this.add();
    for (;;) {
      const op = ["==", "!=", "<=", ">=", "<", ">", "in"].find((o) => this.peek(o));
      if (!op) return l;
      this.take(op);
      const a = l;
      const r = this.add();
      l = (env) => {
        const x = a(env);
        const y = r(env);
        if (op === "==") return eq(x, y);
        if (op === "!=") return !eq(x, y);
        if (op === "in") {
          if (Array.isArray(y)) return y.some((e) => eq(e, x));
          if (isMap(y)) return typeof x === "string" && x in y;
          throw new CelError("in: right side is not a list or map");
        }
        return cmp(x, y, op);
      };
    }
  }
  add(): Node {
    let l = this.mul();
    for (;;) {
      const op = ["+", "-"].find((o) => this.peek(o));
      if (!op) return l;
      this.take(op);
      const a = l;
      const r = this.mul();
      l = (env) => {
        const x = a(env);
        const y = r(env);
        if (op === "+" && typeof x === "string" && typeof y === "string") return x + y;
        if (op === "+" && Array.isArray(x) && Array.isArray(y)) return [...x, ...y];
        if (typeof x !== "number" || typeof y !== "number") {
          throw new CelError(`no such overload: ${op}`);
        }
        return op === "+" ? x + y : x - y;
      };
    }
  }
  mul(): Node {
    let l = this.unary();
    for (;;) {
      const op = ["*", "/", "%"].find((o) => this.peek(o));
      if (!op) return l;
      this.take(op);
      const a = l;
      const r = this.unary();
      l = (env) => {
        const x = a(env);
        const y = r(env);
        if (typeof x !== "number" || typeof y !== "number") {
          throw new CelError(`no such overload: ${op}`);
        }
        if ((op === "/" || op === "%") && y === 0) throw new CelError("division by zero");
        return op === "*"
          ? x * y
          : op === "/"
          ? (Number.isInteger(x) && Number.isInteger(y) ? Math.trunc(x / y) : x / y)
          : x % y;
      };
    }
  }
  unary(): Node {
    if (this.peek("!")) {
      this.take("!");
      const e = this.unary();
      return (env) => !bool(e(env), "!");
    }
    if (this.peek("-")) {
      this.take("-");
      const e = this.unary();
      return (env) => {
        const v = e(env);
        if (typeof v !== "number") throw new CelError("no such overload: -");
        return -v;
      };
    }
    return this.member();
  }
  member(): Node {
    let n = this.primary();
    for (;;) {
      if (this.peek(".")) {
        this.take(".");
        const t = this.toks[this.#i++];
        if (!t || t.t !== "id") throw new CelError("expected a field name after .");
        const name = t.v;
        if (this.peek("(")) {
          n = this.method(n, name);
          continue;
        }
        const base = n;
        n = (env) => {
          const v = base(env);
          if (!isMap(v)) throw new CelError(`no such key: ${name}`);
          if (!(name in v)) throw new CelError(`no such key: ${name}`);
          return v[name];
        };
      } else if (this.peek("[")) {
        this.take("[");
        const idx = this.expr();
        this.take("]");
        const base = n;
        n = (env) => {
          const v = base(env);
          const k = idx(env);
          if (Array.isArray(v) && typeof k === "number") {
            if (k < 0 || k >= v.length) throw new CelError("index out of range");
            return v[k];
          }
          if (isMap(v) && typeof k === "string" && k in v) return v[k];
          throw new CelError("no such key");
        };
      } else return n;
    }
  }
  args(): Node[] {
    this.take("(");
    const out: Node[] = [];
    if (!this.peek(")")) {
      out.push(this.expr());
      while (this.peek(",")) {
        this.take(",");
        out.push(this.expr());
      }
    }
    this.take(")");
    return out;
  }
  method(base: Node, name: string): Node {
    if (name === "all" || name === "exists" || name === "exists_one") {
      this.take("(");
      const t = this.toks[this.#i++];
      if (!t || t.t !== "id") throw new CelError(`${name}: expected a variable`);
      this.take(",");
      const body = this.expr();
      this.take(")");
      const v = t.v;
      return (env) => {
        const target = base(env);
        const elems = Array.isArray(target)
          ? target
          : isMap(target)
          ? Object.keys(target)
          : undefined;
        if (!elems) throw new CelError(`${name}: not a list or map`);
        let n = 0;
        for (const e of elems) {
          const inner = new Map(env);
          inner.set(v, e);
          const r = bool(body(inner), name);
          if (name === "all" && !r) return false;
          if (name === "exists" && r) return true;
          if (r) n++;
        }
        return name === "all" ? true : name === "exists" ? false : n === 1;
      };
    }
    const args = this.args();
    const arity = (n: number) => {
      if (args.length !== n) throw new CelError(`${name}() takes ${n} argument(s)`);
    };
    switch (name) {
      case "size":
        arity(0);
        return (env) => size(base(env));
      case "contains":
      case "startsWith":
      case "endsWith": {
        arity(1);
        const a = args[0];
        return (env) => {
          const s = base(env);
          const x = a(env);
          if (typeof s !== "string" || typeof x !== "string") {
            throw new CelError(`no such overload: ${name}`);
          }
          return name === "contains"
            ? s.includes(x)
            : name === "startsWith"
            ? s.startsWith(x)
            : s.endsWith(x);
        };
      }
    }
    throw new CelError(`unsupported function ${name}()`);
  }
  primary(): Node {
    const t = this.toks[this.#i++];
    if (!t) throw new CelError("unexpected end of expression");
    if (t.t === "num") {
      const v = Number(t.v.replace(/u$/, ""));
      return () => v;
    }
    if (t.t === "str") return () => t.v;
    if (t.t === "op" && t.v === "(") {
      const e = this.expr();
      this.take(")");
      return e;
    }
    if (t.t === "op" && t.v === "[") {
      const items: Node[] = [];
      if (!this.peek("]")) {
        items.push(this.expr());
        while (this.peek(",")) {
          this.take(",");
          items.push(this.expr());
        }
      }
      this.take("]");
      return (env) => items.map((i) => i(env));
    }
    if (t.t === "id") {
      if (t.v === "true") return () => true;
      if (t.v === "false") return () => false;
      if (t.v === "null") return () => null;
      if (t.v === "has") {
        this.take("(");
        const start = this.#i;
        this.member();
        const end = this.#i;
        this.take(")");
        return this.hasNode(start, end);
      }
      if (t.v === "size") {
        const a = this.args();
        if (a.length !== 1) throw new CelError("size() takes 1 argument");
        return (env) => size(a[0](env));
      }
      if (this.peek("(")) throw new CelError(`unsupported function ${t.v}()`);
      const name = t.v;
      return (env) => {
        if (!env.has(name)) throw new CelError(`undeclared reference ${name}`);
        return env.get(name);
      };
    }
    throw new CelError(`unexpected ${JSON.stringify(t.v)}`);
  }
  /** `has(a.b)`: evaluates `a` (tokens start..end-2), then tests for key `b` (token end-1). */
  hasNode(start: number, end: number): Node {
    const field = this.toks[end - 1];
    const dot = this.toks[end - 2];
    if (end - start < 3 || field.t !== "id" || dot.t !== "op" || dot.v !== ".") {
      throw new CelError("has() needs a field selection");
    }
    const operand = new Parser(this.toks.slice(start, end - 2));
    const base = operand.member();
    if (!operand.done()) throw new CelError("has() needs a field selection");
    const name = field.v;
    return (env) => {
      const v = base(env);
      if (!isMap(v)) throw new CelError("has(): not a map");
      return name in v;
    };
  }
}

/**
 * Compiles a CEL rule; returns the program, or an error string when the rule uses syntax
 * outside the supported subset.
 *
 * @example
 * ```ts
 * import { compileCel } from "./cel.ts";
 * const p = compileCel("!has(self.a) || self.a.size() <= 8");
 * typeof p === "function" && p({ a: [1, 2] }); // true
 * ```
 */
export function compileCel(rule: string): CelProgram | string {
  if (rule.length > MAX_LEN) return `rule longer than ${MAX_LEN} characters`;
  try {
    const p = new Parser(tokenize(rule));
    const node = p.expr();
    if (!p.done()) return "trailing tokens";
    return (self: unknown) => node(new Map([["self", self]]));
  } catch (e) {
    if (e instanceof CelError) return e.message;
    throw e;
  }
}

/**
 * Runs a compiled rule: `{ ok: true, value }` or `{ ok: false, error }` for an evaluation error.
 *
 * @example
 * ```ts
 * import { compileCel, runCel } from "./cel.ts";
 * const p = compileCel("self.x > 1");
 * if (typeof p === "function") runCel(p, {}); // { ok: false, error: "no such key: x" }
 * ```
 */
export function runCel(
  p: CelProgram,
  self: unknown,
): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: p(self) };
  } catch (e) {
    if (e instanceof CelError) return { ok: false, error: e.message };
    throw e;
  }
}
