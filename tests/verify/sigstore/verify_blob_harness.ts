/**
 * Runs `verifyBlobCommand` in-process from an argv, the way `kars verify-blob` would:
 * `node:util` parseArgs with the command's options, a recording CliContext, and the CLI's
 * error-to-exit-code mapping.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { CliContext, OptionValues } from "../../../lib/cli/command.ts";
import { KarsError } from "../../../lib/errors.ts";
import { exitCodeOf } from "../../../lib/cli/main.ts";
import { verifyBlobCommand } from "../../../lib/cli/verify_blob.ts";
import { asCliProcess } from "../../support/cli.ts";

/** Exit code and stderr of one run. */
export interface BlobRun {
  code: number;
  stderr: string;
}

/** Runs `kars verify-blob <argv>` in-process (tuned as the real one-shot process is). */
export function runVerifyBlob(argv: string[], cwd = Deno.cwd()): Promise<BlobRun> {
  return asCliProcess(["verify-blob", ...argv], () => verifyBlob(argv, cwd));
}

async function verifyBlob(argv: string[], cwd: string): Promise<BlobRun> {
  let stderr = "";
  const ctx: CliContext = {
    stdout: () => {},
    stderr: (t) => {
      stderr += t;
    },
    stdin: () => new Blob([]).stream(),
    env: {},
    cwd,
    isTTY: { stdin: false, stdout: false, stderr: false },
    color: false,
  };
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: verifyBlobCommand.options,
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new KarsError("USAGE", (e as Error).message, { cause: e });
    }
    const { values, positionals } = parsed;
    const code = await verifyBlobCommand.run({ ...values } as OptionValues, positionals, ctx);
    return { code, stderr };
  } catch (e) {
    stderr += `kars: error: ${(e as Error).message}\n`;
    return { code: exitCodeOf(e), stderr };
  }
}
