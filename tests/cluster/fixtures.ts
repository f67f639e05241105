/**
 * Fixtures of the cluster tests: the test API server, Debian's docker-registry and the
 * @sigstore/mock services together, and a simulated kars controller that verifies the live
 * sandbox with our verifier (against the mock's trust root) and writes the conditions the real
 * controller would.
 */
import { parseTrustedRoot } from "../../lib/verify/sigstore/mod.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import { verifySandbox } from "../../lib/verify/sandbox.ts";
import { anonymousRegistryTarget } from "../../lib/cluster/judge.ts";
import { utf8 } from "../../lib/encoding/bytes.ts";
import {
  type DockerRegistry,
  startDockerRegistry,
  toolsRequired,
} from "../support/docker_registry.ts";
import { type KubeApiServer, startKubeApiServer } from "../support/kube_apiserver.ts";
import { type SigstoreMock, startSigstoreMock } from "../support/sigstore_mock.ts";
import { policyYaml } from "../verify/fixtures.ts";
import { closeTransports } from "../../lib/io/transport.ts";

/** True when docker-registry is missing (tests use `ignore:`). */
export const noRegistry = (() => {
  try {
    Deno.statSync("/usr/bin/docker-registry");
    return false;
  } catch {
    if (toolsRequired()) throw new Error("docker-registry not installed; KARS_REQUIRE_TOOLS=1");
    return true;
  }
})();

/** The three services and files for a cluster test. */
export interface Stack {
  api: KubeApiServer;
  reg: DockerRegistry;
  mock: SigstoreMock;
  dir: string;
  /** trusted_root.json of the mock, written to `${dir}/root.json`. */
  rootPath: string;
  /** SignerPolicy allowing the mock's default identity, at `${dir}/policy.yaml`. */
  policyPath: string;
  /** SignerPolicy allowing only another identity, at `${dir}/other-policy.yaml`. */
  otherPolicyPath: string;
}

/** Starts the stack, runs `fn`, stops everything. */
export async function withStack(
  objects: Record<string, unknown>[],
  fn: (s: Stack) => Promise<void>,
  apiOpts: Parameters<typeof startKubeApiServer>[0] = {},
): Promise<void> {
  const reg = await startDockerRegistry();
  if (!reg) throw new Error("docker-registry missing");
  const mock = await startSigstoreMock();
  const api = await startKubeApiServer({ ...apiOpts, objects });
  const dir = await Deno.makeTempDir({ prefix: "kars-cluster-" });
  try {
    const rootPath = `${dir}/root.json`;
    await Deno.writeTextFile(rootPath, JSON.stringify(mock.trustedRoot));
    const policyPath = `${dir}/policy.yaml`;
    await Deno.writeTextFile(policyPath, policyYaml([mock.defaultIssuer], [mock.defaultSubject]));
    const otherPolicyPath = `${dir}/other-policy.yaml`;
    await Deno.writeTextFile(
      otherPolicyPath,
      policyYaml([mock.defaultIssuer], ["https://github.com/someone-else/*"]),
    );
    await fn({ api, reg, mock, dir, rootPath, policyPath, otherPolicyPath });
  } finally {
    closeTransports();
    await api.stop();
    await mock.stop();
    await reg.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The simulated kars controller: verifies the live sandbox with `policyFile` and writes
 * AllowlistVerified / AllowlistAuthoritative for the current generation (as the real one does).
 */
export async function simulateController(
  s: Stack,
  namespace: string,
  name: string,
  policyFile: string,
): Promise<{ status: string; reason: string }> {
  const live = s.api.get(namespace, name)!;
  const policy = loadSignerPolicy({ configMap: utf8(await Deno.readTextFile(policyFile)) });
  const r = await verifySandbox(live, {
    target: anonymousRegistryTarget,
    policy,
    trustedRoot: parseTrustedRoot(utf8(JSON.stringify(s.mock.trustedRoot))),
  });
  const c = r.condition;
  s.api.setConditions(namespace, name, [
    { type: "AllowlistVerified", status: c.status, reason: c.reason, message: c.message },
    c.status === "True"
      ? { type: "AllowlistAuthoritative", status: "True", reason: "Verified" }
      : { type: "AllowlistAuthoritative", status: "False", reason: "FailedClosed" },
  ]);
  return { status: c.status, reason: c.reason };
}

/** A KarsSandbox as a cluster holds it. */
export function sandbox(name: string, namespace: string, hosts: string[]) {
  return {
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name, namespace },
    spec: {
      networkPolicy: {
        egressMode: "Learn",
        allowedEndpoints: hosts.map((host) => ({ host, port: 443 })),
      },
    },
  };
}

/** Waits (bounded) for a condition. */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
