/**
 * Reading a file a flag names: bounded, and every failure an input error naming the flag.
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { KarsError } from "../errors.ts";
import { readFileBounded, readProblem } from "../io/file_read.ts";
import type { CliContext } from "./command.ts";

/** Default cap of {@link readFlagFile}: 4 MiB. */
export const FLAG_FILE_MAX_BYTES = 4 << 20;

/**
 * Reads a file named by a flag (bounded), `INPUT` naming the flag on failure.
 *
 * @example
 * ```ts
 * import { readFlagFile } from "./flag_file.ts";
 * // const bytes = await readFlagFile(ctx, "policy.yaml", "--signer-policy");
 * ```
 */
export async function readFlagFile(
  ctx: CliContext,
  path: string,
  flag: string,
  maxBytes = FLAG_FILE_MAX_BYTES,
): Promise<Uint8Array> {
  const full = isAbsolute(path) ? path : join(ctx.cwd, path);
  try {
    return await readFileBounded(full, { maxBytes });
  } catch (e) {
    // The problem alone: the message names the flag and the path once.
    const code = (e as { code?: string }).code;
    const why = code === "INPUT"
      ? `larger than ${maxBytes} bytes; is it the right file?`
      : readProblem(e) ?? (e as Error).message;
    throw new KarsError("INPUT", `${flag} ${path}: ${why}`, { cause: e });
  }
}
