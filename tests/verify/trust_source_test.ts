import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { productionTrustedRoot } from "../../lib/verify/sigstore/mod.ts";
import { resolveTrustedRoot } from "../../lib/verify/trust_source.ts";

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

Deno.test("trust source: bad combinations and bad files are refused with the flag named", async () => {
  await assert.rejects(
    resolveTrustedRoot({ file: CASE, refresh: true }),
    (e) => isKarsError(e, "USAGE") && /exclude each other/.test(e.message),
  );
  await assert.rejects(
    resolveTrustedRoot({ mirrorURL: "http://127.0.0.1:9" }),
    (e) => isKarsError(e, "USAGE") && /--tuf-mirror only applies/.test(e.message),
  );
  await assert.rejects(
    resolveTrustedRoot({ file: "/nonexistent/trusted_root.json" }),
    (e) => isKarsError(e, "INPUT") && /--trusted-root .*no such file/.test(e.message),
  );
});

Deno.test("trust source: a TUF refresh that cannot complete is a transient fault, not a verdict", async () => {
  // A loopback mirror with no seeded root: refused before any request leaves the machine.
  await assert.rejects(
    resolveTrustedRoot({ refresh: true, mirrorURL: "http://127.0.0.1:9" }),
    (e) => isKarsError(e, "TRANSIENT") && /TUF refresh/.test(e.message),
  );
});
