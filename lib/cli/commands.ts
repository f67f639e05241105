/**
 * The list of `kars` subcommands.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { demoCommand } from "./demo.ts";
import { egressCommand } from "./egress.ts";
import { egressVerifyCommand } from "./egress_verify.ts";
import { egressDiffCommand } from "./egress_diff.ts";
import { completionCommand } from "./completion.ts";
import { generateKeyPairCommand } from "./generate_key_pair.ts";
import { migrateFromKagentCommand } from "./migrate.ts";
import { signerPolicyLintCommand } from "./signer_policy.ts";
import { verifyBlobCommand } from "./verify_blob.ts";
import { egressStatusCommand } from "./egress_status.ts";
import { egressAuditCommand } from "./egress_audit.ts";
import { webhookCommand } from "./webhook.ts";

/**
 * Every subcommand of the CLI, in help order.
 *
 * @example
 * ```ts
 * import { commands } from "./commands.ts";
 * commands.map((c) => c.path.join(" "));
 * ```
 */
export const commands: readonly Command[] = [
  egressCommand,
  egressVerifyCommand,
  egressDiffCommand,
  signerPolicyLintCommand,
  verifyBlobCommand,
  egressStatusCommand,
  egressAuditCommand,
  webhookCommand,
  generateKeyPairCommand,
  migrateFromKagentCommand,
  demoCommand,
  completionCommand(() => commands),
];
