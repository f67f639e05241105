/**
 * Finding the OCI image layout a GitOps manifest's `oci-layout` reference points into.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * The OCI layout `kars demo` writes beside its GitOps manifest (`<dir>/gitops/x.yaml` and
 * `<dir>/layout/`), or a `layout/` in the manifest's own directory, if there is one.
 *
 * @example
 * ```ts
 * import { findLayoutBeside } from "./layout_hint.ts";
 * await findLayoutBeside("demo-out/gitops/demo-agent-allowlist.yaml"); // "demo-out/layout" or undefined
 * ```
 */
export async function findLayoutBeside(manifestPath: string): Promise<string | undefined> {
  const dir = dirname(manifestPath);
  for (const candidate of [join(dir, "layout"), join(dirname(dir), "layout")]) {
    try {
      if ((await stat(join(candidate, "oci-layout"))).isFile()) return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** The message for an `oci-layout` reference with no layout named or found. */
export function ociLayoutHint(reference: string): string {
  return `${reference} names the placeholder registry oci-layout: the artifact is in an OCI ` +
    `image layout on disk; pass --registry oci:DIR (the directory kars egress --registry ` +
    `oci:DIR wrote)`;
}
