/**
 * Verdict throughput of one source tree: `N` distinct allowlists, each with a keyless legacy
 * signature (one Fulcio certificate, one Rekor entry per signature, from the `@sigstore/mock`
 * services on loopback), verified offline from an in-memory target with `verifyAllowlist`.
 * Prints one JSON object: distinct verdicts/s without a cache, and cached verdicts/s (the same
 * digest and policy again, through `VerdictCache`), each per wall-clock second and per CPU
 * second of the process.
 *
 * `bench/verdicts.ts` runs this file in the current tree and in a checkout of the baseline
 * commit, in the same bench run, so the ratio is measured, not remembered. It uses only APIs
 * both trees have.
 *
 * Usage: `deno run -A bench/verdict_runner.ts N [ROUNDS]`
 *
 * @module
 */
import process from "node:process";
import { MemoryTarget } from "../lib/oci/memory.ts";
import type { SignerPolicy } from "../lib/verify/policy.ts";
import { verifyAllowlist } from "../lib/verify/verdict.ts";
import { VerdictCache } from "../lib/verify/cache.ts";
import { parseTrustedRoot } from "../lib/verify/sigstore/mod.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../lib/oci/artifact.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { keylessSigner, policyYaml, pushAllowlist, signLegacy } from "../tests/verify/fixtures.ts";

// `parseSignerPolicy` moved from policy.ts to policy_parse.ts in this round (issue 12): the
// runner imports it from wherever the tree it runs in has it (this tree or the baseline).
type ParseSignerPolicy = (input: string | Uint8Array, source?: string) => SignerPolicy;
const parseSignerPolicy: ParseSignerPolicy = await import("../lib/verify/policy_parse.ts")
  .then((m) => m.parseSignerPolicy as ParseSignerPolicy)
  .catch(() =>
    import("../lib/verify/policy.ts").then((m) =>
      (m as Record<string, unknown>).parseSignerPolicy as ParseSignerPolicy
    )
  );

const n = Number(Deno.args[0] ?? "50");
const rounds = Number(Deno.args[1] ?? "2");
const REGISTRY = "myacr.azurecr.io";
const REPOSITORY = "policy/egress-allowlist/bench";

const target = new MemoryTarget();
const mock = await startSigstoreMock();
const digests: string[] = [];
let policy, trustedRoot;
const t0 = performance.now();
try {
  const signer = keylessSigner(mock);
  // Sign with bounded concurrency: the mock's Rekor is the slow part of the set-up.
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const a = await pushAllowlist(target, { generation: i + 1 });
      await signLegacy(target, {
        registry: REGISTRY,
        repository: REPOSITORY,
        digest: a.manifestDigest,
        signer,
        rekorUrl: mock.rekorUrl,
      });
      digests[i] = a.manifestDigest;
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, n) }, worker));
  policy = parseSignerPolicy(policyYaml([mock.defaultIssuer], [mock.defaultSubject]));
  trustedRoot = parseTrustedRoot(JSON.stringify(mock.trustedRoot));
} finally {
  await mock.stop();
}
const setupMs = performance.now() - t0;
const refOf = (digest: string) => ({
  registry: REGISTRY,
  repository: REPOSITORY,
  digest,
  artifactType: ALLOWLIST_MEDIA_TYPE,
});
const once = async (digest: string, cache?: Cache) => {
  const r = await verifyAllowlist({ ref: refOf(digest), target, policy, trustedRoot, cache });
  if (!r.verdict) throw new Error(`verification failed: ${r.condition.message}`);
};
// Warm-up: JIT and lazy tables (both trees get the same). Ten verdicts whatever N is: with
// one allowlist a single warm-up verdict left the lazy per-key tables (built at a key's second
// use) and most of the JIT inside the measured loop.
for (let i = 0; i < 10; i++) await once(digests[i % n]);
/** CPU seconds of this process (user + system): steadier than wall time on a busy machine. */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let t = performance.now();
let c = cpu();
for (let r = 0; r < rounds; r++) for (const d of digests) await once(d);
const distinct = (rounds * n) / ((performance.now() - t) / 1000);
const distinctCpu = (rounds * n) / (cpu() - c);
type Cache = NonNullable<Parameters<typeof verifyAllowlist>[0]["cache"]>;
const cache = new VerdictCache() as Cache;
for (const d of digests) await once(d, cache);
const hits = Math.max(10_000, n * 4);
t = performance.now();
c = cpu();
for (let i = 0; i < hits; i++) await once(digests[i % n], cache);
const cached = hits / ((performance.now() - t) / 1000);
const cachedCpu = hits / (cpu() - c);
console.log(JSON.stringify({ n, rounds, distinct, distinctCpu, cached, cachedCpu, setupMs }));
