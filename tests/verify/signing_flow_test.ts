/**
 * Signatures produced by the signing flow itself (`createSigner` + `signArtifact`, issue 6)
 * on a real docker-registry with the @sigstore/mock services: legacy, bundle and both;
 * keyless, key file (cosign's own encrypted key), with an RFC 3161 timestamp, and without a
 * Rekor upload. Each verifies True under a matching SignerPolicy and False/IdentityMismatch
 * under a non-matching one.
 */
import assert from "assert";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { createSigner, signArtifact, type SignatureFormat } from "../../lib/sign/sign_artifact.ts";
import { loadTrustedRoot } from "../../lib/verify/sigstore/trust_root.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import { verifyAllowlist } from "../../lib/verify/verdict.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { policyYaml, pushAllowlist } from "./fixtures.ts";

const KEYS = new URL("../../testdata/interop/cosign-keys/", import.meta.url);

Deno.test(
  "signing flow → verdict: legacy/bundle/both × keyless/key file, matching and non-matching policy",
  needs("docker-registry"),
  async (t) => {
    const reg = await startDockerRegistry();
    const mock = await startSigstoreMock();
    try {
      const trustedRoot = loadTrustedRoot(mock.trustedRoot);
      const keyPath = new URL("cosign-labeled-pkcs8.key", KEYS).pathname;
      const pubPem = await Deno.readTextFile(new URL("cosign-labeled-pkcs8.pub", KEYS));
      const otherPubPem = await Deno.readTextFile(new URL("sigstore-labeled-pkcs8.pub", KEYS));
      const readFile = (p: string) => Deno.readFile(p);
      const policies = {
        keyless: {
          match: policyYaml([mock.defaultIssuer], [mock.defaultSubject]),
          other: policyYaml([mock.defaultIssuer], ["https://github.com/not-acme/*"]),
        },
        key: {
          match: policyYaml([mock.defaultIssuer], ["unused"], pubPem),
          other: policyYaml([mock.defaultIssuer], ["unused"], otherPubPem),
        },
      };
      let n = 0;
      const cases: {
        kind: "keyless" | "key";
        format: SignatureFormat;
        tsa?: boolean;
        tlogUpload?: boolean;
        other: string;
      }[] = [
        { kind: "keyless", format: "legacy", other: "IdentityMismatch" },
        { kind: "keyless", format: "bundle", other: "IdentityMismatch" },
        { kind: "keyless", format: "both", tsa: true, other: "IdentityMismatch" },
        { kind: "key", format: "legacy", other: "IdentityMismatch" },
        { kind: "key", format: "bundle", tsa: true, other: "IdentityMismatch" },
        // no Rekor entry: nothing but the pinned key can show the signature valid
        { kind: "key", format: "legacy", tlogUpload: false, other: "SignatureVerifyFailed" },
      ];
      for (const c of cases) {
        const name = `${c.kind} ${c.format}${c.tsa ? " +TSA" : ""}${
          c.tlogUpload === false ? " no-tlog" : ""
        }`;
        await t.step(name, async () => {
          const repository = `policy/egress-allowlist/flow-${n++}`;
          const target = new RegistryTarget({ registry: reg.host, repository });
          const a = await pushAllowlist(target, { generation: n });
          const signer = c.kind === "keyless"
            ? await createSigner({
              env: { SIGSTORE_ID_TOKEN: mock.mintToken() },
              fulcioUrl: mock.fulcioUrl,
              readFile,
            })
            : await createSigner({ key: keyPath, env: { COSIGN_PASSWORD: "hello" }, readFile });
          const signed = await signArtifact({
            target,
            registry: reg.host,
            repository,
            manifest: {
              mediaType: "application/vnd.oci.image.manifest.v1+json",
              digest: a.manifestDigest,
              size: a.manifestBytes.length,
            },
            signer,
            rekorUrl: mock.rekorUrl,
            ...(c.tsa ? { tsaUrl: mock.tsaUrl } : {}),
            ...(c.tlogUpload === false ? { tlogUpload: false } : {}),
            format: c.format,
          });
          const ref = {
            registry: reg.host,
            repository,
            digest: a.manifestDigest,
            artifactType: ALLOWLIST_MEDIA_TYPE,
          };
          const verify = (yaml: string) =>
            verifyAllowlist({
              ref,
              target: new RegistryTarget({ registry: reg.host, repository }),
              policy: loadSignerPolicy({ configMap: yaml, env: {} }),
              trustedRoot,
            });
          const ok = await verify(policies[c.kind].match);
          assert.equal(ok.condition.status, "True", JSON.stringify(ok));
          assert.equal(ok.condition.message, `digest=${a.manifestDigest}, generation=${n}`);
          assert.equal(
            ok.signer?.id,
            signed.identity,
            "the verdict names the signer the flow wrote in the GitOps header",
          );
          assert.equal(ok.signer?.format, c.format === "bundle" ? "bundle" : "legacy");
          const no = await verify(policies[c.kind].other);
          assert.equal(no.condition.status, "False", JSON.stringify(no));
          assert.equal(no.condition.reason, c.other, JSON.stringify(no));
        });
      }
    } finally {
      await mock.stop();
      await reg.stop();
    }
  },
);
