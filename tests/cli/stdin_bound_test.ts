/**
 * Standard input read for a secret (`--password-stdin`, `--identity-token-file -`) is bounded:
 * more than 1 MiB is an input error naming the flag, refused without reading it all.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";

const SANDBOX = `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: web
  namespace: team-a
spec:
  networkPolicy:
    allowedEndpoints:
      - host: keep.example
`;

const HUGE = new Uint8Array(1024 * 1024 + 1).fill(0x61);

Deno.test("stdin: more than 1 MiB on --password-stdin or --identity-token-file - is an input error naming the flag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-stdin-" });
  try {
    await Deno.writeTextFile(join(dir, "sandbox.yaml"), SANDBOX);
    const base = ["egress", "web", "--enforce", "--from-file", "sandbox.yaml"];
    const password = await runKars([
      ...base,
      "--registry",
      "oci:layout",
      "--username",
      "u",
      "--password-stdin",
      "--no-sign",
    ], { cwd: dir, stdin: HUGE });
    assert.equal(password.code, 2, password.stderr);
    assert.match(password.stderr, /--password-stdin: .*larger than 1048576 bytes/);

    const token = await runKars([
      ...base,
      "--registry",
      "oci:layout",
      "--sign-mode",
      "identity-token",
      "--identity-token-file",
      "-",
      "--tlog-upload=false",
    ], { cwd: dir, stdin: HUGE });
    assert.equal(token.code, 2, token.stderr);
    assert.match(token.stderr, /--identity-token-file: .*larger than 1048576 bytes/);

    // At the cap it is read (and then judged on its content: not a JWT).
    const atCap = await runKars([
      ...base,
      "--registry",
      "oci:layout",
      "--sign-mode",
      "identity-token",
      "--identity-token-file",
      "-",
      "--tlog-upload=false",
    ], { cwd: dir, stdin: HUGE.subarray(1) });
    assert.doesNotMatch(atCap.stderr, /larger than/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
