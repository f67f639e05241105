/**
 * A KarsSandbox (object) or a GitOps manifest / KarsSandbox YAML (bytes) as input of a
 * verification: its `allowlistRef`, or the verdict when it has none (`Unsigned`) or a
 * malformed one (`InvalidRef`).
 *
 * @module
 */
import { fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import type { VerifySandboxOptions } from "./options.ts";
import { falseResult, type VerifyResult } from "./result.ts";
import { verifyAllowlist } from "./verdict.ts";

/**
 * Verifies a KarsSandbox (object) or a GitOps manifest / KarsSandbox YAML (bytes): an
 * inline-only sandbox (no `allowlistRef`) is `False/Unsigned`; a malformed ref `InvalidRef`;
 * otherwise {@link verifyAllowlist} on its `allowlistRef`.
 *
 * @example
 * ```ts
 * import { verifySandbox } from "./sandbox.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const r = await verifySandbox({ apiVersion: "kars.azure.com/v1alpha1", kind: "KarsSandbox",
 *   metadata: { name: "a" }, spec: { networkPolicy: { allowedEndpoints: [{ host: "x.example" }] } } },
 *   { target: new MemoryTarget(), policy: { reason: "SignerPolicyMissing", message: "none" },
 *     trustedRoot: {} as never });
 * r.condition.reason; // "Unsigned"
 * ```
 */
export async function verifySandbox(
  input: Uint8Array | Record<string, unknown>,
  options: VerifySandboxOptions,
): Promise<VerifyResult> {
  const found = sandboxAllowlistRef(input, options.source ?? "sandbox");
  if ("result" in found) return found.result;
  const { source: _s, ...rest } = options;
  return await verifyAllowlist({ ...rest, ref: found.ref });
}

/**
 * The `allowlistRef` of a KarsSandbox (object) or a GitOps manifest / KarsSandbox YAML
 * (bytes), or the verdict when there is none (`Unsigned`) or it is not an object
 * (`InvalidRef`). Throws `KarsError("INPUT")` when the input is not one KarsSandbox.
 *
 * @example
 * ```ts
 * import { sandboxAllowlistRef } from "./sandbox.ts";
 * const r = sandboxAllowlistRef({ kind: "KarsSandbox", spec: {} }, "a.yaml");
 * "result" in r && r.result.condition.reason; // "Unsigned"
 * ```
 */
export function sandboxAllowlistRef(
  input: Uint8Array | Record<string, unknown>,
  source: string,
): { ref: AllowlistRefInput } | { result: VerifyResult } {
  let doc: unknown = input;
  if (input instanceof Uint8Array) {
    let text: string;
    try {
      text = fromUtf8(input);
    } catch {
      throw new KarsError("INPUT", `${source}: not valid UTF-8`);
    }
    const docs = parseYamlDocuments(text, source).filter((d) => d !== null && d !== undefined);
    const sandboxes = docs.filter((d) => (d as { kind?: unknown })?.kind === "KarsSandbox");
    if (sandboxes.length !== 1) {
      throw new KarsError(
        "INPUT",
        `${source}: expected exactly one KarsSandbox document, found ${sandboxes.length}`,
      );
    }
    doc = sandboxes[0];
  }
  const d = doc as { kind?: unknown; spec?: { networkPolicy?: { allowlistRef?: unknown } } };
  if (!d || typeof d !== "object" || d.kind !== "KarsSandbox") {
    throw new KarsError("INPUT", `${source}: not a KarsSandbox`);
  }
  const ref = d.spec?.networkPolicy?.allowlistRef;
  if (ref === undefined || ref === null) {
    return {
      result: falseResult(
        "Unsigned",
        `${source}: inline allowlist only (no spec.networkPolicy.allowlistRef); sign it with kars egress --enforce`,
      ),
    };
  }
  if (typeof ref !== "object" || Array.isArray(ref)) {
    return {
      result: falseResult(
        "InvalidRef",
        `${source}: spec.networkPolicy.allowlistRef is not an object`,
      ),
    };
  }
  return { ref: ref as AllowlistRefInput };
}
