/**
 * The list of `kars` subcommands. Start-up loads only this list: each command's path,
 * summary, help and options come from the generated `command_table.ts`, and its
 * implementation (with the library it needs: YAML, Sigstore, noble, OCI, migrate…) is
 * imported when the command runs. `kars --help` therefore evaluates none of the library.
 * `deno bundle` turns each `import()` below into a lazily initialised module of the one
 * CommonJS file of the standalone binary.
 *
 * @module
 */
import type { CliContext, Command, OptionValues } from "./command.ts";
import { COMMAND_LOADERS } from "./command_loaders.ts";
import { COMMAND_TABLE, type CommandSpec } from "./command_table.ts";
import { completionCommand } from "./completion.ts";

/**
 * A {@link Command} whose `run` imports the implementation on first use.
 *
 * @example
 * ```ts
 * import { lazyCommand } from "./commands.ts";
 * const c = lazyCommand(
 *   { name: "x", path: ["x"], summary: "", help: "", options: {} },
 *   () => Promise.resolve({ path: ["x"], summary: "", help: "", options: {}, run: () => Promise.resolve(0) }),
 * );
 * await c.run({}, [], {} as never); // 0
 * ```
 */
export function lazyCommand(spec: CommandSpec, load: () => Promise<Command>): Command {
  let loaded: Promise<Command> | undefined;
  return {
    path: spec.path,
    summary: spec.summary,
    help: spec.help,
    options: spec.options,
    async run(values: OptionValues, positionals: string[], ctx: CliContext): Promise<number> {
      const impl = await (loaded ??= load());
      return impl.run(values, positionals, ctx);
    },
  };
}

function fromTable(): Command[] {
  const byName = new Map(COMMAND_TABLE.map((s) => [s.name, s]));
  return COMMAND_LOADERS.map(([name, load]) => {
    const spec = byName.get(name);
    if (!spec) throw new Error(`command_table.ts lacks ${name}; run deno task gen:commands`);
    return lazyCommand(spec, load);
  });
}

/**
 * Every subcommand of the CLI, in help order.
 *
 * @example
 * ```ts
 * import { commands } from "./commands.ts";
 * commands.map((c) => c.path.join(" "));
 * ```
 */
export const commands: readonly Command[] = [
  ...fromTable(),
  completionCommand(() => commands),
];
