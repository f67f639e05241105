/**
 * `--timeout DURATION` for the commands that touch the network: one time budget over the
 * whole command (default 2m). When it runs out, the command's requests are aborted through
 * `CliContext.signal`; the command is given a moment to report the request that was cut
 * (host and what it was doing), else the budget itself is reported. Either way the error is
 * `TRANSIENT`.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { budgetExceeded, formatMs } from "../io/deadline.ts";
import type { CliContext, Command, OptionsConfig, OptionValues } from "./command.ts";

/** Default `--timeout` of a network command (2 minutes). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;

/** How long a command may take to wind down after its budget ran out (ms). */
const GRACE_MS = 2_000;

/** The `--timeout` flag definition, spread into a command's `options`. */
export const TIMEOUT_OPTION: OptionsConfig = { timeout: { type: "string" } };

/** Help line for `--timeout` (aligned like the other flag lists). */
export const TIMEOUT_HELP =
  "  --timeout DURATION         time budget of the whole command, e.g. 30s, 2m, 1m30s\n" +
  "                             (default 2m; 0 = none); a request also fails after 30s\n" +
  "                             without progress";

/**
 * Parses a duration such as `30s`, `2m`, `1m30s`, `1.5s`, `250ms` or `1h` into milliseconds
 * (`0` means no limit).
 *
 * @throws KarsError `USAGE` naming `flag` when the text is not a duration
 *
 * @example
 * ```ts
 * import { parseDuration } from "./timeout.ts";
 * parseDuration("1m30s", "--timeout"); // 90000
 * ```
 */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  if (t === "0") return 0;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let ms = 0;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) {
      throw new KarsError(
        "USAGE",
        `${flag} ${
          JSON.stringify(text.slice(0, 40))
        } is not a duration; write it like 30s, 2m, 1m30s or 500ms`,
      );
    }
    ms += Number(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  if (pos === 0 || !Number.isFinite(ms) || ms > 7 * 24 * 3_600_000) {
    throw new KarsError(
      "USAGE",
      `${flag} ${JSON.stringify(text.slice(0, 40))} must be a duration of at most 168h`,
    );
  }
  return Math.round(ms);
}

/**
 * Runs `command`, bounding it by its `--timeout` when it declares that flag (see
 * {@link TIMEOUT_OPTION}); other commands run unchanged.
 *
 * @example
 * ```ts
 * import { runWithTimeout } from "./timeout.ts";
 * // const code = await runWithTimeout(command, values, positionals, ctx);
 * ```
 */
export async function runWithTimeout(
  command: Command,
  values: OptionValues,
  positionals: string[],
  ctx: CliContext,
): Promise<number> {
  if (!("timeout" in command.options)) return await command.run(values, positionals, ctx);
  const text = typeof values.timeout === "string" ? values.timeout : undefined;
  const ms = text === undefined ? DEFAULT_COMMAND_TIMEOUT_MS : parseDuration(text, "--timeout");
  if (ms === 0) return await command.run(values, positionals, ctx);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(budgetExceeded(ms)), ms);
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const spent = new Promise<never>((_, reject) => {
    ac.signal.addEventListener("abort", () => {
      graceTimer = setTimeout(() => reject(ac.signal.reason), GRACE_MS);
    }, { once: true });
  });
  const run = command.run(values, positionals, { ...ctx, signal: ac.signal });
  run.catch(() => {}); // reported below, or superseded by the budget
  try {
    return await Promise.race([run, spent]);
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    const hint = `raise --timeout or retry later`;
    if (e === ac.signal.reason) {
      throw new KarsError(
        "TRANSIENT",
        `kars ${command.path.join(" ")} did not finish within its --timeout of ${
          formatMs(ms)
        }; ${hint}`,
        { cause: e, details: { deadline: "total", timeoutMs: ms } },
      );
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new KarsError(
      "TRANSIENT",
      `${msg} (the command's --timeout of ${formatMs(ms)} was reached; ${hint})`,
      {
        cause: e,
        details: { deadline: "total", timeoutMs: ms, ...(e instanceof KarsError ? e.details : {}) },
      },
    );
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
  }
}
