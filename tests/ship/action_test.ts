/**
 * action.yml (the composite GitHub Action): its run script is executed locally in bash the way
 * a runner executes it — inputs mapped through the action's own `env:` block (defaults applied),
 * GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP, and the ambient OIDC
 * endpoint (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN) served by a test server — against the
 * in-process registry and the Sigstore mock. `npx -y deno@2.9.6` is a shim that checks the pin
 * and runs this Deno.
 */
import assert from "assert";
import { join } from "node:path";
import { parse } from "yaml";
import { startRegistryServer } from "../support/registry_server.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;

interface Action {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: { id?: string; env: Record<string, string>; run: string }[] };
}

/** The env a runner gives the step: `${{ inputs.x }}` resolved (default, else ""). */
function stepEnv(action: Action, inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(action.runs.steps[0].env)) {
    env[k] = v.replace(/\$\{\{\s*inputs\.([a-z-]+)\s*\}\}/g, (_, name: string) => {
      assert.ok(name in action.inputs, `env ${k} names an undeclared input ${name}`);
      return inputs[name] ?? action.inputs[name].default ?? "";
    });
  }
  return env;
}

Deno.test("action.yml: pinned Deno, every input mapped, outputs digest/manifest/summary", async () => {
  const action = parse(await Deno.readTextFile(join(ROOT, "action.yml"))) as Action;
  assert.equal(action.runs.using, "composite");
  assert.deepEqual(Object.keys(action.outputs).sort(), ["digest", "manifest", "summary"]);
  const step = action.runs.steps[0];
  assert.match(step.run, /npx -y deno@2\.9\.6 run .*--frozen/s);
  const mapped = Object.values(step.env).join("\n");
  for (const name of Object.keys(action.inputs)) {
    assert.ok(mapped.includes(`inputs.${name} }}`), `input ${name} is passed to the script`);
  }
});

Deno.test("action.yml run script: keyless with GitHub's ambient OIDC, outputs written", async () => {
  const action = parse(await Deno.readTextFile(join(ROOT, "action.yml"))) as Action;
  const reg = await startRegistryServer();
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-action-" });
  const seen: { auth: string | null; audience: string | null }[] = [];
  const requestToken = "gh-request-token-not-to-be-printed";
  const oidc = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const u = new URL(req.url);
    seen.push({ auth: req.headers.get("authorization"), audience: u.searchParams.get("audience") });
    return Response.json({ value: mock.mintToken() });
  });
  try {
    const shim = join(dir, "bin");
    await Deno.mkdir(shim);
    await Deno.writeTextFile(
      join(shim, "npx"),
      `#!/bin/sh\n[ "$1" = "-y" ] && [ "$2" = "deno@2.9.6" ] || { echo "unexpected npx $*" >&2; exit 97; }\nshift 2\nexec "${Deno.execPath()}" "$@"\n`,
    );
    await Deno.chmod(join(shim, "npx"), 0o755);
    await Deno.writeTextFile(join(dir, "root.json"), JSON.stringify(mock.trustedRoot));
    await Deno.copyFile(BASIC, join(dir, "sandbox.yaml"));
    const outputs = join(dir, "github_output");
    const stepSummary = join(dir, "step_summary.md");
    const runnerTemp = join(dir, "tmp");
    await Deno.mkdir(runnerTemp);
    const run = async () => {
      const env = {
        PATH: `${shim}:${Deno.env.get("PATH")}`,
        HOME: Deno.env.get("HOME") ?? dir,
        NO_COLOR: "1",
        GITHUB_ACTION_PATH: ROOT.replace(/\/$/, ""),
        GITHUB_OUTPUT: outputs,
        GITHUB_STEP_SUMMARY: stepSummary,
        RUNNER_TEMP: runnerTemp,
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${oidc.addr.port}/token?api-version=2.0`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
        ...stepEnv(action, {
          sandbox: "basic",
          "from-file": "sandbox.yaml",
          enforce: "true",
          approve: "files.pythonhosted.org, api.example.com:8443",
          registry: reg.host,
          "emit-manifest": "gitops/basic.yaml",
          "fulcio-url": mock.fulcioUrl,
          "rekor-url": mock.rekorUrl,
          "trusted-root": "root.json",
        }),
      };
      const o = await new Deno.Command("bash", {
        args: ["-e", "-c", action.runs.steps[0].run],
        cwd: dir,
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
    };
    const r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes(requestToken), "request token never printed");
    assert.deepEqual(seen[0], { auth: `bearer ${requestToken}`, audience: "sigstore" });
    const json = JSON.parse(r.stdout);
    assert.equal(json.ok, true);
    const out = Object.fromEntries(
      (await Deno.readTextFile(outputs)).trim().split("\n").map((l) => l.split(/=(.*)/s, 2)),
    );
    assert.equal(out.digest, json.digest);
    assert.match(out.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(out.manifest, join(dir, "gitops/basic.yaml"));
    assert.match(await Deno.readTextFile(out.manifest), new RegExp(`digest=${out.digest}`));
    assert.equal(out.summary, join(runnerTemp, "kars-summary-basic.md"));
    const md = await Deno.readTextFile(out.summary);
    assert.match(
      md,
      /Endpoints: \*\*4 added, 0 removed, 0 unchanged\*\* \(first signed allowlist\)/,
    );
    assert.match(md, /`api\.example\.com:8443`/);
    assert.equal(await Deno.readTextFile(stepSummary), md);

    // The next scheduled run: nothing changed, nothing signed again, same outputs.
    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already signed by keyless:/);
    assert.equal(JSON.parse(again.stdout).digest, out.digest);
  } finally {
    await oidc.shutdown();
    await Deno.remove(dir, { recursive: true });
    await mock.stop();
    await reg.stop();
  }
});
