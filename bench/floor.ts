/**
 * What a repeat run costs at the least under Node, beside the standalone binary and skopeo
 * (issue 15's "repeat ≤ 3× skopeo"): interleaved run by run against docker-registry behind the
 * flow bench's counting proxy,
 * - bare `node -e 0`: the runtime's start and exit;
 * - `bench/floor_client.ts` replaying exactly the requests of the binary's repeat run (captured
 *   on the wire), one keep-alive connection, nothing parsed or checked;
 * - the same plus the repeat's P-256 verifications with noble (its only crypto);
 * - the binary's repeat run itself, and `skopeo copy` again (its repeat).
 * Every Node process runs without `NODE_EXTRA_CA_CERTS` (as on a CI runner). Not part of the
 * package.
 *
 * `deno run -A bench/floor.ts --binary dist/kars [--runs 9]`
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bundle } from "../scripts/build_binary.ts";
import { startCountingProxy } from "../tests/support/counting_proxy.ts";
import { startDockerRegistry } from "../tests/support/docker_registry.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { keylessEgressArgs, prepareKeylessFlowDir } from "../tests/support/keyless_flow.ts";
import { median } from "./harness.ts";
import { exec as run } from "./flow.ts";
import type { FloorPlan, FloorStep } from "./floor_client.ts";
import { OCI_MANIFEST } from "../lib/oci/types.ts";

/**
 * ECDSA verifications of a keyless repeat run: the payload signature, the leaf certificate by
 * the Fulcio intermediate, the intermediate by the root, the embedded SCT and the Rekor SET.
 */
const REPEAT_VERIFICATIONS = 5;

/** The confirming read's least delay (lib/oci/confirm_write.ts, `minRecheckMs`). */
const CONFIRM_FLOOR_MS = 25;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Runs the floor measurement and returns Markdown lines for RESULTS.md.
 *
 * @example
 * ```ts
 * import { runFloorBench } from "./floor.ts";
 * console.log((await runFloorBench({ root: ".", runs: 3, binary: "dist/kars" })).join("\n"));
 * ```
 */
export async function runFloorBench(
  opts: { root: string; runs: number; binary: string },
): Promise<string[]> {
  const reg = await startDockerRegistry().catch(() => null);
  if (!reg) return ["Not measured: docker-registry is not installed."];
  // Whatever started is stopped when a later start fails.
  const proxy = await startCountingProxy(reg.url).catch(async (e) => {
    await reg.stop();
    throw e;
  });
  const mock = await startSigstoreMock().catch(async (e) => {
    await proxy.stop();
    await reg.stop();
    throw e;
  });
  const dir = await Deno.makeTempDir({ prefix: "kars-bench-floor-" });
  try {
    const env = await prepareKeylessFlowDir(dir, opts.root, mock);
    delete env.NODE_EXTRA_CA_CERTS;
    const exec = (argv: string[]) => run(argv, env, dir);
    const repo = "policy/egress-allowlist/floor";
    const kars = (repository = repo) =>
      exec([
        resolve(opts.binary),
        ...keylessEgressArgs({
          registry: proxy.host,
          repository,
          fulcioUrl: mock.fulcioUrl,
          rekorUrl: mock.rekorUrl,
          trustedRoot: "root.json",
        }),
      ]);
    // The requests of a fresh and of a repeat run, as the proxy saw them.
    proxy.reset();
    const digest = JSON.parse((await kars()).stdout).digest as string;
    const freshSeen = [...proxy.requests];
    proxy.reset();
    await kars();
    const repeatSeen = [...proxy.requests];
    const generic = (path: string) => path.replace(`/v2/${repo}/`, "/v2/{repo}/");
    const upstream = `http://${reg.host}/v2/${repo}`;
    const bytesOf = async (path: string) =>
      new Uint8Array(
        await (await fetch(`${upstream}/${path}`, {
          headers: { accept: OCI_MANIFEST },
        })).arrayBuffer(),
      );
    const sigTag = `sha256-${digest.slice(7)}.sig`;
    const manifest = await bytesOf(`manifests/${digest}`);
    const sigManifest = await bytesOf(`manifests/${sigTag}`);
    const verifies = Array.from({ length: REPEAT_VERIFICATIONS }, (_, i) => {
      const key = p256.utils.randomSecretKey();
      const d = sha256(new Uint8Array([i]));
      const sig = p256.sign(d, key, { prehash: false, format: "der" });
      return { pub: hex(p256.getPublicKey(key, false)), digest: hex(d), sig: hex(sig) };
    });
    const firstGet = repeatSeen.findIndex((r) => r.method === "GET" && r.path.endsWith(digest));
    const repeatRequests: FloorStep[] = repeatSeen.map((r) => ({
      kind: "request",
      method: r.method,
      path: generic(r.path),
      ...(r.method === "PUT" ? { bodyFrom: firstGet } : {}),
    }));
    const last = repeatRequests.length - 1; // the tag PUT, after the verification
    const uploaded = freshSeen.filter((r) => r.method === "PUT" && /[?&]digest=/.test(r.path))
      .map((r) => decodeURIComponent(/[?&]digest=([^&]+)/.exec(r.path)![1]));
    const blobs = await Promise.all(
      uploaded.map(async (d) => ({ digest: d, body: hex(await bytesOf(`blobs/${d}`)) })),
    );
    const put = (path: string, body: Uint8Array): FloorStep => ({
      kind: "request",
      method: "PUT",
      path: `/v2/{repo}/${path}`,
      body: hex(body),
      contentType: OCI_MANIFEST,
    });
    const freshRequests = (work: { sign: boolean; wait: boolean }): FloorStep[] => [
      { kind: "request", method: "HEAD", path: `/v2/{repo}/manifests/${digest}`, expect: [404] },
      // The key and the two signatures overlap the uploads, as in the binary.
      { kind: "uploads", blobs, ...(work.sign ? { sign: { keys: 1, signatures: 2 } } : {}) },
      put(`manifests/${digest}`, manifest),
      { kind: "request", method: "GET", path: `/v2/{repo}/manifests/${sigTag}`, expect: [404] },
      put(`manifests/${sigTag}`, sigManifest),
      ...(work.wait ? [{ kind: "sleep", ms: CONFIRM_FLOOR_MS } as const] : []),
      { kind: "request", method: "GET", path: `/v2/{repo}/manifests/${sigTag}` },
      put("manifests/latest", manifest),
    ];
    const plans: Record<string, FloorPlan> = {
      repeatRequests: { host: proxy.host, steps: repeatRequests },
      repeatAll: {
        host: proxy.host,
        steps: [
          ...repeatRequests.slice(0, last),
          { kind: "verify", verifies },
          repeatRequests[last], // its body comes from a step before the verification
        ],
      },
      freshRequests: { host: proxy.host, steps: freshRequests({ sign: false, wait: false }) },
      freshCrypto: { host: proxy.host, steps: freshRequests({ sign: true, wait: false }) },
      freshAll: { host: proxy.host, steps: freshRequests({ sign: true, wait: true }) },
    };
    const planFile: Record<string, string> = {};
    for (const [k, p] of Object.entries(plans)) {
      planFile[k] = join(dir, `${k}.json`);
      await Deno.writeTextFile(planFile[k], JSON.stringify(p));
    }
    const client = join(dir, "floor_client.cjs");
    await bundle("bench/floor_client.ts", client, "cjs", false, true);
    // skopeo: the artifact from a layout, into a new repository (fresh) and again (repeat).
    const layout = `oci:${join(dir, "layout")}:latest`;
    await exec([
      "skopeo",
      "copy",
      "--src-tls-verify=false",
      "--preserve-digests",
      `docker://${reg.host}/${repo}@${digest}`,
      layout,
    ]);
    const skopeo = (to: string) => [
      "skopeo",
      "copy",
      "--dest-tls-verify=false",
      "--preserve-digests",
      layout,
      `docker://${proxy.host}/${to}:latest`,
    ];
    await exec(skopeo("policy/skopeo-floor"));

    type Row = { label: string; run: (i: number) => Promise<{ ms: number }> };
    const node = (plan: string, repository: string) =>
      exec(["node", client, planFile[plan], repository]);
    const repeatRows: Row[] = [
      { label: "bare `node -e 0`", run: () => exec(["node", "-e", "0"]) },
      {
        label: `Node client: the repeat's ${repeatRequests.length} requests only`,
        run: () => node("repeatRequests", repo),
      },
      {
        label: `Node client: the same + ${REPEAT_VERIFICATIONS} P-256 verifications (noble)`,
        run: () => node("repeatAll", repo),
      },
      { label: "standalone binary, repeat run", run: () => kars() },
      { label: "`skopeo copy` again (repeat)", run: () => exec(skopeo("policy/skopeo-floor")) },
    ];
    const freshRows: Row[] = [
      {
        label: `Node client: the fresh run's ${freshSeen.length} registry requests only ` +
          "(uploads in parallel)",
        run: (i) => node("freshRequests", `${repo}-req-${i}`),
      },
      {
        label: "Node client: the same + key, 2 signatures (noble), overlapping the uploads",
        run: (i) => node("freshCrypto", `${repo}-crypto-${i}`),
      },
      {
        label: "Node client: the same + the confirming read's least delay " +
          `(${CONFIRM_FLOOR_MS} ms, kars' guard against a concurrent signer's lost write)`,
        run: (i) => node("freshAll", `${repo}-all-${i}`),
      },
      { label: "standalone binary, fresh run", run: (i) => kars(`${repo}-bin-${i}`) },
      {
        label: "`skopeo copy` to a new repository (fresh)",
        run: (i) => exec(skopeo(`policy/skopeo-floor-${i}`)),
      },
    ];
    const rows = [...repeatRows, ...freshRows];
    const times = rows.map(() => [] as number[]);
    for (let i = 0; i < opts.runs; i++) {
      for (const [k, row] of rows.entries()) times[k].push((await row.run(i)).ms);
    }
    const m = times.map((t) => median(t));
    const skRepeat = m[repeatRows.length - 1];
    const skFresh = m[rows.length - 1];
    const table = (part: Row[], offset: number, peer: number, name: string) => [
      `| what | median wall | / ${name} |`,
      "|---|--:|--:|",
      ...part.map((r, k) =>
        `| ${r.label} | ${m[offset + k].toFixed(0)} ms | ${(m[offset + k] / peer).toFixed(2)}× |`
      ),
    ];
    return [
      `Medians of ${opts.runs} runs of each row, interleaved (every row in turn within each ` +
      "round), all through the flow bench's counting proxy; the Node rows run the `node` that " +
      "becomes the binary, without `NODE_EXTRA_CA_CERTS`. The Node client " +
      "(`bench/floor_client.ts`) replays the binary's own requests, captured on the wire, and " +
      "does nothing else (no YAML, canonical form, parsing, checks or Sigstore services).",
      "",
      "Repeat run:",
      "",
      ...table(repeatRows, 0, skRepeat, "skopeo repeat"),
      "",
      "Fresh run:",
      "",
      ...table(freshRows, repeatRows.length, skFresh, "skopeo fresh"),
      "",
      `Issue 15 asks the binary for ≤ 3× skopeo's repeat (${(3 * skRepeat).toFixed(0)} ms here) ` +
      `and ≤ 2.5× its fresh copy (${(2.5 * skFresh).toFixed(0)} ms here).`,
    ];
  } finally {
    await mock.stop();
    await proxy.stop();
    await reg.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { binary: { type: "string" }, runs: { type: "string", default: "9" } },
  });
  const runs = Number(values.runs);
  if (!values.binary || !Number.isSafeInteger(runs) || runs < 1) {
    console.error("usage: floor.ts --binary dist/kars [--runs N ≥ 1]");
    Deno.exit(2);
  }
  const root = resolve(import.meta.dirname!, "..");
  console.log(
    (await runFloorBench({ root, runs, binary: values.binary })).join("\n"),
  );
}
