/**
 * The KarsSandbox as this tool sees it, from a file or from the cluster, and the values it
 * carries: endpoints and the signed `allowlistRef` (formats.md §1, §7).
 *
 * @module
 */
import type { Digest } from "../encoding/digest.ts";

/** One canonical allowlist endpoint. */
export interface Endpoint {
  /** Canonical host (lowercase ASCII, punycode, or dotted-quad IPv4). */
  host: string;
  /** Port, 1–65535. */
  port: number;
}

/** One `allowedEndpoints` entry as written to a KarsSandbox (port 443 when absent). */
export interface EndpointEntry {
  /** Host name or IPv4 address. */
  host: string;
  /** Port; 443 when absent. */
  port?: number;
}

/**
 * `spec.networkPolicy.allowlistRef` as written (strings, not yet checked; see
 * `validateAllowlistRef`).
 */
export interface AllowlistRefInput {
  /** Registry host[:port]. */
  registry: string;
  /** Repository path, e.g. `policy/egress-allowlist/my-agent`. */
  repository: string;
  /** Manifest digest. */
  digest: string;
  /** Artifact type; must be the allowlist type. */
  artifactType: string;
}

/** A checked `allowlistRef`: the signed allowlist artifact a KarsSandbox points at. */
export interface AllowlistRef extends AllowlistRefInput {
  /** Manifest digest of the allowlist artifact, `sha256:` + 64 lowercase hex. */
  digest: Digest;
}

/** KarsSandbox `metadata` (only the fields used here are typed; the rest passes through). */
export interface SandboxMetadata {
  /** Object name. */
  name: string;
  /** Namespace (a file may omit it). */
  namespace?: string;
  /** Set by the API server; guards patches. */
  resourceVersion?: string;
  /** Set by the API server. */
  generation?: number;
  /** Anything else, kept as read. */
  [k: string]: unknown;
}

/**
 * A KarsSandbox as read from a file: only the fields used here are typed, the rest passes
 * through; `spec.networkPolicy` is checked by `readNetworkPolicy`.
 */
export interface KarsSandbox {
  /** Always `kars.azure.com/v1alpha1` once selected. */
  apiVersion: string;
  /** Always `KarsSandbox`. */
  kind: "KarsSandbox";
  /** Object metadata. */
  metadata: SandboxMetadata;
  /** Spec (only `networkPolicy` is read). */
  spec?: { networkPolicy?: Record<string, unknown>; [k: string]: unknown };
  /** Anything else the document holds (`status`, …), kept as read. */
  [k: string]: unknown;
}

/**
 * A KarsSandbox as read from the API server: the same shape, narrowed by the check made on
 * the answer (`kind` is `KarsSandbox`, `metadata.name` and `metadata.namespace` are strings).
 * Its `spec.networkPolicy` is read with `readNetworkPolicy`, exactly as a file's.
 */
export interface LiveSandbox extends KarsSandbox {
  /** Object metadata; `namespace` is always set by the API server. */
  metadata: SandboxMetadata & { namespace: string };
}

/**
 * True when `v` has the shape of a live KarsSandbox (the narrowing behind {@link LiveSandbox}).
 *
 * @example
 * ```ts
 * import { isLiveSandbox } from "./sandbox.ts";
 * isLiveSandbox({ kind: "KarsSandbox", apiVersion: "kars.azure.com/v1alpha1", metadata: { name: "a", namespace: "n" } }); // true
 * isLiveSandbox({ kind: "KarsSandbox", metadata: { name: "a" } }); // false
 * ```
 */
export function isLiveSandbox(v: unknown): v is LiveSandbox {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const md = o.metadata as Record<string, unknown> | undefined;
  return o.kind === "KarsSandbox" && !!md && typeof md === "object" &&
    typeof md.name === "string" && md.name !== "" && typeof md.namespace === "string" &&
    (o.spec === undefined || (!!o.spec && typeof o.spec === "object" && !Array.isArray(o.spec)));
}

/**
 * The sandbox's `spec.networkPolicy.allowlistRef` as written (an object, its strings not yet
 * checked: a verifier's preflight validates them), or `undefined` when there is none.
 *
 * @example
 * ```ts
 * import { rawAllowlistRef } from "./sandbox.ts";
 * rawAllowlistRef({ apiVersion: "kars.azure.com/v1alpha1", kind: "KarsSandbox", metadata: { name: "a" } }); // undefined
 * ```
 */
export function rawAllowlistRef(sb: KarsSandbox): AllowlistRefInput | undefined {
  const ref = sb.spec?.networkPolicy?.allowlistRef;
  return ref && typeof ref === "object" && !Array.isArray(ref)
    ? ref as AllowlistRefInput
    : undefined;
}
