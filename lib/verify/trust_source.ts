/**
 * Where the Sigstore trust material comes from: the embedded public-good snapshot (the
 * default, offline), a `trusted_root.json` file, or a TUF refresh when online and asked for
 * (optionally from another TUF mirror). Errors name the option at fault in
 * `details.option` (`trustedRoot`, `refreshTrustedRoot`, `tufMirror`).
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { resolve } from "node:path";
import { KarsError } from "../errors.ts";
import {
  parseTrustedRoot,
  productionTrustedRoot,
  refreshTrustedRoot,
  type TrustedRoot,
} from "./sigstore/mod.ts";

/** Options of {@link resolveTrustedRoot}. */
export interface TrustSourceOptions {
  /** A `trusted_root.json` file (error option name: `trustedRoot`). */
  file?: string;
  /** Fetch the current root through TUF (network; option name `refreshTrustedRoot`). */
  refresh?: boolean;
  /** TUF mirror URL (default: the Sigstore public-good one; option name `tufMirror`). */
  mirrorURL?: string;
  /** Directory relative paths are resolved against. */
  cwd?: string;
}

/**
 * Resolves the trust material. `file` and `refresh` exclude each other (`USAGE`); a file
 * that cannot be read or parsed is `INPUT` (`details.option` `trustedRoot`); a failed refresh
 * is `TRANSIENT`.
 *
 * @example
 * ```ts
 * import { resolveTrustedRoot } from "./trust_source.ts";
 * const root = await resolveTrustedRoot({}); // the embedded public-good root
 * ```
 */
export async function resolveTrustedRoot(opts: TrustSourceOptions): Promise<TrustedRoot> {
  if (opts.file !== undefined && opts.refresh) {
    throw new KarsError(
      "USAGE",
      "a trusted root file and a TUF refresh of the trusted root exclude each other: pick one",
      { details: { option: "trustedRoot", fixOptions: ["trustedRoot", "refreshTrustedRoot"] } },
    );
  }
  if (opts.mirrorURL !== undefined && !opts.refresh) {
    throw new KarsError(
      "USAGE",
      "a TUF mirror only applies to a TUF refresh of the trusted root",
      { details: { option: "tufMirror", fixOptions: ["refreshTrustedRoot"] } },
    );
  }
  if (opts.refresh) {
    return await refreshTrustedRoot(opts.mirrorURL ? { mirrorURL: opts.mirrorURL } : {});
  }
  if (opts.file === undefined) return productionTrustedRoot();
  let bytes: Uint8Array;
  try {
    // Bounded by readFileBounded's default cap (the public-good trusted_root.json is ~10 KiB).
    bytes = await readFileBounded(resolve(opts.cwd ?? ".", opts.file));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "NOT_FOUND"
      ? "no such file"
      : code === "INPUT"
      ? `larger than ${(e as KarsError).details?.limit} bytes`
      : undefined;
    throw new KarsError(
      "INPUT",
      // readFileBounded's own message names the path already.
      why ? `trusted root ${opts.file}: ${why}` : `trusted root: ${(e as Error).message}`,
      { cause: e, details: { option: "trustedRoot" } },
    );
  }
  try {
    return parseTrustedRoot(bytes);
  } catch (e) {
    throw new KarsError("INPUT", `trusted root ${opts.file}: ${(e as Error).message}`, {
      cause: e,
      details: { option: "trustedRoot" },
    });
  }
}
