/**
 * `kars completion bash|zsh|fish`: the bash script, run in a real bash, completes commands,
 * subcommands and each command's flags; zsh and fish scripts are generated from the same table.
 */
import assert from "assert";
import { runKars } from "../support/cli.ts";

async function complete(script: string, line: string[]): Promise<string[]> {
  const words = line.map((w) => `'${w}'`).join(" ");
  const program = `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${
    line.length - 1
  }; _kars; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", program],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

const hasBash = (() => {
  try {
    return Deno.statSync("/bin/bash").isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "completion bash: commands, subcommands, flags (in a real bash)",
  ignore: !hasBash,
  fn: async () => {
    const r = await runKars(["completion", "bash"]);
    assert.equal(r.code, 0);
    assert.deepEqual(await complete(r.stdout, ["kars", "eg"]), ["egress"]);
    assert.deepEqual(await complete(r.stdout, ["kars", "egress", "v"]), ["verify"]);
    assert.ok((await complete(r.stdout, ["kars", "egress", "my-agent", "--emit"])).includes(
      "--emit-manifest",
    ));
    assert.deepEqual(await complete(r.stdout, ["kars", "egress", "verify", "--man"]), [
      "--manifest",
    ]);
    assert.deepEqual(await complete(r.stdout, ["kars", "completion", "f"]), ["fish"]);
  },
});

Deno.test("completion zsh and fish; an unknown shell is a usage error", async () => {
  const z = await runKars(["completion", "zsh"]);
  assert.equal(z.code, 0);
  assert.match(z.stdout, /^#compdef kars\n/);
  assert.match(z.stdout, /bashcompinit/);
  const f = await runKars(["completion", "fish"]);
  assert.equal(f.code, 0);
  assert.match(
    f.stdout,
    /complete -c kars -n "__fish_seen_subcommand_from verify" -l manifest -r -F/,
  );
  const bad = await runKars(["completion", "tcsh"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bash, zsh, fish/);
});
