/**
 * `kars demo`: the main job, offline, on the embedded default sandbox.
 *
 * @module
 */
import { runDemo } from "../workflow/demo.ts";
import { type Command, EXIT } from "./command.ts";

/** What the demo says about a real cluster (it signs with a key, offline). */
export const DEMO_CLUSTER_NOTE =
  "note: the demo signs offline with a key file, which this verifier accepts through the\n" +
  "      policy's publicKeys; a real kars cluster accepts only keyless signatures and would\n" +
  "      refuse this artifact (IdentityMismatch). In CI, sign keylessly (kars egress\n" +
  "      --sign-mode keyless, or the ambient OIDC token) and list the workflow's exact SAN\n" +
  "      in sanPatterns; check a policy with 'kars signer-policy lint FILE'.\n";

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

It shows both verdicts: ours (True: the policy pins the demo key) and the kars
controller's, predicted (False/IdentityMismatch: a real cluster accepts only keyless
signatures). For a cluster, sign in CI keylessly and list the workflow's exact SAN.

  --dir DIR   working directory of the demo (default demo-out)
`,
  options: { dir: { type: "string" } },
  async run(values, _positionals, ctx) {
    const { manifest, files, result } = await runDemo({
      cwd: ctx.cwd,
      dir: typeof values.dir === "string" ? values.dir : undefined,
      progress: (line) => ctx.stderr(`${line}\n`),
    });
    const controller = result.verdicts?.controller.condition;
    ctx.stderr(
      `\nsandbox ${files.sandbox} → layout ${files.layout} (digest ${result.digest})\n` +
        `signed with ${files.key} (${result.signer})\n` +
        `  ours:       ${result.verification}\n` +
        (controller
          ? `  controller: ${controller.status}/${controller.reason} (predicted)\n`
          : "") +
        DEMO_CLUSTER_NOTE +
        `GitOps manifest ${files.manifest}:\n\n`,
    );
    ctx.stdout(manifest);
    return EXIT.OK;
  },
};
