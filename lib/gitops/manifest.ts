/**
 * The GitOps manifest (`--emit-manifest`, formats.md §7 and issue 2 §5): a complete
 * KarsSandbox document carrying only the fields the command changes, written by hand so it
 * is byte-stable (fixed key order, LF, one trailing newline, no trailing spaces, no
 * timestamps, no host data). And a reader for such a file (to find the previous allowlist
 * and for `verify --manifest`).
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { describeInput } from "../encoding/quote.ts";
import { utf8 } from "../encoding/bytes.ts";
import { type Digest, isDigest } from "../encoding/digest.ts";
import { canonicalizeEndpoints, type Endpoint } from "../allowlist/canonical.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../oci/artifact.ts";
import { parseRegistryHost } from "../oci/registry_host.ts";
import { doubleQuoted, scalar } from "../encoding/yaml_emit.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import { KARS_API_VERSION } from "../model/api.ts";
import { isDnsLabel, isDnsSubdomain, isRepositoryName } from "../model/names.ts";
import type { AllowlistRef } from "../model/sandbox.ts";

export type { AllowlistRef } from "../model/sandbox.ts";

/** Inputs of {@link emitGitopsManifest}. */
export interface GitopsManifestInput {
  /** KarsSandbox name. */
  name: string;
  /** Namespace; default `kars-<name>`. */
  namespace?: string;
  /** Signer identity shown in the header comment (no whitespace), e.g. `keyless:fulcio`. */
  signer: string;
  /** Registry host[:port]. */
  registry: string;
  /** Repository, e.g. `policy/egress-allowlist/my-agent`. */
  repository: string;
  /** Manifest digest. */
  digest: string;
  /** Set when the command changes the egress mode (`--enforce`). */
  egressMode?: "Strict" | "Learn";
  /** Set when `--approve`/`--deny` changed the inline list (canonical endpoints). */
  allowedEndpoints?: readonly Endpoint[];
  /**
   * An unsigned patch for local development: the header says so (and that authoritative mode
   * refuses it), and there is no GitOps header and no `applied-via-gitops` annotation.
   */
  unsigned?: boolean;
}

/** The header of an unsigned patch (no GitOps header, no marker annotation). */
export const UNSIGNED_HEADER = [
  "# UNSIGNED — for local development only; not a GitOps manifest: do not commit it.",
  "# The allowlist artifact carries no signature: verification reports",
  "# AllowlistVerified=False/Unsigned (False/SignerPolicyMissing when no SignerPolicy exists),",
  "# and the kars controller refuses it in authoritative mode.",
];

/** The marker annotation. */
export const GITOPS_ANNOTATION = "kars.io/applied-via-gitops";

// deno-lint-ignore no-control-regex
const BAD_CHARS = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/u;

/**
 * Checks a KarsSandbox name (DNS-1123 subdomain, at most 253 characters).
 *
 * @example
 * ```ts
 * import { validateSandboxName } from "./manifest.ts";
 * validateSandboxName("my-agent"); // ok; "My_Agent" throws KarsError("INPUT")
 * ```
 */
export function validateSandboxName(name: string): void {
  if (!isDnsSubdomain(name)) {
    throw new KarsError(
      "INPUT",
      `sandbox name ${
        describeInput(name)
      } is not a valid Kubernetes name (lowercase letters, digits, '-' and '.', at most 253 characters)`,
    );
  }
}

/**
 * Checks an `allowlistRef` the way the controller does, and stricter: registry a strict
 * `host[:port]` ({@link parseRegistryHost}: no userinfo, path or whitespace), repository a valid OCI repository name, digest `sha256:` + 64 lowercase
 * hex, artifactType the allowlist type. Throws `KarsError("INPUT")`.
 *
 * @example
 * ```ts
 * import { validateAllowlistRef } from "./manifest.ts";
 * validateAllowlistRef({ registry: "r.example", repository: "p/a", digest: "sha256:" + "0".repeat(64), artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" });
 * ```
 */
export function validateAllowlistRef(ref: {
  registry: unknown;
  repository: unknown;
  digest: unknown;
  artifactType?: unknown;
}): void {
  // Strict host[:port]: no userinfo, path, query, fragment, whitespace or numeric tricks.
  parseRegistryHost(ref.registry as string, "registry");
  const p = ref.repository;
  if (!isRepositoryName(p)) {
    throw new KarsError(
      "INPUT",
      `repository ${
        describeInput(p)
      } is not a valid OCI repository name (lowercase path components of [a-z0-9._-])`,
    );
  }
  if (!isDigest(ref.digest)) {
    throw new KarsError(
      "INPUT",
      `digest ${describeInput(ref.digest)} must be sha256: followed by 64 lowercase hex digits`,
    );
  }
  if (ref.artifactType !== undefined && ref.artifactType !== ALLOWLIST_MEDIA_TYPE) {
    throw new KarsError(
      "INPUT",
      `artifactType ${describeInput(ref.artifactType)} must be ${ALLOWLIST_MEDIA_TYPE}`,
    );
  }
}

/**
 * The default namespace of a sandbox: `kars-<name>`.
 *
 * @example
 * ```ts
 * import { defaultNamespace } from "./manifest.ts";
 * defaultNamespace("my-agent"); // "kars-my-agent"
 * ```
 */
export function defaultNamespace(name: string): string {
  return `kars-${name}`;
}

/**
 * Emits the GitOps manifest bytes exactly as formats.md §7, with `egressMode` and
 * `allowedEndpoints` (in that order, before `allowlistRef`) when given. Inputs are
 * validated as the controller would; bad input throws `KarsError("INPUT")`.
 *
 * @example
 * ```ts
 * import { emitGitopsManifest } from "./manifest.ts";
 * const bytes = emitGitopsManifest({
 *   name: "my-agent", signer: "keyless:fulcio", registry: "myacr.azurecr.io",
 *   repository: "policy/egress-allowlist/my-agent", digest: "sha256:" + "a".repeat(64),
 * });
 * ```
 */
export function emitGitopsManifest(input: GitopsManifestInput): Uint8Array {
  validateSandboxName(input.name);
  const namespace = input.namespace ?? defaultNamespace(input.name);
  if (!isDnsLabel(namespace)) {
    throw new KarsError(
      "INPUT",
      `namespace ${
        describeInput(namespace)
      } is not a valid Kubernetes namespace (DNS label, at most 63 characters); give a valid namespace`,
      { details: { option: "namespace" } },
    );
  }
  if (typeof input.signer !== "string" || input.signer === "" || BAD_CHARS.test(input.signer)) {
    throw new KarsError(
      "INPUT",
      `signer ${
        describeInput(input.signer)
      } must be non-empty and contain no whitespace or control characters`,
    );
  }
  validateAllowlistRef({
    registry: input.registry,
    repository: input.repository,
    digest: input.digest,
  });
  if (
    input.egressMode !== undefined && input.egressMode !== "Strict" && input.egressMode !== "Learn"
  ) {
    throw new KarsError(
      "INPUT",
      `egressMode ${describeInput(input.egressMode)} must be Strict or Learn`,
    );
  }
  const out: string[] = input.unsigned
    ? [
      `# kars egress allowlist — digest=${input.digest} signer=none`,
      ...UNSIGNED_HEADER,
      `apiVersion: ${KARS_API_VERSION}`,
      "kind: KarsSandbox",
      "metadata:",
      `  name: ${scalar(input.name)}`,
      `  namespace: ${scalar(namespace)}`,
    ]
    : [
      `# kars egress allowlist — digest=${input.digest} signer=${input.signer}`,
      "# Generated by 'kars egress … --emit-manifest'.",
      "# Commit this file unchanged; your GitOps controller applies it.",
      `apiVersion: ${KARS_API_VERSION}`,
      "kind: KarsSandbox",
      "metadata:",
      `  name: ${scalar(input.name)}`,
      `  namespace: ${scalar(namespace)}`,
      "  annotations:",
      `    ${GITOPS_ANNOTATION}: ${doubleQuoted("true")}`,
    ];
  out.push("spec:", "  networkPolicy:");
  if (input.egressMode) out.push(`    egressMode: ${input.egressMode}`);
  if (input.allowedEndpoints) {
    const eps = canonicalizeEndpoints(input.allowedEndpoints, { source: "allowedEndpoints" });
    if (eps.length === 0) out.push("    allowedEndpoints: []");
    else {
      out.push("    allowedEndpoints:");
      for (const e of eps) out.push(`      - host: ${scalar(e.host)}`, `        port: ${e.port}`);
    }
  }
  out.push(
    "    allowlistRef:",
    `      registry: ${scalar(input.registry)}`,
    `      repository: ${scalar(input.repository)}`,
    `      digest: ${input.digest}`,
    `      artifactType: ${ALLOWLIST_MEDIA_TYPE}`,
  );
  return utf8(out.join("\n") + "\n");
}

/** What {@link readGitopsManifest} returns. */
export interface GitopsManifest {
  /** Sandbox name. */
  name: string;
  /** Sandbox namespace (absent if the file has none). */
  namespace?: string;
  /** The allowlist reference. */
  allowlistRef: AllowlistRef;
  /** `spec.networkPolicy.egressMode` when present. */
  egressMode?: "Strict" | "Learn";
  /** Digest and signer from the header comment, when the header is present. */
  header?: { digest: string; signer: string };
}

/**
 * Reads an existing GitOps manifest (ours or hand-edited) and returns its sandbox identity
 * and `allowlistRef`, validated as the controller would. If the header comment names a
 * digest, it must equal `allowlistRef.digest`. Throws `KarsError("INPUT")` naming `source`.
 *
 * @example
 * ```ts
 * import { emitGitopsManifest, readGitopsManifest } from "./manifest.ts";
 * const bytes = emitGitopsManifest({ name: "a", signer: "s", registry: "r.example", repository: "p/a", digest: "sha256:" + "0".repeat(64) });
 * readGitopsManifest(bytes, "a.yaml").allowlistRef.repository; // "p/a"
 * ```
 */
export function readGitopsManifest(bytes: Uint8Array, source: string): GitopsManifest {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new KarsError("INPUT", `${source}: not valid UTF-8`);
  }
  const docs = parseYamlDocuments(text, source).filter((d) => d !== null && d !== undefined);
  const fail = (why: string): never => {
    throw new KarsError("INPUT", `${source}: ${why}`);
  };
  if (docs.length !== 1) fail(`expected exactly one YAML document, found ${docs.length}`);
  const d = docs[0] as Record<string, unknown>;
  if (!d || typeof d !== "object" || Array.isArray(d) || d.kind !== "KarsSandbox") {
    fail("not a KarsSandbox");
  }
  if (d.apiVersion !== KARS_API_VERSION) fail(`apiVersion must be ${KARS_API_VERSION}`);
  const md = d.metadata as Record<string, unknown> | undefined;
  if (!md || typeof md.name !== "string" || md.name === "") fail("missing metadata.name");
  if (md!.namespace !== undefined && typeof md!.namespace !== "string") {
    fail("metadata.namespace must be a string");
  }
  const np = ((d.spec as Record<string, unknown> | undefined)?.networkPolicy ?? undefined) as
    | Record<string, unknown>
    | undefined;
  const ref = np?.allowlistRef as Record<string, unknown> | undefined;
  if (!ref || typeof ref !== "object") fail("missing spec.networkPolicy.allowlistRef");
  try {
    validateAllowlistRef({
      registry: ref!.registry,
      repository: ref!.repository,
      digest: ref!.digest,
      artifactType: ref!.artifactType ?? null,
    });
  } catch (e) {
    fail(`spec.networkPolicy.allowlistRef: ${(e as Error).message}`);
  }
  const egressMode = np!.egressMode;
  if (egressMode !== undefined && egressMode !== "Strict" && egressMode !== "Learn") {
    fail("spec.networkPolicy.egressMode must be Strict or Learn");
  }
  const result: GitopsManifest = {
    name: md!.name as string,
    allowlistRef: {
      registry: ref!.registry as string,
      repository: ref!.repository as string,
      digest: ref!.digest as Digest,
      artifactType: ALLOWLIST_MEDIA_TYPE,
    },
  };
  if (typeof md!.namespace === "string") result.namespace = md!.namespace;
  if (egressMode) result.egressMode = egressMode as "Strict" | "Learn";
  // `\u2014` (the em dash): no literal non-ASCII in regular expressions, so that the standalone
  // binary's bundle stays ASCII (scripts/node_sea.ts).
  const hm = /^# kars egress allowlist \u2014 digest=(\S+) signer=(\S+)$/m.exec(text);
  if (hm) {
    result.header = { digest: hm[1], signer: hm[2] };
    if (hm[1] !== result.allowlistRef.digest) {
      fail(
        `header comment digest ${
          hm[1]
        } differs from allowlistRef.digest ${result.allowlistRef.digest} (was the file edited by hand?)`,
      );
    }
  }
  return result;
}
