/**
 * The standalone binary (issue 5): built offline by `scripts/build_binary.ts` (deno bundle →
 * Node single-executable application), then run from an empty directory with `env -i` — no
 * Deno, no caches, no node_modules, no environment. Its output must equal what
 * `deno run cli.ts` prints for the same arguments.
 */
import assert from "assert";
import { join } from "node:path";
import { buildBinary, bundle, ROOT } from "../../scripts/build_binary.ts";
import { FAST_OUTPUTS, nonAscii } from "../../scripts/node_sea.ts";
import { VERSION } from "../../lib/version.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";

function policyYaml(issuer: string, san: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: kars-signer-policy
data:
  fulcioIssuers: |
    ${issuer}
  sanPatterns: |
    ${san}
`;
}

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  argv: string[],
  opts: { cwd: string; env?: Record<string, string>; clearEnv?: boolean },
): Promise<Out> {
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: opts.clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, stdout: d.decode(o.stdout), stderr: d.decode(o.stderr) };
}

const denoCli = (args: string[], cwd: string) =>
  run([Deno.execPath(), "run", "-A", "--frozen", join(ROOT, "cli.ts"), ...args], {
    cwd,
    env: { NO_COLOR: "1" },
  });

Deno.test("standalone binary runs under env -i from an empty directory", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "kars-binary-test-" });
  try {
    const bin = join(work, "bin", "kars");
    const built = await buildBinary({ output: bin, verbose: false });
    assert.equal(built.output, bin);
    assert.ok(built.size > 1_000_000, `binary suspiciously small: ${built.size} bytes`);
    const empty = join(work, "empty");
    await Deno.mkdir(empty);
    const kars = (args: string[]) => run([bin, ...args], { cwd: empty, clearEnv: true });

    await t.step("--version", async () => {
      const r = await kars(["--version"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `kars ${VERSION}\n`);
    });

    await t.step("--help equals deno run cli.ts --help", async () => {
      const r = await kars(["--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /kars egress/);
      assert.equal(r.stdout, (await denoCli(["--help"], empty)).stdout);
    });

    await t.step(
      "fast-path outputs (recorded at build time) equal deno run cli.ts byte for byte",
      async () => {
        // `kars --help`, `--version` and their aliases print what the bundle printed for them at
        // build time (scripts/node_sea.ts FAST_OUTPUTS); nothing may differ from the CLI itself.
        const all = Object.values(FAST_OUTPUTS).flatMap((f) => f.args);
        assert.ok(all.includes("--help") && all.includes("--version"));
        for (const arg of all) {
          const b = await kars([arg]);
          const d = await denoCli([arg], empty);
          assert.deepEqual(b, d, `kars ${arg}`);
          assert.equal(b.code, 0);
        }
        // The same arguments with the slow path (KARS_PROFILE bypasses the fast path).
        const file = join(work, "fast.json");
        for (const arg of all) {
          const slow = await run([bin, arg], {
            cwd: empty,
            clearEnv: true,
            env: { KARS_PROFILE: file },
          });
          assert.deepEqual(slow, await kars([arg]), `kars ${arg} through the bundle`);
        }
        await Deno.remove(file);
      },
    );

    await t.step("the build-time code caches are accepted (help and command runs)", async () => {
      const file = join(work, "profile.json");
      for (const args of [["--help"], ["egress", "my-agent", "--no-such-flag"]]) {
        await run([bin, ...args], { cwd: empty, clearEnv: true, env: { KARS_PROFILE: file } });
        const profile = JSON.parse(await Deno.readTextFile(file));
        assert.equal(profile.codeCache, "accepted", `kars ${args.join(" ")}`);
        await Deno.remove(file);
      }
    });

    await t.step(
      "KARS_CPU_PROFILE writes a V8 CPU profile of the run (bench/), output unchanged",
      async () => {
        const file = join(work, "run.cpuprofile");
        const args = ["egress", "my-agent", "--no-such-flag"];
        const r = await run([bin, ...args], {
          cwd: empty,
          clearEnv: true,
          env: { KARS_CPU_PROFILE: file },
        });
        assert.deepEqual(r, await kars(args));
        const profile = JSON.parse(await Deno.readTextFile(file));
        assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0);
        assert.ok(
          profile.nodes.some((n: { callFrame: { url: string } }) => n.callFrame.url === "kars.cjs"),
          "the bundle's functions are in the profile",
        );
        await Deno.remove(file);
      },
    );

    await t.step("usage error exits 2 with one clear line", async () => {
      const r = await kars(["egress", "my-agent", "--no-such-flag"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^kars: error: .*--no-such-flag/);
      assert.equal(r.stdout, "");
    });

    await t.step("--dry-run on a sandbox file equals deno run cli.ts", async () => {
      await Deno.copyFile(join(ROOT, "examples", "sandbox.yaml"), join(empty, "sandbox.yaml"));
      const args = ["egress", "my-agent", "--from-file", "sandbox.yaml", "--enforce", "--dry-run"];
      const r = await kars(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /kind: EgressAllowlist/);
      assert.match(r.stdout + r.stderr, /sha256:[0-9a-f]{64}/);
      const d = await denoCli(args, empty);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(r.stdout, d.stdout);
      assert.equal(r.stderr, d.stderr);
      // A dry run writes nothing.
      assert.deepEqual([...Deno.readDirSync(empty)].map((e) => e.name), ["sandbox.yaml"]);
    });

    await t.step(
      "standard input (read only when a command asks) equals deno run cli.ts",
      async () => {
        const args = ["egress", "my-agent", "--from-file", "-", "--enforce", "--dry-run"];
        const feed = async (argv: string[], clearEnv: boolean) => {
          const p = new Deno.Command(argv[0], {
            args: argv.slice(1),
            cwd: empty,
            clearEnv,
            env: { NO_COLOR: "1" },
            stdin: "piped",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const w = p.stdin.getWriter();
          await w.write(await Deno.readFile(join(ROOT, "examples", "sandbox.yaml")));
          await w.close();
          const o = await p.output();
          const d = new TextDecoder();
          return { code: o.code, stdout: d.decode(o.stdout), stderr: d.decode(o.stderr) };
        };
        const r = await feed([bin, ...args], true);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /kind: EgressAllowlist/);
        const d = await feed([
          Deno.execPath(),
          "run",
          "-A",
          "--frozen",
          join(ROOT, "cli.ts"),
          ...args,
        ], false);
        assert.equal(d.code, 0, d.stderr);
        assert.equal(r.stdout, d.stdout);
        assert.equal(r.stderr, d.stderr);
      },
    );

    await t.step({
      name: "full keyless flow and verify against docker-registry + Sigstore mock",
      ...needs("docker-registry"),
      fn: async () => {
        const reg = await startDockerRegistry();
        const mock = await startSigstoreMock();
        try {
          const token = mock.mintToken();
          await Deno.writeTextFile(join(empty, "root.json"), JSON.stringify(mock.trustedRoot));
          await Deno.writeTextFile(
            join(empty, "policy.yaml"),
            policyYaml(mock.defaultIssuer, mock.defaultSubject),
          );
          await Deno.writeTextFile(
            join(empty, "other.yaml"),
            policyYaml(mock.defaultIssuer, "https://github.com/someone-else/*"),
          );
          const trust = ["--signer-policy", "policy.yaml", "--trusted-root", "root.json"];
          const flow = await run([
            bin,
            "egress",
            "my-agent",
            "--from-file",
            "sandbox.yaml",
            "--enforce",
            "--registry",
            reg.host,
            "--fulcio-url",
            mock.fulcioUrl,
            "--rekor-url",
            mock.rekorUrl,
            "--emit-manifest",
            "gitops/my-agent-allowlist.yaml",
            ...trust,
            "--json",
          ], {
            cwd: empty,
            clearEnv: true,
            env: { SIGSTORE_ID_TOKEN: token, KARS_PROFILE: join(work, "flow-profile.json") },
          });
          assert.equal(flow.code, 0, flow.stderr);
          // The whole keyless flow ran without Node's undici (~30 ms of CPU to load) and on
          // the build-time code cache.
          const profile = JSON.parse(await Deno.readTextFile(join(work, "flow-profile.json")));
          assert.equal(profile.undiciLoaded, false);
          assert.equal(profile.codeCache, "accepted");
          assert.ok(profile.requests.length > 10, "the profile saw the flow's requests");
          assert.ok(!flow.stdout.includes(token) && !flow.stderr.includes(token), "token leaked");
          const result = JSON.parse(flow.stdout);
          assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
          const manifest = await Deno.readTextFile(
            join(empty, "gitops", "my-agent-allowlist.yaml"),
          );
          assert.ok(
            manifest.startsWith(
              `# kars egress allowlist — digest=${result.digest} signer=keyless:`,
            ),
          );
          assert.ok(!manifest.includes(token), "token leaked into the manifest");

          const ok = await run(
            [bin, "egress", "verify", "--manifest", "gitops/my-agent-allowlist.yaml", ...trust],
            { cwd: empty, clearEnv: true },
          );
          assert.equal(ok.code, 0, ok.stdout + ok.stderr);
          assert.ok(
            ok.stdout.startsWith(`AllowlistVerified=True/Verified: digest=${result.digest}`),
          );

          const denied = await run([
            bin,
            "egress",
            "verify",
            "--manifest",
            "gitops/my-agent-allowlist.yaml",
            "--signer-policy",
            "other.yaml",
            "--trusted-root",
            "root.json",
          ], { cwd: empty, clearEnv: true });
          assert.equal(denied.code, 3, denied.stdout + denied.stderr);
          assert.ok(denied.stdout.startsWith("AllowlistVerified=False/IdentityMismatch: "));
        } finally {
          await mock.stop();
          await reg.stop();
        }
      },
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("the binary's bundle makes no dynamic import of a node: built-in (a Node SEA main script cannot)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-bundle-test-" });
  try {
    const out = join(dir, "kars.cjs");
    await bundle("scripts/node_main.ts", out, "cjs");
    const js = await Deno.readTextFile(out);
    // Allowed only as the fallback after process.getBuiltinModule (lib/io/transport.ts).
    const hits = js.split("\n").filter((l) =>
      /(?<![{\w$.])import\(\s*["']node:/.test(l) && !/builtin\("node:/.test(l)
    );
    assert.deepEqual(hits, [], "dynamic import of a built-in in the bundle");
    // Local dynamic imports become lazily initialised modules inside the one file.
    // (`{import('./x.js').T}` in JSDoc comments of dependencies is not a call.)
    assert.ok(
      !/(?<![{\w$.])import\(\s*["']\.{1,2}\//.test(js),
      "a relative dynamic import was left",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the binary's minified bundle is ASCII (it loads as a one-byte string)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-bundle-test-" });
  try {
    const out = join(dir, "kars.cjs");
    await bundle("scripts/node_main.ts", out, "cjs", false, true);
    // A literal non-ASCII character (e.g. in a regular expression: write it as \uXXXX) makes
    // the whole script a two-byte string, decoded from UTF-8 at every start.
    assert.deepEqual(nonAscii(await Deno.readTextFile(out)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
