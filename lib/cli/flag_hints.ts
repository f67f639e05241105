/**
 * The one place a library error learns which flag fixes it.
 *
 * Library code speaks in library terms: an error about an input carries
 * `details.option` (the library option at fault, in camelCase, e.g. `"generation"`,
 * `"rekorUrl"`) and, when other options fix it, `details.fixOptions`. Only the CLI
 * knows flags: it turns option names into the command's flags here.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import type { Command } from "./command.ts";

/** Options whose flag is not the kebab-case of the library name (or has a short form). */
const SPECIAL: Readonly<Record<string, string>> = {
  namespace: "-n/--namespace",
  allNamespaces: "-A/--all-namespaces",
};
/** Library options whose flag has another name (the library's plural is one repeated flag). */
const RENAMED: Readonly<Record<string, string>> = {
  publicKeys: "key",
};

/**
 * The flag for library option `option` on `command`, or `undefined` when the command has none.
 *
 * @example
 * ```ts
 * import { flagFor } from "./flag_hints.ts";
 * const cmd = { options: { "rekor-url": { type: "string" } } } as never;
 * flagFor("rekorUrl", cmd); // "--rekor-url"
 * ```
 */
export function flagFor(option: string, command: Pick<Command, "options">): string | undefined {
  const kebab = RENAMED[option] ?? option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (!(kebab in command.options)) return undefined;
  return SPECIAL[option] ?? `--${kebab}`;
}

/**
 * The `details.option` / `details.fixOptions` of `e`, else of the first error in its `cause`
 * chain that has them: a workflow that wraps a library error ("cannot sign; …: <cause>")
 * keeps the cause's message, so the cause's flags still apply.
 */
function optionsOf(e: KarsError): Record<string, unknown> | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 8 && cur instanceof KarsError; depth++) {
    const d = cur.details;
    if (d && (d.option !== undefined || d.fixOptions !== undefined)) return d;
    cur = cur.cause;
  }
  return undefined;
}

/**
 * Adds what only the CLI knows to a library error: the flag(s) behind `details.option` and
 * `details.fixOptions` (of the error, else of the first error in its `cause` chain that has
 * them), and `--force` for an overwrite refusal (`details.reason` `AlreadyExists`) when the
 * command has it. Other errors pass through unchanged.
 *
 * @example
 * ```ts
 * import { KarsError } from "../errors.ts";
 * import { withFlagHints } from "./flag_hints.ts";
 * const cmd = { options: { generation: { type: "string" } } } as never;
 * const e = withFlagHints(
 *   new KarsError("USAGE", "generation override 0: must be at least 1", {
 *     details: { option: "generation" },
 *   }),
 *   cmd,
 * ) as KarsError;
 * e.message; // "--generation: generation override 0: must be at least 1"
 * ```
 */
export function withFlagHints(e: unknown, command: Pick<Command, "options">): unknown {
  if (!(e instanceof KarsError)) return e;
  const hints = optionsOf(e);
  let message = e.message;
  const option = hints?.option;
  if (typeof option === "string") {
    const flag = flagFor(option, command);
    if (flag) message = `${flag}: ${message}`;
  }
  const fix = hints?.fixOptions;
  if (Array.isArray(fix)) {
    const flags = fix.filter((o): o is string => typeof o === "string")
      .map((o) => flagFor(o, command)).filter((f): f is string => f !== undefined);
    if (flags.length > 0) message += ` (flags: ${flags.join(", ")})`;
  }
  if (e.details?.reason === "AlreadyExists" && "force" in command.options) {
    message += "; pass --force to replace it";
  }
  if (message === e.message) return e;
  return new KarsError(e.code, message, { cause: e.cause, details: e.details });
}
