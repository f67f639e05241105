/**
 * `kars generate-key-pair`: writes `cosign.key` / `cosign.pub` in cosign's format.
 *
 * @module
 */
import { resolve } from "node:path";
import { KarsError } from "../errors.ts";
import { generateKeyPair, writeKeyPair } from "../sign/keyfile.ts";
import { type Command, EXIT } from "./command.ts";

/**
 * The `kars generate-key-pair` command.
 *
 * @example
 * ```ts
 * import { generateKeyPairCommand } from "./generate_key_pair.ts";
 * generateKeyPairCommand.path; // ["generate-key-pair"]
 * ```
 */
export const generateKeyPairCommand: Command = {
  path: ["generate-key-pair"],
  summary: "write a cosign-format key pair (<prefix>.key, <prefix>.pub)",
  help: `kars generate-key-pair [--output-key-prefix PREFIX]

Generates an ECDSA P-256 key pair and writes PREFIX.key (encrypted like cosign:
scrypt N=65536 + NaCl secretbox, label ENCRYPTED SIGSTORE PRIVATE KEY, mode 0600) and
PREFIX.pub (PEM PUBLIC KEY). Refuses to overwrite existing files.

The password comes from COSIGN_PASSWORD (which may be empty), else it is asked for
twice on the terminal.

  --output-key-prefix PREFIX   default "cosign"
`,
  options: { "output-key-prefix": { type: "string" } },
  async run(values, positionals, ctx) {
    if (positionals.length > 0) {
      throw new KarsError("USAGE", `unexpected argument ${JSON.stringify(positionals[0])}`);
    }
    const prefix = typeof values["output-key-prefix"] === "string"
      ? values["output-key-prefix"]
      : "cosign";
    if (prefix === "") throw new KarsError("USAGE", "--output-key-prefix must not be empty");
    let password = ctx.env.COSIGN_PASSWORD;
    if (password === undefined) {
      if (!ctx.promptSecret) {
        throw new KarsError(
          "USAGE",
          "no password for the private key: set COSIGN_PASSWORD (it may be empty) or run on a terminal",
        );
      }
      const a = await ctx.promptSecret("Enter password for private key: ");
      const b = await ctx.promptSecret("Enter password for private key again: ");
      if (a === undefined || b === undefined) throw new KarsError("USAGE", "no password given");
      if (a !== b) throw new KarsError("USAGE", "passwords do not match");
      password = a;
    }
    const pair = await generateKeyPair({ password });
    const [key, pub] = await writeKeyPair(resolve(ctx.cwd, prefix), pair);
    ctx.stderr(`Private key written to ${key}\nPublic key written to ${pub}\n`);
    return EXIT.OK;
  },
};
