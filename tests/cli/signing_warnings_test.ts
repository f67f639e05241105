/**
 * `kars egress` warns at signing time about what the kars controller will refuse: a key
 * file or Azure Key Vault key, a bundle-only signature, SignerPolicy entries it reads
 * differently; and says nothing for a keyless legacy signature under exact SANs.
 */
import assert from "assert";
import { join } from "node:path";
import { controllerSignerWarning } from "../../lib/verify/controller_advice.ts";
import { controllerPolicyWarnings } from "../../lib/verify/policy_lint.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import type { SignerPolicy } from "../../lib/verify/policy.ts";
import { runKars } from "../support/cli.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { keySigner, policyYaml } from "../verify/fixtures.ts";

const SANDBOX = `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: agent
spec:
  networkPolicy:
    allowedEndpoints:
      - host: api.github.com
`;

Deno.test("signing-time warnings: texts name the signer kind and the fix, never a flag", () => {
  const kms = controllerSignerWarning("azurekms://v.vault.azure.net/k");
  assert.match(kms, /an Azure Key Vault key: the kars controller accepts only keyless signatures/);
  assert.match(controllerSignerWarning("cosign.key"), /a key file/);
  for (const w of [kms, controllerSignerWarning("cosign.key")]) assert.doesNotMatch(w, /--/);
  const policy = loadSignerPolicy({
    configMap: policyYaml(
      ["https://token.actions.githubusercontent.com"],
      [
        "https://github.com/acme/*",
        "https://github.com/acme/x/.github/workflows/a.yml@refs/heads/main",
      ],
      keySigner().publicPem,
    ),
    env: {},
  }) as SignerPolicy;
  const ws = controllerPolicyWarnings(policy, "p.yaml");
  assert.equal(ws.length, 2, ws.join("\n"));
  assert.match(
    ws[0],
    /^⚠ SignerPolicy p\.yaml sanPatterns\[1\] \(https:\/\/github\.com\/acme\/\*\)/,
  );
  assert.match(ws[1], /publicKeys/);
});

Deno.test("kars egress: bundle-only signing is warned about; keyless legacy under exact SANs is not", async () => {
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-warn-" });
  try {
    await Deno.writeTextFile(join(dir, "sandbox.yaml"), SANDBOX);
    await Deno.writeTextFile(join(dir, "root.json"), JSON.stringify(mock.trustedRoot));
    await Deno.writeTextFile(
      join(dir, "policy.yaml"),
      policyYaml([mock.defaultIssuer], [mock.defaultSubject]),
    );
    const egress = (...extra: string[]) =>
      runKars([
        "egress",
        "agent",
        "--from-file",
        "sandbox.yaml",
        "--enforce",
        "--registry",
        "oci:layout",
        "--fulcio-url",
        mock.fulcioUrl,
        "--rekor-url",
        mock.rekorUrl,
        "--trusted-root",
        "root.json",
        "--signer-policy",
        "policy.yaml",
        ...extra,
      ], { cwd: dir, env: { SIGSTORE_ID_TOKEN: mock.mintToken() } });
    const bundle = await egress("--signature-format", "bundle");
    assert.equal(bundle.code, 0, bundle.stderr);
    assert.match(bundle.stderr, /⚠ storing only a Sigstore bundle: the kars controller reads only/);
    assert.match(bundle.stderr, /⚠ the kars controller will refuse this artifact \(predicted\)/);
    const legacy = await egress();
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.doesNotMatch(legacy.stderr, /⚠/);
  } finally {
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
