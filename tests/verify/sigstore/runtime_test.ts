/**
 * Runtime neutrality: the verifier bundles for the browser platform with no Node or Deno
 * built-in, and the bundle gives the expected verdict on every conformance case under Node.
 */
import assert from "assert";
import { toBase64 } from "../../../lib/encoding/bytes.ts";
import { pemDecode } from "../../../lib/encoding/pem.ts";
import { loadConformanceCases } from "./conformance_cases.ts";

const MOD = new URL("../../../lib/verify/sigstore/mod.ts", import.meta.url).href;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;

// The entry uses only globals, so every import in the bundle comes from the verifier.
const ENTRY = `import { loadTrustedRoot, verifyBundle } from ${JSON.stringify(MOD)};
const proc = globalThis.process;
const chunks = [];
for await (const c of proc.stdin) chunks.push(c);
const cases = JSON.parse(globalThis.Buffer.concat(chunks).toString("utf8"));
const b64 = (s) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
const out = [];
// One loaded root per distinct trust root, as a long-running verifier holds it (a trust-root
// key's precompute table is then built once, not once per case).
const roots = new Map();
const rootOf = (json) => {
  const key = JSON.stringify(json);
  if (!roots.has(key)) roots.set(key, loadTrustedRoot(json));
  return roots.get(key);
};
for (const c of cases) {
  try {
    await verifyBundle(c.bundle, { bytes: b64(c.artifact) }, {
      trustedRoot: rootOf(c.trustedRoot),
      identity: c.identity,
      publicKeys: c.publicKeys?.map(b64),
    });
    out.push(true);
  } catch {
    out.push(false);
  }
}
proc.stdout.write(JSON.stringify(out));
`;

function hasNode(): boolean {
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const required = Deno.env.get("KARS_REQUIRE_TOOLS") === "1";
const nodeAvailable = hasNode();
if (!nodeAvailable && !required) console.warn("runtime_test: `node` not found; skipped");

Deno.test({
  name: "runtime: browser-platform bundle has no runtime built-ins and verifies under Node",
  ignore: !nodeAvailable && !required,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kars-runtime-" });
    try {
      await Deno.writeTextFile(`${dir}/entry.js`, ENTRY);
      const b = await new Deno.Command(Deno.execPath(), {
        args: [
          "bundle",
          "--quiet",
          "--frozen",
          `--config=${CONFIG}`,
          "--platform=browser",
          "-o",
          `${dir}/bundle.mjs`,
          `${dir}/entry.js`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(b.code, 0, new TextDecoder().decode(b.stderr));
      const code = await Deno.readTextFile(`${dir}/bundle.mjs`);
      assert.doesNotMatch(code, /["'](node:|npm:)[^"']*["']/, "no runtime built-in or npm import");
      assert.doesNotMatch(code, /\bDeno\./, "no Deno namespace");

      const cases = loadConformanceCases();
      const wire = cases.map((c) => {
        let bundle: unknown = c.bundleText;
        try {
          bundle = JSON.parse(c.bundleText);
        } catch { /* malformed on purpose: passed as text */ }
        return {
          bundle,
          artifact: toBase64(c.artifact),
          trustedRoot: c.trustedRoot,
          identity: c.identity,
          publicKeys: c.keyPem ? [toBase64(pemDecode(c.keyPem)!.der)] : undefined,
        };
      });
      const child = new Deno.Command("node", {
        args: [`${dir}/bundle.mjs`],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify(wire)));
      await w.close();
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const verdicts = JSON.parse(new TextDecoder().decode(out.stdout)) as boolean[];
      assert.deepEqual(
        cases.filter((_, i) => verdicts[i] !== cases[i].expectOk).map((c) => c.name),
        [],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
