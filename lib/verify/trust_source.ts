/**
 * Where the Sigstore trust material comes from: the embedded public-good snapshot (the
 * default, offline), a `trusted_root.json` file (`--trusted-root`), or a TUF refresh when
 * online and asked for (`--refresh-trusted-root`, optionally from `--tuf-mirror`).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
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
  /** `--trusted-root FILE`. */
  file?: string;
  /** `--refresh-trusted-root`: fetch the current root through TUF (network). */
  refresh?: boolean;
  /** `--tuf-mirror URL` (default: the Sigstore public-good TUF mirror). */
  mirrorURL?: string;
  /** Directory relative paths are resolved against. */
  cwd?: string;
}

/**
 * Resolves the trust material. `file` and `refresh` exclude each other (`USAGE`); a file
 * that cannot be read or parsed is `INPUT`, naming the flag; a failed refresh is `TRANSIENT`.
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
      "--trusted-root and --refresh-trusted-root exclude each other: pick one",
    );
  }
  if (opts.mirrorURL !== undefined && !opts.refresh) {
    throw new KarsError("USAGE", "--tuf-mirror only applies with --refresh-trusted-root");
  }
  if (opts.refresh) {
    return await refreshTrustedRoot(opts.mirrorURL ? { mirrorURL: opts.mirrorURL } : {});
  }
  if (opts.file === undefined) return productionTrustedRoot();
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(resolve(opts.cwd ?? ".", opts.file)));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new KarsError(
      "INPUT",
      `--trusted-root ${opts.file}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`,
      { cause: e },
    );
  }
  try {
    return parseTrustedRoot(bytes);
  } catch (e) {
    throw new KarsError("INPUT", `--trusted-root ${opts.file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
