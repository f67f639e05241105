/**
 * Shared pieces of the kagent translation: the typed input envelope, findings (warnings and
 * notes), input errors that name the document and field, and small readers for untyped YAML.
 *
 * @module
 */
import { KarsError } from "../../errors.ts";
import type { Json } from "../emit.ts";

/** kagent API version this translator reads. */
export const KAGENT_API_VERSION = "kagent.dev/v1alpha2";
/** API version of what it writes. */
export { KARS_API_VERSION } from "../../model/api.ts";
/** Label put on a migrated KarsSandbox so its ToolPolicies can select it. */
export const SANDBOX_LABEL = "kars.io/sandbox";

/** A mapping read from YAML: keys are known, values are not yet checked. */
export type Obj = { [k: string]: unknown };

/** The kagent kinds read. */
export type KagentKind = "Agent" | "SandboxAgent" | "ModelConfig" | "RemoteMCPServer";

/** One kagent input document. */
export interface Doc {
  /** 1-based position in the input. */
  index: number;
  kind: KagentKind;
  name: string;
  namespace?: string;
  /** The whole object (apiVersion, kind, metadata, spec, status). */
  obj: Obj;
}

/** A warning (data dropped) or a note (informational), tied to a field path. */
export interface Finding {
  /** `<Kind>/<name> <field path>`, e.g. `Agent/my-agent spec.declarative.memory`. */
  path: string;
  /** What was dropped, or what the note says. */
  message: string;
}

/** An endpoint candidate for the allowlist and where it came from. */
export interface Candidate {
  host: string;
  port: number;
  from: string;
}

/** Checks `v` is a mapping. */
export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Describes a value's type for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `a ${typeof v}`;
}

/** A deep JSON copy. */
export function copyJson(v: unknown): Json {
  return JSON.parse(JSON.stringify(v ?? null)) as Json;
}

/** Collects findings (each reported once) and raises input errors. */
export class Run {
  /** Dropped data. */
  warnings: Finding[] = [];
  /** Informational. */
  notes: Finding[] = [];
  #seen = new Set<string>();
  constructor(readonly source: string) {}
  /** Reports dropped data (makes the run lossy). */
  warn(path: string, message: string): void {
    if (this.#once("!", path, message)) this.warnings.push({ path, message });
  }
  /** Reports something informational. */
  note(path: string, message: string): void {
    if (this.#once("i", path, message)) this.notes.push({ path, message });
  }
  /** A finding about a shared object (one RemoteMCPServer used by two agents) is reported once. */
  #once(kind: string, path: string, message: string): boolean {
    const k = `${kind}\u0000${path}\u0000${message}`;
    if (this.#seen.has(k)) return false;
    this.#seen.add(k);
    return true;
  }
  /** Throws `KarsError("INPUT")` naming the document and field. */
  bad(d: Doc | number, field: string, what: string, extra?: Record<string, unknown>): never {
    const doc = typeof d === "number"
      ? `document ${d}`
      : `document ${d.index} (${d.kind}/${d.name})`;
    throw new KarsError(
      "INPUT",
      `${this.source} ${doc}: ${field ? `${field}: ` : ""}${what}`,
      { details: { document: typeof d === "number" ? d : d.index, field, ...extra } },
    );
  }
  /** Reads a mapping (or `undefined`), else an input error. */
  obj(d: Doc, field: string, v: unknown): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) this.bad(d, field, `expected a mapping, got ${describe(v)}`);
    return v;
  }
  /** Reads a string (or `undefined`), else an input error. */
  str(d: Doc, field: string, v: unknown): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.bad(d, field, `expected a string, got ${describe(v)}`);
    return v;
  }
  /** Reads a list of strings (or `undefined`), else an input error. */
  strings(d: Doc, field: string, v: unknown): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      this.bad(d, field, "expected a list of strings");
    }
    return v as string[];
  }
  /** Reads a list (or `undefined`), else an input error. */
  list(d: Doc, field: string, v: unknown): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.bad(d, field, `expected a list, got ${describe(v)}`);
    return v;
  }
  /** Warns about every key of `obj` not in `known`. */
  checkKeys(path: string, obj: Obj, known: readonly string[], what: string): void {
    for (const k of Object.keys(obj)) {
      if (!known.includes(k)) this.warn(`${path}.${k}`, `dropped (${what} has no equivalent)`);
    }
  }
}
