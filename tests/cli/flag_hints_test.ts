/**
 * Library errors speak in library terms (`details.option` / `details.fixOptions`); the CLI
 * names the flag (lib/cli/flag_hints.ts). These tests run real commands whose errors come
 * from lib/sign, lib/kube, lib/allowlist and lib/migrate, and check the flag is still named.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { commands } from "../../lib/cli/commands.ts";
import { withFlagHints } from "../../lib/cli/flag_hints.ts";
import { chooseGeneration } from "../../lib/allowlist/edit.ts";
import { generateKeyPair, writeKeyPair } from "../../lib/sign/keyfile.ts";
import { KarsError } from "../../lib/errors.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
const KAGENT = new URL("../../testdata/kagent/declarative/input.yaml", import.meta.url).pathname;

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One `kars: error:` line, and no flag named twice. */
function errorLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.startsWith("kars: error: "));
  assert.equal(lines.length, 1, stderr);
  return lines[0];
}

Deno.test("flag hints: --kubeconfig names the missing file (kube/kubeconfig.ts)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const absent = join(dir, "absent-kubeconfig");
    const r = await runKars(["egress", "basic", "--enforce", "--dry-run", "--kubeconfig", absent]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      errorLine(r.stderr),
      `kars: error: --kubeconfig: kubeconfig ${absent} does not exist`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flag hints: no kubeconfig at all lists --kubeconfig as the fix", async () => {
  const r = await runKars(["egress", "basic", "--enforce", "--dry-run"], {
    env: { HOME: "/nonexistent-home" },
  });
  assert.equal(r.code, 1, r.stderr); // KUBE: the operation failed
  assert.match(
    errorLine(r.stderr),
    /no kubeconfig found .*name a kubeconfig file or set KUBECONFIG \(flags: --kubeconfig\)$/,
  );
});

Deno.test("flag hints: --key errors from createSigner, through the workflow's wrapper (sign/)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = ["--from-file", BASIC, "--enforce", "--registry", `oci:${join(dir, "l")}`];
    const absent = join(dir, "absent.key");
    let r = await runKars(["egress", "basic", ...layout, "--key", absent]);
    assert.equal(r.code, 2, r.stderr);
    // The workflow wraps the signer's error; its flag still leads the line.
    assert.equal(
      errorLine(r.stderr),
      "kars: error: --key: cannot sign; nothing was pushed and nothing was written: " +
        `key file ${absent}: cannot read it (no such file)`,
    );
    r = await runKars(["egress", "basic", ...layout, "--key", "azurekms://not-a-vault/k"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      errorLine(r.stderr),
      /^kars: error: --key: cannot sign; .*: key azurekms:\/\/not-a-vault\/k: expected azurekms:/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flag hints: Rekor unreachable names --rekor-url and --tlog-upload (sign/rekor.ts)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeKeyPair(join(dir, "cosign"), await generateKeyPair({ password: "p" }));
    const r = await runKars([
      "egress",
      "basic",
      "--from-file",
      BASIC,
      "--enforce",
      "--registry",
      `oci:${join(dir, "l")}`,
      "--key",
      join(dir, "cosign.key"),
      "--rekor-url",
      `http://127.0.0.1:${closedPort()}`,
    ], { env: { COSIGN_PASSWORD: "p" } });
    assert.equal(r.code, 5, r.stderr); // unreachable: transient
    const line = errorLine(r.stderr);
    assert.match(line, /Rekor at http:\/\/127\.0\.0\.1:\d+\/.* is unreachable/);
    assert.match(line, /check the Rekor URL, or for key\/KMS signatures turn the/);
    assert.ok(line.endsWith(" (flags: --rekor-url, --tlog-upload)"), line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flag hints: --approve/--deny errors name their flags (allowlist/edit.ts)", async () => {
  const base = ["egress", "basic", "--from-file", BASIC, "--enforce", "--dry-run"];
  let r = await runKars([...base, "--deny", "https://x.example"]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    errorLine(r.stderr),
    'kars: error: --deny: denied host "https://x.example": domain must be a bare host, not a URL',
  );
  r = await runKars([...base, "--approve", "a.example", "--deny", "a.example"]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    errorLine(r.stderr),
    "kars: error: a.example is both approved and denied; pick one (flags: --approve, --deny)",
  );
  r = await runKars([...base, "--approve", "https://api.github.com"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(errorLine(r.stderr), /^kars: error: --approve: domain must be a bare host\[:port\]/);
});

Deno.test("flag hints: -n/--namespace on migrate (migrate/from_kagent.ts)", async () => {
  const r = await runKars(["migrate", "from-kagent", KAGENT, "-n", "Bad_NS"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    errorLine(r.stderr),
    /^kars: error: -n\/--namespace: namespace "Bad_NS" is not a valid namespace name/,
  );
});

Deno.test("flag hints: library errors render with the egress command's flags", () => {
  const egress = commands.find((c) => c.path.join(" ") === "egress");
  assert.ok(egress);
  // --generation is checked by the CLI first; a library caller gets the option name.
  let e: unknown;
  try {
    chooseGeneration({ endpoints: [], override: 0 });
  } catch (err) {
    e = err;
  }
  const hinted = withFlagHints(e, egress) as KarsError;
  assert.equal(
    hinted.message,
    "--generation: generation override must be a positive integer, got 0",
  );
  // An option the command has no flag for is left unnamed.
  const migrate = commands.find((c) => c.path.join(" ") === "migrate from-kagent");
  assert.ok(migrate);
  assert.equal((withFlagHints(e, migrate) as KarsError).message, (e as KarsError).message);
  // A wrapper without options of its own takes its cause's; its own details win.
  const wrapped = new KarsError("SIGN", `signing failed: ${(e as KarsError).message}`, {
    cause: e,
    details: { reason: "x" },
  });
  const w = withFlagHints(wrapped, egress) as KarsError;
  assert.equal(w.message, `--generation: ${wrapped.message}`);
  assert.equal(w.code, "SIGN");
  assert.deepEqual(w.details, { reason: "x" });
  const own = new KarsError("INPUT", "m", { cause: e, details: { fixOptions: ["deny"] } });
  assert.equal((withFlagHints(own, egress) as KarsError).message, "m (flags: --deny)");
});

Deno.test("flag hints: verify-blob's publicKeys option is the repeated --key flag", () => {
  const verifyBlob = commands.find((c) => c.path.join(" ") === "verify-blob");
  assert.ok(verifyBlob, "verify-blob command");
  const e = withFlagHints(
    new KarsError("VERIFY", "bundle is signed with a key but no public key was given", {
      details: { fixOptions: ["publicKeys"] },
    }),
    verifyBlob,
  ) as KarsError;
  assert.ok(e.message.endsWith("(flags: --key)"), e.message);
});
