import assert from "assert";
import { isOneShotCryptoRun, SHORT_RUN_WINDOW } from "../../lib/cli/short_run.ts";

Deno.test("isOneShotCryptoRun: signing and one-shot verify runs, not help or long-running commands", () => {
  assert.equal(isOneShotCryptoRun(["egress", "my-agent", "--enforce"]), true);
  assert.equal(isOneShotCryptoRun(["egress", "verify", "--manifest", "m.yaml"]), true);
  assert.equal(isOneShotCryptoRun(["demo"]), true);
  assert.equal(isOneShotCryptoRun(["verify-blob", "x"]), true);
  assert.equal(isOneShotCryptoRun(["egress", "audit"]), false);
  assert.equal(isOneShotCryptoRun(["egress", "status", "--wait"]), false);
  assert.equal(isOneShotCryptoRun(["webhook"]), false);
  assert.equal(isOneShotCryptoRun(["egress", "--help"]), false);
  assert.equal(isOneShotCryptoRun(["--help"]), false);
  assert.equal(isOneShotCryptoRun([]), false);
  assert.ok(SHORT_RUN_WINDOW >= 2 && SHORT_RUN_WINDOW < 6);
});

Deno.test("a one-shot window still signs and verifies correctly (keys, signatures)", async () => {
  // In a subprocess: the window is process-wide state of noble's base point.
  const code = `
    import { tuneForShortRun } from "${new URL("../../lib/cli/short_run.ts", import.meta.url)}";
    import { p256 } from "@noble/curves/nist.js";
    const sk = p256.utils.randomSecretKey();
    const before = p256.getPublicKey(sk);
    if (!(await tuneForShortRun(["egress", "x"]))) throw new Error("not tuned");
    const after = p256.getPublicKey(sk);
    if (before.join() !== after.join()) throw new Error("public key changed with the window");
    const msg = new Uint8Array(32).fill(7);
    const sig = p256.sign(msg, sk);
    if (!p256.verify(sig, msg, after)) throw new Error("signature does not verify");
    if (p256.verify(sig, msg.map((b) => b ^ 1), after)) throw new Error("wrong message verified");
    const { setKeyTableMinUses } = await import("${new URL(
    "../../lib/verify/sigstore/keys.ts",
    import.meta.url,
  )}");
    if (setKeyTableMinUses(2) !== Infinity) throw new Error("per-key tables not disabled");
    console.log("ok");
  `;
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--frozen", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  assert.equal(o.code, 0, d.decode(o.stderr));
  assert.equal(d.decode(o.stdout).trim(), "ok");
});
