/**
 * KarsSandbox input (formats.md §1): choosing the document from a multi-document file and
 * reading its `spec.networkPolicy`, with errors that name the file, the document and the fix.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { describeInput, sanitizeMessage } from "../encoding/quote.ts";
import { KARS_API_VERSION } from "./api.ts";
import type { AllowlistRefInput, KarsSandbox } from "./sandbox.ts";

export { KARS_API_VERSION } from "./api.ts";
export type { KarsSandbox } from "./sandbox.ts";

/** A raw allowlist entry as found in the sandbox (types checked by canonicalizeEndpoints). */
export interface RawEndpoint {
  /** Host as written. */
  host?: unknown;
  /** Port as written (absent means 443). */
  port?: unknown;
}

/** The network policy of a sandbox, with defaults applied. */
export interface NetworkPolicy {
  /** Default true. */
  defaultDeny: boolean;
  /** Default `Learn`. */
  egressMode: "Strict" | "Learn";
  /** The inline entries, as written. */
  allowedEndpoints: RawEndpoint[];
  /** The signed allowlist reference, when set (fields as written; validate before use). */
  allowlistRef?: AllowlistRefInput;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function label(s: KarsSandbox): string {
  return safe(
    s.metadata.namespace ? `${s.metadata.namespace}/${s.metadata.name}` : s.metadata.name,
  );
}

/** Untrusted text shown unquoted: control characters escaped, at most 100 characters. */
function safe(s: string): string {
  return sanitizeMessage(s, 100);
}

/**
 * Reads and checks `spec.networkPolicy`, applying defaults. Throws `KarsError("INPUT")`
 * for a malformed policy (not a mapping, `allowedEndpoints` not a list or with non-mapping
 * entries, bad `defaultDeny`/`egressMode`, malformed `allowlistRef`). Host and port values
 * are checked later, all at once, by `canonicalizeEndpoints`.
 *
 * @example
 * ```ts
 * import { readNetworkPolicy } from "./sandbox_read.ts";
 * readNetworkPolicy({ apiVersion: "kars.azure.com/v1alpha1", kind: "KarsSandbox", metadata: { name: "a" } });
 * // { defaultDeny: true, egressMode: "Learn", allowedEndpoints: [] }
 * ```
 */
export function readNetworkPolicy(sb: KarsSandbox, source = "sandbox"): NetworkPolicy {
  const where = `${source}: KarsSandbox ${sb.metadata?.name ?? "?"}: spec.networkPolicy`;
  const fail = (why: string): never => {
    throw new KarsError("INPUT", `${where}${why}`);
  };
  if (sb.spec !== undefined && sb.spec !== null && !isMap(sb.spec)) {
    fail(" (spec) must be a mapping");
  }
  const np = sb.spec?.networkPolicy;
  const out: NetworkPolicy = { defaultDeny: true, egressMode: "Learn", allowedEndpoints: [] };
  if (np === undefined || np === null) return out;
  if (!isMap(np)) return fail(" must be a mapping");
  if (np.defaultDeny !== undefined) {
    if (typeof np.defaultDeny !== "boolean") fail(".defaultDeny must be true or false");
    out.defaultDeny = np.defaultDeny as boolean;
  }
  if (np.egressMode !== undefined) {
    if (np.egressMode !== "Strict" && np.egressMode !== "Learn") {
      fail(`.egressMode must be Strict or Learn, got ${describeInput(np.egressMode)}`);
    }
    out.egressMode = np.egressMode as "Strict" | "Learn";
  }
  if (np.allowedEndpoints !== undefined && np.allowedEndpoints !== null) {
    if (!Array.isArray(np.allowedEndpoints)) {
      fail(".allowedEndpoints must be a list of {host, port?}");
    }
    const list = np.allowedEndpoints as unknown[];
    list.forEach((e, i) => {
      if (!isMap(e)) {
        fail(`.allowedEndpoints[${i}] must be a mapping {host, port?}, got ${describeInput(e)}`);
      }
    });
    out.allowedEndpoints = list as RawEndpoint[];
  }
  if (np.allowlistRef !== undefined && np.allowlistRef !== null) {
    const r = np.allowlistRef;
    if (!isMap(r)) return fail(".allowlistRef must be a mapping");
    for (const k of ["registry", "repository", "digest", "artifactType"]) {
      if (typeof r[k] !== "string") fail(`.allowlistRef.${k} must be a string`);
    }
    out.allowlistRef = {
      registry: r.registry as string,
      repository: r.repository as string,
      digest: r.digest as string,
      artifactType: r.artifactType as string,
    };
  }
  return out;
}

/**
 * Picks the one KarsSandbox from parsed documents by name and namespace (both optional; a
 * document without a namespace matches any namespace), then checks its network policy.
 * Errors (`KarsError`): `INPUT` for a KarsSandbox with the wrong apiVersion or no name, a
 * malformed policy, or several matches; `NOT_FOUND` when nothing matches.
 *
 * @example
 * ```ts
 * import { selectSandbox } from "./sandbox_read.ts";
 * const docs = [{ apiVersion: "kars.azure.com/v1alpha1", kind: "KarsSandbox", metadata: { name: "a" } }];
 * selectSandbox(docs, { name: "a" }, "in.yaml").metadata.name; // "a"
 * ```
 */
export function selectSandbox(
  docs: readonly unknown[],
  want: { name?: string; namespace?: string },
  source: string,
): KarsSandbox {
  const kinds: string[] = [];
  const found: KarsSandbox[] = [];
  docs.forEach((d, i) => {
    if (d === null || d === undefined) return;
    const at = docs.length > 1 ? `${source}: document ${i + 1}` : source;
    if (!isMap(d)) {
      kinds.push(Array.isArray(d) ? "a list" : typeof d);
      return;
    }
    if (d.kind !== "KarsSandbox") {
      kinds.push(typeof d.kind === "string" ? safe(d.kind) : "a document without kind");
      return;
    }
    const md = d.metadata;
    if (!isMap(md) || typeof md.name !== "string" || md.name === "") {
      throw new KarsError("INPUT", `${at}: KarsSandbox has no metadata.name`);
    }
    if (md.namespace !== undefined && typeof md.namespace !== "string") {
      throw new KarsError(
        "INPUT",
        `${at}: KarsSandbox ${safe(md.name)}: metadata.namespace must be a string`,
      );
    }
    const nameOk = want.name === undefined || md.name === want.name;
    const nsOk = want.namespace === undefined || md.namespace === undefined ||
      md.namespace === want.namespace;
    if (!nameOk || !nsOk) {
      kinds.push(`KarsSandbox ${label(d as KarsSandbox)}`);
      return;
    }
    if (d.apiVersion !== KARS_API_VERSION) {
      throw new KarsError(
        "INPUT",
        `${at}: KarsSandbox ${safe(md.name)} has apiVersion ${
          describeInput(d.apiVersion)
        }; ${KARS_API_VERSION} is required`,
      );
    }
    found.push(d as KarsSandbox);
  });
  const wanted = `${want.namespace ? `${want.namespace}/` : ""}${want.name ?? "(any name)"}`;
  if (found.length === 0) {
    const distinct = [...new Set(kinds)];
    const more = distinct.length > 10 ? `, … ${distinct.length - 10} more` : "";
    const seen = kinds.length
      ? ` (found: ${distinct.slice(0, 10).join(", ")}${more})`
      : " (the input is empty)";
    if (!kinds.some((k) => k.startsWith("KarsSandbox"))) {
      throw new KarsError(
        "INPUT",
        `${source}: not a KarsSandbox: no document has kind KarsSandbox${seen}`,
      );
    }
    throw new KarsError("NOT_FOUND", `${source}: no KarsSandbox ${wanted}${seen}`);
  }
  if (found.length > 1) {
    throw new KarsError(
      "INPUT",
      `${source}: ${found.length} KarsSandbox documents match ${wanted} (${
        found.map(label).join(", ")
      }); name one (and its namespace)`,
      { details: { fixOptions: ["namespace"] } },
    );
  }
  readNetworkPolicy(found[0], source);
  return found[0];
}
