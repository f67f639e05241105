import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { productionTrustedRoot } from "../../lib/verify/sigstore/mod.ts";
import { resolveTrustedRoot } from "../../lib/verify/trust_source.ts";
import { runKars } from "../support/cli.ts";

const CASE = new URL(
  "../../testdata/conformance/sigstore/bundle-verify/bundle-with-sct-with-extensions/trusted_root.json",
  import.meta.url,
).pathname;

Deno.test("trust source: embedded snapshot by default, a file with --trusted-root", async () => {
  const def = await resolveTrustedRoot({});
  assert.deepEqual(def, productionTrustedRoot());
  const file = await resolveTrustedRoot({ file: CASE });
  assert.notDeepEqual(file, def);
});

Deno.test("trust source: bad combinations and bad files are refused with the option named", async () => {
  await assert.rejects(
    resolveTrustedRoot({ file: CASE, refresh: true }),
    (e) =>
      isKarsError(e, "USAGE") && /exclude each other/.test(e.message) &&
      e.details?.option === "trustedRoot" &&
      JSON.stringify(e.details?.fixOptions) === '["trustedRoot","refreshTrustedRoot"]',
  );
  await assert.rejects(
    resolveTrustedRoot({ mirrorURL: "http://127.0.0.1:9" }),
    (e) =>
      isKarsError(e, "USAGE") && /TUF mirror only applies/.test(e.message) &&
      e.details?.option === "tufMirror",
  );
  await assert.rejects(
    resolveTrustedRoot({ file: "/nonexistent/trusted_root.json" }),
    (e) =>
      isKarsError(e, "INPUT") && /^trusted root .*no such file/.test(e.message) &&
      e.details?.option === "trustedRoot",
  );
  // A directory: the path is named once, with the reason.
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      resolveTrustedRoot({ file: dir }),
      (e) =>
        isKarsError(e, "INPUT") && e.message.split(dir).length === 2 &&
        /is a directory/.test(e.message) && e.details?.option === "trustedRoot",
    );
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("trust source: the CLI names the flags behind those options", async () => {
  const ref = `r.example/p@sha256:${"0".repeat(64)}`;
  const both = await runKars(
    ["egress", "verify", "--trusted-root", CASE, "--refresh-trusted-root", ref],
  );
  assert.equal(both.code, 2, both.stderr);
  assert.match(
    both.stderr,
    /--trusted-root: .*exclude each other.*\(flags: --trusted-root, --refresh-trusted-root\)/,
  );
  const mirror = await runKars(["egress", "verify", "--tuf-mirror", "http://127.0.0.1:9", ref]);
  assert.equal(mirror.code, 2, mirror.stderr);
  assert.match(mirror.stderr, /--tuf-mirror: .*only applies.*\(flags: --refresh-trusted-root\)/);
  const missing = await runKars(
    ["egress", "verify", "--trusted-root", "/nonexistent/trusted_root.json", ref],
  );
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(
    missing.stderr,
    /--trusted-root: trusted root \/nonexistent\/trusted_root\.json: no such file/,
  );
});

Deno.test("trust source: a TUF refresh that cannot complete is a transient fault, not a verdict", async () => {
  // A loopback mirror with no seeded root: refused before any request leaves the machine.
  await assert.rejects(
    resolveTrustedRoot({ refresh: true, mirrorURL: "http://127.0.0.1:9" }),
    (e) => isKarsError(e, "TRANSIENT") && /TUF refresh/.test(e.message),
  );
});
