/**
 * Where each lazily loaded `kars` command lives (see `commands.ts`).
 *
 * @module
 */
import type { Command } from "./command.ts";

/**
 * How to load each command's implementation, keyed by its export name, in help order. The
 * specifiers are literal so that bundlers see them. `deno task gen:commands`
 * (scripts/gen_command_table.ts) regenerates `command_table.ts` from these modules; a test
 * fails when the table and the modules disagree.
 */
export const COMMAND_LOADERS: ReadonlyArray<readonly [string, () => Promise<Command>]> = [
  ["egressCommand", () => import("./egress.ts").then((m) => m.egressCommand)],
  ["egressVerifyCommand", () => import("./egress_verify.ts").then((m) => m.egressVerifyCommand)],
  ["egressDiffCommand", () => import("./egress_diff.ts").then((m) => m.egressDiffCommand)],
  [
    "signerPolicyLintCommand",
    () => import("./signer_policy.ts").then((m) => m.signerPolicyLintCommand),
  ],
  ["verifyBlobCommand", () => import("./verify_blob.ts").then((m) => m.verifyBlobCommand)],
  ["egressStatusCommand", () => import("./egress_status.ts").then((m) => m.egressStatusCommand)],
  ["egressAuditCommand", () => import("./egress_audit.ts").then((m) => m.egressAuditCommand)],
  ["webhookCommand", () => import("./webhook.ts").then((m) => m.webhookCommand)],
  [
    "generateKeyPairCommand",
    () => import("./generate_key_pair.ts").then((m) => m.generateKeyPairCommand),
  ],
  [
    "migrateFromKagentCommand",
    () => import("./migrate.ts").then((m) => m.migrateFromKagentCommand),
  ],
  ["demoCommand", () => import("./demo.ts").then((m) => m.demoCommand)],
];
