/**
 * `kars demo`: the main job, offline, on the embedded default sandbox.
 *
 * @module
 */
import { runDemo } from "../demo.ts";
import { type Command, EXIT } from "./command.ts";

/**
 * The `kars demo` command.
 *
 * @example
 * ```ts
 * import { demoCommand } from "./demo.ts";
 * demoCommand.path; // ["demo"]
 * ```
 */
export const demoCommand: Command = {
  path: ["demo"],
  summary: "run the whole flow offline on an embedded sandbox (OCI layout + local key)",
  help: `kars demo [--dir DIR]

Runs the whole kars egress job offline on an embedded default sandbox: builds the
canonical allowlist, pushes it to an OCI image layout in DIR/layout, signs it with a
cosign key pair generated in DIR (re-used on later runs), verifies it against a
SignerPolicy pinning that key, writes DIR/gitops/demo-agent-allowlist.yaml and prints it.

  --dir DIR   working directory of the demo (default demo-out)
`,
  options: { dir: { type: "string" } },
  async run(values, _positionals, ctx) {
    const { manifest, files, result } = await runDemo({
      cwd: ctx.cwd,
      dir: typeof values.dir === "string" ? values.dir : undefined,
      progress: (line) => ctx.stderr(`${line}\n`),
    });
    ctx.stderr(
      `\nsandbox ${files.sandbox} → layout ${files.layout} (digest ${result.digest})\n` +
        `signed with ${files.key} (${result.signer}); ${result.verification}\n` +
        `GitOps manifest ${files.manifest}:\n\n`,
    );
    ctx.stdout(manifest);
    return EXIT.OK;
  },
};
