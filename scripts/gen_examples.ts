/**
 * Regenerates `examples/gitops/my-agent-allowlist.yaml` with the real emitters: the
 * KarsSandbox `examples/sandbox.yaml` → canonical allowlist (generation 1) → OCI artifact
 * manifest digest → GitOps manifest, exactly what
 * `kars egress my-agent --from-file examples/sandbox.yaml --enforce --registry myacr.azurecr.io
 *  --emit-manifest …` writes when signed keylessly by the example workflow. The digest is the
 * real one (the artifact is a pure function of the allowlist bytes). `tests/ship/examples_test.ts`
 * checks the committed file equals this output.
 *
 * Usage: `deno run -A scripts/gen_examples.ts`
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseYamlDocuments } from "../lib/encoding/yaml_read.ts";
import { readNetworkPolicy, selectSandbox } from "../lib/model/sandbox_read.ts";
import { canonicalizeEndpoints, emitCanonicalAllowlist } from "../lib/allowlist/canonical.ts";
import { buildAllowlistArtifact } from "../lib/oci/artifact.ts";
import { emitGitopsManifest } from "../lib/gitops/manifest.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The signer the example GitHub Actions workflow gets from Fulcio (its workflow SAN). */
export const EXAMPLE_SIGNER =
  "keyless:https://github.com/acme/gitops/.github/workflows/promote-egress.yml@refs/heads/main";

/** Output path of the example manifest, relative to the repository. */
export const EXAMPLE_MANIFEST = "examples/gitops/my-agent-allowlist.yaml";

/**
 * Renders the example GitOps manifest bytes.
 *
 * @example
 * ```ts
 * const bytes = await renderExampleManifest();
 * ```
 */
export async function renderExampleManifest(): Promise<Uint8Array> {
  const source = join(ROOT, "examples", "sandbox.yaml");
  const docs = parseYamlDocuments(await Deno.readTextFile(source), "examples/sandbox.yaml");
  const sandbox = selectSandbox(docs, { name: "my-agent" }, "examples/sandbox.yaml");
  const policy = readNetworkPolicy(sandbox, "examples/sandbox.yaml");
  const endpoints = canonicalizeEndpoints(policy.allowedEndpoints);
  const artifact = buildAllowlistArtifact(emitCanonicalAllowlist({ generation: 1, endpoints }));
  return emitGitopsManifest({
    name: sandbox.metadata.name,
    namespace: sandbox.metadata.namespace,
    signer: EXAMPLE_SIGNER,
    registry: "myacr.azurecr.io",
    repository: `policy/egress-allowlist/${sandbox.metadata.name}`,
    digest: artifact.manifestDigest,
    egressMode: policy.egressMode === "Strict" ? undefined : "Strict",
  });
}

if (import.meta.main) {
  const out = join(ROOT, EXAMPLE_MANIFEST);
  const tmp = `${out}.tmp-${crypto.randomUUID()}`;
  await Deno.writeFile(tmp, await renderExampleManifest());
  await Deno.rename(tmp, out);
  console.error(`wrote ${EXAMPLE_MANIFEST}`);
}
