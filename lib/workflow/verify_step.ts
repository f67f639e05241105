/**
 * Verification after signing in the egress flow: both verdicts (ours and the controller's
 * prediction) on the signed reference. Loaded only by runs whose plan verifies.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import type { AllowlistRef } from "../gitops/manifest.ts";
import type { Target } from "../oci/types.ts";
import { formatCondition } from "../verify/conditions.ts";
import { verifyBoth } from "../verify/both.ts";
import type { SignerPolicy } from "../verify/policy.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import type { EgressResult } from "./result.ts";

/**
 * Verifies the signed reference with both verdicts and records them in `result`. When ours is
 * not `True`, throws `VERIFY` (a verdict) or `TRANSIENT` (a fault) with `details.condition`,
 * `details.controllerCondition` and `details.reference`.
 *
 * @example
 * ```ts
 * import { verifyStep } from "./verify_step.ts";
 * typeof verifyStep; // "function"
 * ```
 */
export async function verifyStep(
  input: { ref: AllowlistRef; target: Target; policy: SignerPolicy; trustedRoot: TrustedRoot },
  result: EgressResult,
  notWritten: string,
  warn: (line: string) => void,
): Promise<void> {
  const both = await verifyBoth(input);
  const verdict = both.ours;
  result.verdicts = both;
  result.verification = formatCondition(verdict.condition);
  result.verificationCondition = verdict.condition;
  if (verdict.condition.status === "True" && both.controller.condition.status !== "True") {
    warn(
      `⚠ the kars controller will refuse this artifact (predicted): ${
        formatCondition(both.controller.condition)
      }`,
    );
  }
  if (verdict.condition.status !== "True") {
    const { ref } = input;
    // details.condition lets a caller tell a verdict (False) from a fault (Unknown).
    throw new KarsError(
      verdict.verdict ? "VERIFY" : "TRANSIENT",
      `verification failed; ${notWritten}: ${result.verification}`,
      {
        details: {
          condition: verdict.condition,
          controllerCondition: both.controller.condition,
          reference: `${ref.registry}/${ref.repository}@${ref.digest}`,
        },
      },
    );
  }
}
