/**
 * `deno run -A bench/audit_bench.ts [--sandboxes N] [--allowlists M] [--output bench/RESULTS.md]`
 *
 * `kars egress audit -A` over a fleet on the test API server (default 5,000 KarsSandboxes in
 * 50 namespaces sharing 50 signed allowlists in docker-registry, keyless signatures from the
 * Sigstore mock): wall time, verifications (expected: one per distinct allowlist), API
 * requests, registry requests, peak memory (VmHWM of the CLI process), next to a peer measured
 * in the same run on the same server: `kubectl get karssandboxes -A -o json` (listing only).
 * Writes a "Fleet audit" section into bench/RESULTS.md (replacing an earlier one). Not a test:
 * nothing here asserts a time.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ALLOWLIST_MEDIA_TYPE } from "../lib/oci/artifact.ts";
import { RegistryTarget } from "../lib/oci/registry.ts";
import { startDockerRegistry } from "../tests/support/docker_registry.ts";
import { startKubeApiServer } from "../tests/support/kube_apiserver.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { keylessSigner, policyYaml, pushAllowlist, signLegacy } from "../tests/verify/fixtures.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    sandboxes: { type: "string", default: "5000" },
    allowlists: { type: "string", default: "50" },
    output: { type: "string", default: join(ROOT, "bench/RESULTS.md") },
  },
});
const N = Number(values.sandboxes);
const M = Number(values.allowlists);

interface Run {
  ms: number;
  peakKiB: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, polling /proc/<pid>/status for VmHWM (peak resident set). */
async function measured(cmd: string, args: string[]): Promise<Run> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  let peak = 0;
  let done = false;
  const poll = (async () => {
    while (!done) {
      try {
        const s = await Deno.readTextFile(`/proc/${child.pid}/status`);
        const m = /VmHWM:\s+(\d+) kB/.exec(s);
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch { /* exited */ }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const out = await child.output();
  done = true;
  await poll;
  const dec = new TextDecoder();
  return {
    ms: performance.now() - t0,
    peakKiB: peak,
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

const reg = await startDockerRegistry();
if (!reg) throw new Error("docker-registry is needed for this benchmark");
const mock = await startSigstoreMock();
const dir = await Deno.makeTempDir({ prefix: "kars-audit-bench-" });
let registryRequests = 0;
// Count registry requests through a loopback proxy in front of docker-registry.
const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
  registryRequests++;
  const u = new URL(req.url);
  return fetch(`${reg.url}${u.pathname}${u.search}`, {
    method: req.method,
    headers: req.headers,
    body: req.body,
  });
});
const host = `127.0.0.1:${proxy.addr.port}`;
try {
  const t0 = performance.now();
  const refs: { registry: string; repository: string; digest: string; artifactType: string }[] = [];
  for (let i = 0; i < M; i++) {
    const repository = `policy/egress-allowlist/team-${i}`;
    const target = new RegistryTarget({ registry: reg.host, repository });
    const a = await pushAllowlist(target, {
      generation: 1,
      endpoints: [{ host: `api-${i}.example.com`, port: 443 }],
    });
    await signLegacy(target, {
      registry: host,
      repository,
      digest: a.manifestDigest,
      signer: keylessSigner(mock),
      rekorUrl: mock.rekorUrl,
    });
    refs.push({
      registry: host,
      repository,
      digest: a.manifestDigest,
      artifactType: ALLOWLIST_MEDIA_TYPE,
    });
  }
  const objects = Array.from({ length: N }, (_, i) => ({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name: `agent-${i}`, namespace: `team-${i % M}` },
    spec: { networkPolicy: { egressMode: "Strict", allowlistRef: refs[i % M] } },
    status: {
      conditions: [{
        type: "AllowlistVerified",
        status: "True",
        reason: "Verified",
        observedGeneration: 1,
        lastTransitionTime: "2026-11-30T00:00:00Z",
        message: `digest=${refs[i % M].digest}, generation=1`,
      }],
    },
  }));
  const api = await startKubeApiServer({ objects });
  const setupMs = performance.now() - t0;
  try {
    await Deno.writeTextFile(`${dir}/root.json`, JSON.stringify(mock.trustedRoot));
    await Deno.writeTextFile(
      `${dir}/policy.yaml`,
      policyYaml([mock.defaultIssuer], [mock.defaultSubject]),
    );
    const before = api.requests.length;
    registryRequests = 0;
    const audit = await measured(Deno.execPath(), [
      "run",
      "--allow-all",
      "--quiet",
      join(ROOT, "cli.ts"),
      "egress",
      "audit",
      "-A",
      "--json",
      "--kubeconfig",
      api.kubeconfigPath,
      "--signer-policy",
      `${dir}/policy.yaml`,
      "--trusted-root",
      `${dir}/root.json`,
      "--allowed-registry",
      host,
    ]);
    const apiRequests = api.requests.length - before;
    const writes = api.requests.slice(before).filter((q) => q.method !== "GET").length;
    const regRequests = registryRequests;
    if (audit.code !== 0) throw new Error(`audit exited ${audit.code}: ${audit.stderr}`);
    const out = JSON.parse(audit.stdout);
    const cache = await Deno.makeTempDir({ prefix: "kars-kubectl-cache-" });
    const peer = await measured("kubectl", [
      "--kubeconfig",
      api.kubeconfigPath,
      "--cache-dir",
      cache,
      "get",
      "karssandboxes",
      "-A",
      "-o",
      "json",
    ]);
    await Deno.remove(cache, { recursive: true });
    if (peer.code !== 0) throw new Error(`kubectl exited ${peer.code}: ${peer.stderr}`);
    const peerItems = JSON.parse(peer.stdout).items.length;
    const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" / ");
    const mib = (k: number) => `${(k / 1024).toFixed(0)} MiB`;
    const s = out.summary;
    const section = `## Fleet audit (\`bench/audit_bench.ts\`)

\`kars egress audit -A --json\` (a separate \`deno run cli.ts\` process) over ${
      N.toLocaleString("en-US")
    } KarsSandboxes in ${M} namespaces sharing ${M} keyless-signed allowlists (docker-registry behind a counting loopback proxy, Sigstore mock trust root), on the test API server; peer in the same run: \`kubectl get karssandboxes -A -o json\` on the same server. Load average at start: ${load}. Set-up (push, sign, load the API server): ${
      (setupMs / 1000).toFixed(1)
    } s.

| what | kars egress audit -A | kubectl get -A -o json (peer) |
|---|--:|--:|
| wall time | ${(audit.ms / 1000).toFixed(2)} s | ${(peer.ms / 1000).toFixed(2)} s |
| ratio to the peer | ${(audit.ms / peer.ms).toFixed(2)}× | 1× |
| sandboxes | ${s.sandboxes} | ${peerItems} |
| verifications | ${s.verifications} (distinct allowlists: ${s.distinctReferences}) | — |
| Kubernetes API requests | ${apiRequests} (writes: ${writes}) | — |
| registry requests | ${regRequests} | — |
| peak memory (VmHWM) | ${mib(audit.peakKiB)} | ${mib(peer.peakKiB)} |
| findings | ${JSON.stringify(s.findings)} | — |
`;
    console.log(section);
    const file = values.output!;
    let text = "";
    try {
      text = await Deno.readTextFile(file);
    } catch { /* new file */ }
    const start = text.indexOf("## Fleet audit");
    if (start >= 0) {
      const next = text.indexOf("\n## ", start + 1);
      text = text.slice(0, start) + (next >= 0 ? text.slice(next + 1) : "");
    }
    text = text.trimEnd() + "\n\n" + section;
    await Deno.writeTextFile(file, text);
  } finally {
    await api.stop();
  }
} finally {
  await proxy.shutdown();
  await mock.stop();
  await reg.stop();
  await Deno.remove(dir, { recursive: true });
}
