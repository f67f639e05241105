/**
 * The previous allowlist of a sandbox: read to choose the next generation and to diff against.
 * It is named by the sandbox's `allowlistRef`, else by the GitOps manifest about to be replaced.
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { type Allowlist, parseCanonicalAllowlist } from "../allowlist/canonical.ts";
import type { Digest } from "../encoding/digest.ts";
import { isKarsError, KarsError } from "../errors.ts";
import { type AllowlistRef, readGitopsManifest } from "../gitops/manifest.ts";
import { parseAllowlistManifest } from "../oci/artifact.ts";
import type { Target } from "../oci/types.ts";
import type { EgressTarget } from "./plan.ts";

/** Inputs of {@link readPrevious}. */
export interface ReadPreviousOptions {
  /** The sandbox's `allowlistRef`, if it has one. */
  fromSandbox?: AllowlistRef;
  /** The GitOps manifest path about to be written (its `allowlistRef` is the fallback). */
  manifestPath?: string;
  /**
   * The target of this run: a ref to its `refRegistry` is read from it (an OCI layout, or the
   * run's own repository, so that the run's read cache sees the read).
   */
  target?: EgressTarget;
  /** The repository of this run (with `target`). */
  repository?: string;
  /** Opens another registry; absent: nothing is read (offline). */
  open?: (ref: AllowlistRef) => Target;
  /** Warnings. */
  warn: (line: string) => void;
  /**
   * Called when the previous allowlist is about to be read from a target (`inRun`: through the
   * run's own target), so that the caller can start independent work while it is read.
   */
  onRead?: (ref: AllowlistRef, inRun: boolean) => void;
}

/**
 * Reads the previous allowlist, or `undefined` when there is none (or it cannot be known:
 * offline, or in an unnamed OCI layout — with a warning). A ref that cannot be read is an error
 * (`REGISTRY`, or `TRANSIENT`) with `details.fixOptions: ["generation"]`.
 *
 * @example
 * ```ts
 * import { readPrevious } from "./previous.ts";
 * await readPrevious({ warn: console.warn }); // undefined: nothing names a previous allowlist
 * ```
 */
export async function readPrevious(
  opts: ReadPreviousOptions,
): Promise<{ allowlist: Allowlist; digest: Digest } | undefined> {
  const { warn } = opts;
  let ref = opts.fromSandbox;
  let source = "the sandbox's allowlistRef";
  if (!ref && opts.manifestPath) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readFileBounded(opts.manifestPath);
    } catch {
      bytes = undefined;
    }
    if (bytes) {
      try {
        ref = readGitopsManifest(bytes, opts.manifestPath).allowlistRef;
        source = opts.manifestPath;
      } catch (e) {
        // Replaced anyway (force); its generation cannot be carried over.
        warn(
          `${e instanceof Error ? e.message : String(e)}; not using it to choose the generation`,
        );
      }
    }
  }
  if (!ref) return undefined;
  // The previous allowlist lives where the ref says; with an OCI layout, in the layout. In the
  // run's own repository it is read through the run's target (whose read cache the push and
  // the own-signature lookup then share).
  const inLayout = opts.target?.layout === true && ref.registry === opts.target.refRegistry;
  const inRun = inLayout ||
    (opts.target !== undefined && ref.registry === opts.target.refRegistry &&
      ref.repository === opts.repository);
  if (!opts.open) {
    warn(
      `offline: the previous allowlist in ${source} was not read; the generation (and so the digest) is a guess`,
    );
    return undefined;
  }
  if (!inLayout && ref.registry === "oci-layout") {
    warn(
      `the previous allowlist in ${source} is in an OCI layout that was not named (registry oci-layout); the generation (and so the digest) is a guess`,
    );
    return undefined;
  }
  try {
    const target = inRun ? opts.target!.target : opts.open(ref);
    opts.onRead?.(ref, inRun);
    const m = await target.fetchManifest(ref.digest);
    const parsed = parseAllowlistManifest(m.bytes, { expectedDigest: ref.digest as Digest });
    const layer = await target.fetchBlob(parsed.layer.digest, parsed.layer.size);
    return { allowlist: parseCanonicalAllowlist(layer), digest: ref.digest as Digest };
  } catch (e) {
    throw new KarsError(
      isKarsError(e, "TRANSIENT") ? "TRANSIENT" : "REGISTRY",
      `cannot read the previous allowlist ${ref.registry}/${ref.repository}@${ref.digest} (from ${source}) to choose the generation: ${
        e instanceof Error ? e.message : String(e)
      }; fix access to it, or give the generation`,
      { cause: e, details: { fixOptions: ["generation"] } },
    );
  }
}
