/**
 * Reading kubeconfig files: one file parsed into its named clusters, users and contexts (with
 * the hardened YAML reader), several files merged by kubectl's rule (the first file that
 * defines a name wins, and the first `current-context`), and the files an entry refers to
 * (CA, client certificate and key) read relative to the file that names them.
 * `loadKubeConfig` (kubeconfig.ts) resolves a context from what this reads.
 *
 * @module
 */
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { isKarsError, KarsError } from "../errors.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import { fromBase64, fromUtf8 } from "../encoding/bytes.ts";

/**
 * One `cluster`, `user` or `context` entry as written (kebab-case keys), plus `__file`: the
 * file it came from, against which its relative paths resolve.
 */
// deno-lint-ignore no-explicit-any
export type KubeconfigEntry = Record<string, any>;

/** The named entries of one kubeconfig file (or of several, merged). */
export interface KubeconfigFile {
  /** The file's path (merged: the paths joined with the path delimiter). */
  path: string;
  /** `clusters`, by name. */
  clusters: Map<string, KubeconfigEntry>;
  /** `users`, by name. */
  users: Map<string, KubeconfigEntry>;
  /** `contexts`, by name. */
  contexts: Map<string, KubeconfigEntry>;
  /** `current-context`, when set. */
  currentContext?: string;
}

/**
 * Reads `path` with `read`; `undefined` when it does not exist, `KarsError("INPUT")` naming
 * it when it exists but cannot be read.
 *
 * @example
 * ```ts
 * import { readIfExists } from "./kubeconfig_file.ts";
 * const text = await readIfExists((p) => Deno.readTextFile(p), "/nonexistent/config");
 * text; // undefined
 * ```
 */
export async function readIfExists(
  read: (p: string) => Promise<string>,
  path: string,
): Promise<string | undefined> {
  try {
    return await read(path);
  } catch (e) {
    if (
      isKarsError(e, "NOT_FOUND") || (e as { code?: string })?.code === "ENOENT" ||
      e instanceof Error && /NotFound|ENOENT/.test(e.name + e.message)
    ) {
      return undefined;
    }
    throw new KarsError("INPUT", `cannot read kubeconfig ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function named(list: unknown, key: string, file: string): Map<string, KubeconfigEntry> {
  const m = new Map<string, KubeconfigEntry>();
  if (list == null) return m;
  if (!Array.isArray(list)) {
    throw new KarsError("INPUT", `kubeconfig ${file}: "${key}" must be a list`);
  }
  for (const [i, item] of list.entries()) {
    if (!item || typeof item !== "object" || typeof item.name !== "string" || !item.name) {
      throw new KarsError("INPUT", `kubeconfig ${file}: ${key}[${i}] has no name`);
    }
    const inner = key === "clusters" ? item.cluster : key === "users" ? item.user : item.context;
    if (!m.has(item.name)) m.set(item.name, { ...(inner ?? {}), __file: file });
  }
  return m;
}

/**
 * Parses one kubeconfig file (one YAML document; an empty file has no entries). Throws
 * `KarsError("INPUT")` naming the file for anything malformed.
 *
 * @example
 * ```ts
 * import { parseKubeconfigFile } from "./kubeconfig_file.ts";
 * const f = parseKubeconfigFile("current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c}\n", "/k");
 * f.currentContext; // "dev"
 * f.contexts.get("dev")?.cluster; // "c"
 * ```
 */
export function parseKubeconfigFile(text: string, path: string): KubeconfigFile {
  // The one hardened reader: size, depth, node and document limits, no custom tags.
  const docs = parseYamlDocuments(text, `kubeconfig ${path}`);
  if (docs.length > 1) {
    throw new KarsError(
      "INPUT",
      `kubeconfig ${path} holds ${docs.length} YAML documents; a kubeconfig is one document`,
    );
  }
  let doc: unknown = docs[0];
  if (doc == null) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new KarsError("INPUT", `kubeconfig ${path}: expected a mapping at the top level`);
  }
  const d = doc as KubeconfigEntry;
  return {
    path,
    clusters: named(d.clusters, "clusters", path),
    users: named(d.users, "users", path),
    contexts: named(d.contexts, "contexts", path),
    currentContext: typeof d["current-context"] === "string" && d["current-context"]
      ? d["current-context"]
      : undefined,
  };
}

/**
 * kubectl's merge: for each name the first file that defines it wins; same for
 * `current-context`.
 *
 * @example
 * ```ts
 * import { mergeKubeconfigFiles, parseKubeconfigFile } from "./kubeconfig_file.ts";
 * const a = parseKubeconfigFile("current-context: a\n", "/a");
 * const b = parseKubeconfigFile("current-context: b\n", "/b");
 * mergeKubeconfigFiles([a, b]).currentContext; // "a"
 * ```
 */
export function mergeKubeconfigFiles(files: KubeconfigFile[]): KubeconfigFile {
  const out: KubeconfigFile = {
    path: files.map((f) => f.path).join(delimiter),
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const f of files) {
    for (const k of ["clusters", "users", "contexts"] as const) {
      for (const [n, v] of f[k]) if (!out[k].has(n)) out[k].set(n, v);
    }
    if (out.currentContext === undefined && f.currentContext) out.currentContext = f.currentContext;
  }
  return out;
}

/**
 * A path written in kubeconfig `file`, resolved against that file's directory.
 *
 * @example
 * ```ts
 * import { resolveFrom } from "./kubeconfig_file.ts";
 * resolveFrom("/home/me/.kube/config", "ca.crt"); // "/home/me/.kube/ca.crt"
 * ```
 */
export function resolveFrom(file: string, p: string): string {
  return isAbsolute(p) ? p : join(dirname(file), p);
}

function decodeData(b64: string, what: string, file: string): string {
  try {
    return fromUtf8(fromBase64(b64.replace(/\s+/g, "")));
  } catch (e) {
    throw new KarsError("INPUT", `kubeconfig ${file}: ${what} is not valid base64 PEM`, {
      cause: e,
    });
  }
}

/**
 * The PEM an entry holds inline (`dataKey`, base64) or names as a file (`fileKey`, relative to
 * the entry's kubeconfig); `undefined` when it has neither. A named file that does not exist
 * is a `KarsError("INPUT")`.
 *
 * @example
 * ```ts
 * import { pemFromEntry } from "./kubeconfig_file.ts";
 * const entry = { "certificate-authority-data": btoa("PEM"), __file: "/k" };
 * await pemFromEntry(entry, "certificate-authority-data", "certificate-authority", Deno.readTextFile); // "PEM"
 * ```
 */
export async function pemFromEntry(
  entry: KubeconfigEntry,
  dataKey: string,
  fileKey: string,
  read: (p: string) => Promise<string>,
): Promise<string | undefined> {
  const file = entry.__file as string;
  if (typeof entry[dataKey] === "string" && entry[dataKey]) {
    return decodeData(entry[dataKey], dataKey, file);
  }
  if (typeof entry[fileKey] === "string" && entry[fileKey]) {
    const p = resolveFrom(file, entry[fileKey]);
    const t = await readIfExists(read, p);
    if (t === undefined) {
      throw new KarsError("INPUT", `kubeconfig ${file}: ${fileKey} ${p} does not exist`);
    }
    return t;
  }
  return undefined;
}
