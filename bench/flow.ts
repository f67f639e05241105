/**
 * End-to-end flow measurement for `bench/run.ts`: `kars egress --enforce --emit-manifest`
 * (keyless signing) against Debian's docker-registry and the `@sigstore/mock` Fulcio/Rekor on
 * loopback — wall time and HTTP requests for a fresh push and a repeat push — next to
 * `skopeo copy` of the same artifact from an OCI layout into the same registry.
 *
 * Requests are counted on the wire: the registry sits behind a counting proxy
 * (`tests/support/counting_proxy.ts`) and the mock records what it serves.
 *
 * @module
 */
import { join } from "node:path";
import { startDockerRegistry } from "../tests/support/docker_registry.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { type ProxiedRequest, startCountingProxy } from "../tests/support/counting_proxy.ts";
import { median } from "./harness.ts";
import { runProfile } from "./profile.ts";
import { keylessEgressArgs, prepareKeylessFlowDir } from "../tests/support/keyless_flow.ts";

const EMPTY_CONFIG = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/** One measured run. */
interface Run {
  ms: number;
  registry: ProxiedRequest[];
  sigstore: number;
  sigstoreLines?: string[];
  digest?: string;
}

function uploads(reqs: ProxiedRequest[]): string[] {
  // A finished blob upload is the PUT (or a single POST) carrying ?digest=.
  return reqs.filter((r) => /\/blobs\/uploads\//.test(r.path) && /[?&]digest=/.test(r.path))
    .map((r) => decodeURIComponent(/[?&]digest=([^&]+)/.exec(r.path)![1]));
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/**
 * Runs `argv` in `cwd` with exactly `env` (nothing inherited: a variable deleted from `env` is
 * unset in the child) and returns its wall time and stdout; throws when it fails.
 *
 * @example
 * ```ts
 * import { exec } from "./flow.ts";
 * const { ms } = await exec(["node", "-e", "0"], { PATH: "/usr/bin:/bin" }, "/tmp");
 * ```
 */
export async function exec(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now();
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const stderr = new TextDecoder().decode(o.stderr);
  if (!o.success) throw new Error(`${argv.slice(0, 4).join(" ")}… exited ${o.code}: ${stderr}`);
  return { ms, stdout: new TextDecoder().decode(o.stdout) };
}

/**
 * Runs the flow benchmark and returns Markdown lines for RESULTS.md.
 *
 * @example
 * ```ts
 * import { runFlowBench } from "./flow.ts";
 * console.log((await runFlowBench({ root: ".", runs: 1 })).join("\n"));
 * ```
 */
export async function runFlowBench(
  opts: { root: string; runs: number; binary?: string; profile?: boolean },
): Promise<string[]> {
  const reg = await startDockerRegistry().catch(() => null);
  if (!reg) return ["Not measured: docker-registry is not installed."];
  const dir = await Deno.makeTempDir({ prefix: "kars-bench-flow-" });
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
  const out: string[] = [];
  try {
    const env = await prepareKeylessFlowDir(dir, opts.root, mock);
    const kars = async (cli: string[], repo: string, runEnv = env): Promise<Run> => {
      proxy.reset();
      const before = mock.requests.length;
      const r = await exec(
        [
          ...cli,
          ...keylessEgressArgs({
            registry: proxy.host,
            repository: repo,
            fulcioUrl: mock.fulcioUrl,
            rekorUrl: mock.rekorUrl,
            trustedRoot: "root.json",
          }),
        ],
        runEnv,
        dir,
      );
      let digest: string | undefined;
      try {
        digest = JSON.parse(r.stdout).digest;
      } catch { /* no JSON: digest stays unknown */ }
      return {
        ms: r.ms,
        registry: [...proxy.requests],
        sigstore: mock.requests.length - before,
        sigstoreLines: mock.requests.slice(before).map((q) =>
          `${q.method} ${q.service}${q.path} ${q.status}`
        ),
        digest,
      };
    };
    const denoCli = [Deno.execPath(), "run", "-A", "--frozen", join(opts.root, "cli.ts")];
    const fresh: Run[] = [];
    const repeat: Run[] = [];
    const binFresh: Run[] = [];
    const binRepeat: Run[] = [];
    // Node 20 reads NODE_EXTRA_CA_CERTS eagerly at start (tens of ms of CPU); the variable is
    // an environment choice (set on this machine for npm), not part of the binary, so the
    // binary is measured with and without it. `deno run` ignores it.
    const extraCa = env.NODE_EXTRA_CA_CERTS !== undefined;
    const envNoCa: Record<string, string> = { ...env };
    delete envNoCa.NODE_EXTRA_CA_CERTS;
    const binFreshNoCa: Run[] = [];
    const binRepeatNoCa: Run[] = [];
    let failure: string | undefined;
    // skopeo: the same artifact, from an OCI layout (exported after the first fresh run), into
    // the same registry — interleaved run by run with kars, so both see the same machine.
    const sk: Run[] = [];
    const skRepeat: Run[] = [];
    let skopeoError: string | undefined;
    const skopeoPair = async (i: number) => {
      if (skopeoError) return;
      try {
        if (i === 0) {
          const digest = fresh.find((r) => r.digest)?.digest;
          if (!digest) throw new Error("the first fresh run printed no digest");
          await exec(
            [
              "skopeo",
              "copy",
              "--src-tls-verify=false",
              "--preserve-digests",
              `docker://${reg.host}/policy/egress-allowlist/bench-0@${digest}`,
              `oci:${join(dir, "layout")}:latest`,
            ],
            env,
            dir,
          );
        }
        for (const list of [sk, skRepeat]) {
          proxy.reset();
          const r = await exec(
            [
              "skopeo",
              "copy",
              "--dest-tls-verify=false",
              "--preserve-digests",
              `oci:${join(dir, "layout")}:latest`,
              `docker://${proxy.host}/policy/skopeo-copy-${i}:latest`,
            ],
            env,
            dir,
          );
          list.push({ ms: r.ms, registry: [...proxy.requests], sigstore: 0 });
        }
      } catch (e) {
        skopeoError = (e as Error).message.split("\n")[0];
      }
    };
    try {
      for (let i = 0; i < opts.runs; i++) {
        fresh.push(await kars(denoCli, `policy/egress-allowlist/bench-${i}`));
        repeat.push(await kars(denoCli, `policy/egress-allowlist/bench-${i}`));
        await skopeoPair(i);
        if (opts.binary) {
          binFresh.push(await kars([opts.binary], `policy/egress-allowlist/bench-bin-${i}`));
          binRepeat.push(await kars([opts.binary], `policy/egress-allowlist/bench-bin-${i}`));
          if (extraCa) {
            const repo = `policy/egress-allowlist/bench-bin-noca-${i}`;
            binFreshNoCa.push(await kars([opts.binary], repo, envNoCa));
            binRepeatNoCa.push(await kars([opts.binary], repo, envNoCa));
          }
        }
      }
    } catch (e) {
      failure = (e instanceof Error ? e.message : String(e)).split("\n").slice(0, 3).join(" ");
    }
    const rows = [
      "| what | median wall time | HTTP requests (registry + Fulcio/Rekor) | blobs uploaded |",
      "|---|--:|--:|---|",
    ];
    const ratios: string[] = [];
    const describe = (runs: Run[], label: string) => {
      if (!runs.length) return;
      const last = runs[runs.length - 1];
      const up = uploads(last.registry);
      const kinds = up.map((d) => d === EMPTY_CONFIG ? "empty config" : d.slice(0, 19) + "…");
      rows.push(
        `| ${label} | ${fmt(median(runs.map((r) => r.ms)))} | ${
          last.registry.length + last.sigstore
        } (${last.registry.length} + ${last.sigstore}) | ${up.length} ${
          kinds.length ? `(${kinds.join(", ")})` : ""
        } |`,
      );
    };
    describe(
      fresh,
      "`kars egress --enforce --emit-manifest` (keyless, `deno run`), fresh repository",
    );
    describe(repeat, "same command again (repeat push)");
    describe(binFresh, "the same, standalone binary, fresh repository");
    describe(binRepeat, "standalone binary, repeat push");
    describe(
      binFreshNoCa,
      "standalone binary, fresh, `NODE_EXTRA_CA_CERTS` unset (as on a CI runner)",
    );
    describe(binRepeatNoCa, "standalone binary, repeat, `NODE_EXTRA_CA_CERTS` unset");
    if (skopeoError) {
      rows.push(`| skopeo copy | not measured: ${skopeoError} | | |`);
    } else if (sk.length) {
      describe(sk, "`skopeo copy oci:… docker://…` of the same artifact, fresh (no signing)");
      describe(skRepeat, "`skopeo copy` again (repeat)");
      const m = (runs: Run[]) => runs.length ? median(runs.map((r) => r.ms)) : NaN;
      const ratio = (a: number, b: number) =>
        Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "n/a";
      if (!binFresh.length) {
        ratios.push(
          "Ratios of medians in this run (issue 15 targets in brackets):",
          "",
          `- \`deno run\` fresh / skopeo fresh: ${ratio(m(fresh), m(sk))} [≤ 2.5]`,
          `- \`deno run\` repeat / skopeo repeat: ${ratio(m(repeat), m(skRepeat))} [≤ 3]`,
          "",
        );
      }
      if (binFresh.length) {
        const noCa = binFreshNoCa.length ? binFreshNoCa : binFresh;
        const noCaRepeat = binRepeatNoCa.length ? binRepeatNoCa : binRepeat;
        ratios.push(
          "Ratios of medians in this run (issue 15 targets in brackets):",
          "",
          `- standalone fresh / \`deno run\` fresh: ${ratio(m(binFresh), m(fresh))}` +
            (binFreshNoCa.length
              ? `; without NODE_EXTRA_CA_CERTS ${ratio(m(noCa), m(fresh))}`
              : "") +
            " [≤ 1]",
          `- standalone fresh / skopeo fresh: ${ratio(m(binFresh), m(sk))}` +
            (binFreshNoCa.length ? `; without NODE_EXTRA_CA_CERTS ${ratio(m(noCa), m(sk))}` : "") +
            ` [≤ 2.5]; \`deno run\` fresh / skopeo fresh: ${ratio(m(fresh), m(sk))}`,
          `- standalone repeat / skopeo repeat: ${ratio(m(binRepeat), m(skRepeat))}` +
            (binRepeatNoCa.length
              ? `; without NODE_EXTRA_CA_CERTS ${ratio(m(noCaRepeat), m(skRepeat))}`
              : "") +
            ` [≤ 3]; \`deno run\` repeat / skopeo repeat: ${ratio(m(repeat), m(skRepeat))}`,
          "",
        );
      }
    }
    out.push(
      `Medians of ${opts.runs} runs of each row; every kars variant and skopeo run in turn within each round (interleaved), so all see the same machine.`,
      "",
      ...rows,
      "",
      ...ratios,
    );
    if (opts.profile) {
      let n = 0;
      try {
        out.push(
          "### Profile",
          "",
          ...await runProfile({
            root: opts.root,
            runs: Math.min(opts.runs, 3),
            binary: opts.binary,
            flow: async (cli, file) => {
              const repo = `policy/egress-allowlist/profile-${n++}`;
              await exec(
                [
                  ...cli,
                  ...keylessEgressArgs({
                    registry: reg.host,
                    repository: repo,
                    fulcioUrl: mock.fulcioUrl,
                    rekorUrl: mock.rekorUrl,
                    json: false,
                  }),
                ],
                { ...env, KARS_PROFILE: file },
                dir,
              );
            },
          }),
        );
      } catch (e) {
        out.push(`Profile not measured: ${(e as Error).message.split("\n")[0]}`, "");
      }
    }
    if (failure) out.push(`kars flow not measured (or incomplete): ${failure}`, "");
    const f = fresh[fresh.length - 1];
    if (f) {
      const n = f.registry.length + f.sigstore;
      out.push(
        `Target: fresh keyless flow in at most 14 HTTP requests — measured ${n} (${
          n <= 14 ? "met" : `missed by ${n - 14}`
        }).`,
        "",
        "Requests of the last fresh kars run (registry, through the counting proxy):",
        "",
        "```",
        ...f.registry.map((r) =>
          `${r.method} ${r.path.replace(/_state=[^&]+/, "_state=…")} ${r.status}`
        ),
        ...(f.sigstoreLines ?? []),
        "```",
        "",
      );
      const r = repeat[repeat.length - 1];
      if (r) {
        const n = r.registry.length + r.sigstore;
        out.push(
          `Target: repeat keyless flow (already pushed and signed) in at most 6 HTTP requests — ` +
            `measured ${n} (${n <= 6 ? "met" : `missed by ${n - 6}`}).`,
          "",
          "Requests of the last repeat kars run:",
          "",
          "```",
          ...r.registry.map((q) =>
            `${q.method} ${q.path.replace(/_state=[^&]+/, "_state=…")} ${q.status}`
          ),
          ...(r.sigstoreLines ?? []),
          "```",
          "",
        );
        const before = new Set(uploads(f.registry));
        const again = uploads(r.registry).filter((d) => before.has(d));
        out.push(
          `Repeat run: ${uploads(r.registry).length} blob upload(s); ${again.length} of them` +
            " re-upload a blob the fresh run already pushed (target: 0). (With the trust" +
            " root the repeat finds its own signature and signs nothing; a forced new keyless" +
            " signature would be a new blob by design.)",
          "",
        );
      }
    }
  } finally {
    await mock.stop();
    await proxy.stop();
    await reg.stop();
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}
