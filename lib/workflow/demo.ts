/**
 * The demo's inputs: the embedded default sandbox, the demo key's password, and the
 * SignerPolicy that pins the demo key. `kars demo` (lib/cli/demo.ts) runs the whole egress
 * flow on them, offline.
 *
 * @module
 */
/**
 * The embedded default sandbox (mixed case, an IDN, a duplicate); a valid KarsSandbox by the
 * kars CRD (`tests/ship/schema_docs_test.ts` checks it).
 */
export const DEMO_SANDBOX = `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: demo-agent
  namespace: kars-demo-agent
spec:
  runtime:
    kind: OpenClaw
    openclaw: {}
  sandbox:
    isolation: enhanced
  inferenceRef:
    name: demo-agent
  networkPolicy:
    defaultDeny: true
    egressMode: Learn
    allowedEndpoints:
      - host: API.GitHub.com
        port: 443
      - host: pypi.org
        port: 443
      - host: files.pythonhosted.org
        port: 443
      - host: bücher.example
        port: 8443
      - host: api.github.com
        port: 443
      - host: 10.0.0.12
        port: 5432
`;

/** Password of the demo key (the demo is local; real keys take COSIGN_PASSWORD or a prompt). */
export const DEMO_PASSWORD = "kars-demo";

/**
 * A SignerPolicy ConfigMap that accepts the demo key only (no keyless signers).
 *
 * @example
 * ```ts
 * import { demoSignerPolicy } from "./demo.ts";
 * demoSignerPolicy("-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n").includes("publicKeys"); // true
 * ```
 */
export function demoSignerPolicy(publicPem: string): string {
  const indented = publicPem.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: kars-signer-policy
  namespace: kars-system
data:
  fulcioIssuers: |
    https://token.actions.githubusercontent.com
  sanPatterns: |
    https://github.com/example/gitops/.github/workflows/promote.yml@refs/heads/main
  publicKeys: |
${indented}
`;
}
