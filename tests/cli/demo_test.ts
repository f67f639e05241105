/**
 * `kars demo` (offline, key-signed): exit 0, both verdicts shown — ours True through the
 * pinned key, the kars controller's predicted False/IdentityMismatch — with the explanation
 * that a real cluster needs a keyless signature, and the signing-time warnings.
 */
import assert from "assert";
import { runKars } from "../support/cli.ts";

Deno.test("kars demo: exit 0; ours True, controller IdentityMismatch, and why a cluster needs keyless", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-demo-" });
  try {
    const r = await runKars(["demo", "--dir", "out"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /\n {2}ours: {7}AllowlistVerified=True\/Verified: digest=sha256:[0-9a-f]{64}/,
    );
    assert.match(r.stderr, /\n {2}controller: False\/IdentityMismatch \(predicted\)\n/);
    assert.match(r.stderr, /a real kars cluster accepts only keyless signatures/);
    // signing-time warnings: the key file, and the policy's publicKeys
    assert.match(r.stderr, /⚠ signing with a key file: the kars controller accepts only keyless/);
    assert.match(r.stderr, /⚠ SignerPolicy .* publicKeys .*ignored|publicKeys \(1 key\(s\)/);
    // the demo's own SAN pattern is exact: no glob warning
    assert.doesNotMatch(r.stderr, /sanPatterns\[1\]/);
    assert.match(
      r.stdout,
      /^# kars egress allowlist — digest=sha256:[0-9a-f]{64} signer=key:[0-9a-f]{16}\n/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
