/**
 * Lazy commands: the generated table matches the command modules, and start-up (`cli.ts`,
 * the binary's `scripts/node_main.ts`) statically evaluates none of the library.
 */
import assert from "assert";
import { COMMAND_LOADERS } from "../../lib/cli/command_loaders.ts";
import { COMMAND_TABLE } from "../../lib/cli/command_table.ts";
import { commands } from "../../lib/cli/commands.ts";
import { staticGraph } from "../support/static_graph.ts";

Deno.test("command_table.ts matches every command module (else: deno task gen:commands)", async () => {
  assert.deepEqual(COMMAND_TABLE.map((s) => s.name), COMMAND_LOADERS.map(([n]) => n));
  for (const [name, load] of COMMAND_LOADERS) {
    const c = await load();
    const spec = COMMAND_TABLE.find((s) => s.name === name)!;
    assert.deepEqual(
      { path: spec.path, summary: spec.summary, help: spec.help, options: spec.options },
      { path: c.path, summary: c.summary, help: c.help, options: c.options },
      `${name} differs from lib/cli/command_table.ts: run deno task gen:commands`,
    );
  }
  assert.equal(commands.length, COMMAND_LOADERS.length + 1); // + completion
});

Deno.test("command_table.ts is the generator's output, byte for byte (deno task gen:commands --check)", async () => {
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--frozen",
      new URL("../../scripts/gen_command_table.ts", import.meta.url).pathname,
      "--check",
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
});

for (const entry of ["../../cli.ts", "../../scripts/node_main.ts"]) {
  Deno.test(`start-up of ${entry.slice(6)} evaluates only the dispatcher and the command table`, async () => {
    const graph = await staticGraph(new URL(entry, import.meta.url));
    const heavy = graph.filter((m) =>
      /^lib\/(sign|verify|oci|cosign|egress|migrate|kube|cluster|allowlist|gitops|yaml)/.test(m) ||
      (m.startsWith("npm:") && !m.includes("@noble/hashes"))
    );
    assert.deepEqual(heavy, [], `statically imported at start-up: ${heavy.join(", ")}`);
    assert.ok(graph.includes("lib/cli/command_table.ts"));
  });
}
