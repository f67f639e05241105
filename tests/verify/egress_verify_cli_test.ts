/**
 * `kars egress verify` in-process (lib/cli/egress_verify.ts): exit codes 0 / 3 / 1 / usage,
 * human and JSON output, --manifest, env policy fallback, --trusted-root, --registry oci:DIR,
 * against a real docker-registry and the @sigstore/mock services.
 */
import assert from "assert";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { LayoutTarget } from "../../lib/oci/layout.ts";
import { emitGitopsManifest } from "../../lib/gitops/manifest.ts";
import { isKarsError } from "../../lib/errors.ts";
import type { CliContext } from "../../lib/cli/command.ts";
import { egressVerifyCommand } from "../../lib/cli/egress_verify.ts";
import { parseRefArgument } from "../../lib/cli/registry_spec.ts";
import { exitCodeOf } from "../../lib/cli/exit_codes.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { keylessSigner, policyYaml, pushAllowlist, signLegacy } from "./fixtures.ts";

const REPO = "policy/egress-allowlist/my-agent";

function context(cwd: string, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    stdout: (t) => out.push(typeof t === "string" ? t : new TextDecoder().decode(t)),
    stderr: (t) => err.push(t),
    stdin: () => new ReadableStream({ start: (c) => c.close() }),
    env,
    cwd,
    isTTY: { stdin: false, stdout: false, stderr: false },
    color: false,
  };
  return { ctx, out: () => out.join(""), err: () => err.join("") };
}

/** Like {@link run}, but an error is mapped to its exit code as the dispatcher does. */
async function runCode(
  cwd: string,
  args: Record<string, string | boolean>,
  positionals: string[],
  env = {},
) {
  const c = context(cwd, env);
  try {
    const code = await egressVerifyCommand.run({ ...args }, positionals, c.ctx);
    return { code, out: c.out(), err: c.err() };
  } catch (e) {
    return { code: exitCodeOf(e), out: c.out(), err: c.err() + (e as Error).message };
  }
}

async function run(
  cwd: string,
  args: Record<string, string | boolean>,
  positionals: string[],
  env = {},
) {
  const c = context(cwd, env);
  const code = await egressVerifyCommand.run({ ...args }, positionals, c.ctx);
  return { code, out: c.out(), err: c.err() };
}

Deno.test(
  "cli: kars egress verify — exit 0 True, 3 False, 1 registry down, usage errors",
  needs("docker-registry"),
  async (t) => {
    const reg = await startDockerRegistry();
    const mock = await startSigstoreMock();
    const dir = await Deno.makeTempDir({ prefix: "kars-verify-cli-" });
    try {
      const target = new RegistryTarget({ registry: reg.host, repository: REPO });
      const a = await pushAllowlist(target);
      await signLegacy(target, {
        registry: reg.host,
        repository: REPO,
        digest: a.manifestDigest,
        signer: keylessSigner(mock),
        rekorUrl: mock.rekorUrl,
      });
      await Deno.writeTextFile(`${dir}/root.json`, JSON.stringify(mock.trustedRoot));
      await Deno.writeTextFile(
        `${dir}/policy.yaml`,
        policyYaml([mock.defaultIssuer], [mock.defaultSubject]),
      );
      await Deno.writeTextFile(
        `${dir}/other.yaml`,
        policyYaml([mock.defaultIssuer], ["https://github.com/other/*"]),
      );
      await Deno.writeTextFile(`${dir}/broken.yaml`, "kind: ConfigMap\n");
      await Deno.writeFile(
        `${dir}/gitops.yaml`,
        emitGitopsManifest({
          name: "my-agent",
          signer: `keyless:${mock.defaultSubject}`,
          registry: reg.host,
          repository: REPO,
          digest: a.manifestDigest,
        }),
      );
      await Deno.writeTextFile(
        `${dir}/inline.yaml`,
        "apiVersion: kars.azure.com/v1alpha1\nkind: KarsSandbox\nmetadata:\n  name: my-agent\nspec:\n  networkPolicy:\n    allowedEndpoints:\n      - host: api.github.com\n",
      );
      const ref = `${reg.host}/${REPO}@${a.manifestDigest}`;
      const base = { "signer-policy": "policy.yaml", "trusted-root": "root.json" };

      await t.step("True: exit 0, condition line, signer and endpoints", async () => {
        const r = await run(dir, base, [ref]);
        assert.equal(r.code, 0, r.out + r.err);
        assert.equal(
          r.out.split("\n")[0],
          `AllowlistVerified=True/Verified: digest=${a.manifestDigest}, generation=3`,
        );
        assert.ok(r.out.includes(`signer: keyless:${mock.defaultSubject}\n`));
        assert.ok(r.out.includes("endpoint: api.github.com:443\n"));
      });

      await t.step("--json and --manifest", async () => {
        const r = await run(dir, { ...base, json: true, manifest: "gitops.yaml" }, []);
        assert.equal(r.code, 0, r.out + r.err);
        const j = JSON.parse(r.out);
        assert.equal(j.ok, true);
        assert.equal(j.schemaVersion, 1);
        assert.deepEqual(j.verification.ours, {
          status: "True",
          reason: "Verified",
          message: `digest=${a.manifestDigest}, generation=3`,
        });
        assert.equal(j.verification.verified, true);
        assert.ok(j.verification.reference.endsWith(`@${a.manifestDigest}`));
        assert.equal(j.signer.kind, "keyless");
        assert.equal(j.endpoints.length, 2);
      });

      await t.step("False verdicts: exit 3 with the reason", async () => {
        const cases: [
          Record<string, string | boolean>,
          string[],
          Record<string, string>,
          string,
        ][] = [
          [{ ...base, "signer-policy": "other.yaml" }, [ref], {}, "IdentityMismatch"],
          [{ ...base, "signer-policy": "broken.yaml" }, [ref], {}, "SignerPolicyMalformed"],
          [{ "trusted-root": "root.json" }, [ref], {}, "SignerPolicyMissing"],
          [{ ...base, manifest: "inline.yaml" }, [], {}, "Unsigned"],
          [base, [`${reg.host}/${REPO}@sha256:${"0".repeat(64)}`], {}, "NotFound"],
          [base, [`${reg.host}/${REPO}@sha256:ABC`], {}, "InvalidRef"],
        ];
        for (const [args, pos, env, reason] of cases) {
          const r = await run(dir, args, pos, env);
          assert.equal(r.code, 3, `${reason}: ${r.out}${r.err}`);
          assert.ok(r.out.startsWith(`AllowlistVerified=False/${reason}: `), r.out);
          // No policy at all: the CLI names the flag that supplies one (the library cannot).
          assert.equal(
            r.err.includes("hint: SignerPolicyMissing: see --signer-policy"),
            reason === "SignerPolicyMissing",
            r.err,
          );
        }
        // the env fallback policy, as the controller uses it without a ConfigMap
        const env = (sans: string) => ({
          KARS_SIGNER_FULCIO_ISSUERS: `https://accounts.example, ${mock.defaultIssuer}`,
          KARS_SIGNER_SAN_PATTERNS: sans,
        });
        const viaEnv = await run(
          dir,
          { "trusted-root": "root.json" },
          [ref],
          env(`x,${mock.defaultSubject}`),
        );
        assert.equal(viaEnv.code, 0, viaEnv.out);
        const viaEnvNo = await run(dir, { "trusted-root": "root.json" }, [ref], env("x,y"));
        assert.equal(viaEnvNo.code, 3, viaEnvNo.out);
        assert.ok(viaEnvNo.out.startsWith("AllowlistVerified=False/IdentityMismatch: "));
        // the embedded public-good root does not know the mock's CA
        const prod = await run(dir, { "signer-policy": "policy.yaml" }, [ref]);
        assert.equal(prod.code, 3);
        assert.ok(prod.out.startsWith("AllowlistVerified=False/SignatureVerifyFailed: "), prod.out);
      });

      await t.step("--registry oci:DIR reads an OCI layout", async () => {
        const layout = new LayoutTarget(`${dir}/layout`);
        const b = await pushAllowlist(layout);
        await signLegacy(layout, {
          registry: "myacr.azurecr.io",
          repository: REPO,
          digest: b.manifestDigest,
          signer: keylessSigner(mock),
          rekorUrl: mock.rekorUrl,
        });
        const r = await run(dir, { ...base, registry: "oci:layout" }, [
          `myacr.azurecr.io/${REPO}@${b.manifestDigest}`,
        ]);
        assert.equal(r.code, 0, r.out + r.err);
        // the payload names myacr.azurecr.io: the same layout checked as another registry is refused
        const other = await run(dir, { ...base, registry: "oci:layout" }, [
          `other.example/${REPO}@${b.manifestDigest}`,
        ]);
        assert.equal(other.code, 3);
      });

      await t.step("registry down: exit 5 (transient), not a verdict", async () => {
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (l.addr as Deno.NetAddr).port;
        l.close();
        const r = await runCode(dir, base, [`127.0.0.1:${port}/${REPO}@${a.manifestDigest}`]);
        assert.equal(r.code, 5, r.out + r.err);
        assert.ok(r.out.startsWith("AllowlistVerified=Unknown/TransientError: "), r.out);
        assert.ok(r.err.includes("not a verdict"));
      });

      await t.step("usage and input errors (exit 2 through KarsError USAGE/INPUT)", async () => {
        const fails = async (
          args: Record<string, string | boolean>,
          pos: string[],
          code: string,
          part: string,
        ) => {
          await assert.rejects(run(dir, args, pos), (e: unknown) => {
            assert.ok(isKarsError(e) && e.code === code, String(e));
            assert.ok((e as Error).message.includes(part), (e as Error).message);
            return true;
          });
        };
        await fails(base, [], "USAGE", "missing --manifest FILE");
        await fails({ ...base, manifest: "gitops.yaml" }, [ref], "USAGE", "not both");
        await fails(base, ["no-at-sign"], "USAGE", "<registry>/<repository>@sha256:<hex>");
        await fails({ ...base, registry: "myacr.azurecr.io" }, [ref], "USAGE", "oci:DIR");
        await fails(
          { ...base, "signer-policy": "absent.yaml" },
          [ref],
          "INPUT",
          "absent.yaml: no such file",
        );
        await fails(
          { ...base, "trusted-root": "policy.yaml" },
          [ref],
          "INPUT",
          "trusted root policy.yaml",
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await mock.stop();
      await reg.stop();
    }
  },
);

Deno.test("cli: parseRefArgument splits registry, repository and digest", () => {
  const d = `sha256:${"a".repeat(64)}`;
  assert.deepEqual(parseRefArgument(`127.0.0.1:5000/policy/egress-allowlist/x@${d}`), {
    registry: "127.0.0.1:5000",
    repository: "policy/egress-allowlist/x",
    digest: d,
    artifactType: ALLOWLIST_MEDIA_TYPE,
  });
  assert.throws(() => parseRefArgument(`registry-only@${d}`), (e) => isKarsError(e, "USAGE"));
});

Deno.test(
  "cli: registry credentials from the environment; wrong or none → Unauthorized printed, exit 1 (not a verdict)",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry({ htpasswd: { user: "ci", password: "s3cret-pw" } });
    const mock = await startSigstoreMock();
    const dir = await Deno.makeTempDir({ prefix: "kars-verify-cli-auth-" });
    try {
      const target = new RegistryTarget({
        registry: reg.host,
        repository: REPO,
        credentials: () => Promise.resolve({ username: "ci", password: "s3cret-pw" }),
      });
      const a = await pushAllowlist(target);
      await signLegacy(target, {
        registry: reg.host,
        repository: REPO,
        digest: a.manifestDigest,
        signer: keylessSigner(mock),
        rekorUrl: mock.rekorUrl,
      });
      await Deno.writeTextFile(`${dir}/root.json`, JSON.stringify(mock.trustedRoot));
      await Deno.writeTextFile(
        `${dir}/policy.yaml`,
        policyYaml([mock.defaultIssuer], [mock.defaultSubject]),
      );
      const args = { "signer-policy": "policy.yaml", "trusted-root": "root.json" };
      const ref = [`${reg.host}/${REPO}@${a.manifestDigest}`];
      const env = (password?: string, boundTo: string | undefined = reg.host) => ({
        DOCKER_CONFIG: dir,
        ...(boundTo ? { KARS_REGISTRY: boundTo } : {}),
        ...(password ? { KARS_REGISTRY_USERNAME: "ci", KARS_REGISTRY_PASSWORD: password } : {}),
      });
      const ok = await run(dir, args, ref, env("s3cret-pw"));
      assert.equal(ok.code, 0, ok.out + ok.err);
      // Environment credentials belong to the KARS_REGISTRY host only: unbound, or bound to
      // another registry, they are withheld (and the warning says so, without the secret).
      for (const e of [env("s3cret-pw", ""), env("s3cret-pw", "other.example")]) {
        const r = await runCode(dir, args, ref, e);
        assert.equal(r.code, 1, r.out + r.err); // our credentials: not a verdict on the content
        assert.ok(r.out.startsWith("AllowlistVerified=False/Unauthorized: "), r.out);
        assert.match(
          r.err,
          /credentials withheld: KARS_REGISTRY_USERNAME\/KARS_REGISTRY_PASSWORD not sent to 127\.0\.0\.1:\d+/,
        );
        assert.ok(!r.out.includes("s3cret-pw") && !r.err.includes("s3cret-pw"), "no secret");
      }
      for (const e of [env("wrong-pw"), env()]) {
        const r = await runCode(dir, args, ref, e);
        assert.equal(r.code, 1, r.out + r.err);
        assert.ok(r.out.startsWith("AllowlistVerified=False/Unauthorized: "), r.out);
        assert.ok(
          !r.out.includes("wrong-pw") && !r.err.includes("wrong-pw"),
          "no secret in output",
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await mock.stop();
      await reg.stop();
    }
  },
);
