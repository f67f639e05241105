/**
 * `runWithTimeout`: the budget reaches the command through `ctx.signal`; a command that
 * reports the cut request keeps its message (plus the budget); one that ignores the signal
 * is reported anyway once the grace period is over. Commands without `--timeout` are not
 * touched.
 */
import assert from "assert";
import { isKarsError, KarsError } from "../../lib/errors.ts";
import type { CliContext, Command } from "../../lib/cli/command.ts";
import { runWithTimeout, TIMEOUT_OPTION } from "../../lib/cli/timeout.ts";

const ctx = {
  stdout() {},
  stderr() {},
  stdin: () => new Blob([]).stream(),
  env: {},
  cwd: "/",
  isTTY: { stdin: false, stdout: false, stderr: false },
  color: false,
} as CliContext;

function command(run: Command["run"], withTimeout = true): Command {
  return {
    path: ["x"],
    summary: "",
    help: "",
    options: withTimeout ? { ...TIMEOUT_OPTION } : {},
    run,
  };
}

Deno.test("runWithTimeout: a command that honours the signal keeps its own message", async () => {
  let seen: AbortSignal | undefined;
  const c = command((_v, _p, cx) =>
    new Promise((_, reject) => {
      seen = cx.signal;
      cx.signal!.addEventListener("abort", () =>
        reject(
          new KarsError("TRANSIENT", `r.example/a: fetch manifest x: ${cx.signal!.reason.message}`),
        ));
    })
  );
  await assert.rejects(
    () => runWithTimeout(c, { timeout: "50ms" }, [], ctx),
    (e) =>
      isKarsError(e, "TRANSIENT") &&
      /^r\.example\/a: fetch manifest x: the time budget of 50ms ran out \(the command's --timeout of 50ms was reached/
        .test(e.message),
  );
  assert.ok(seen?.aborted);
});

Deno.test("runWithTimeout: a command that ignores the signal is reported after the grace period", async () => {
  let release!: () => void;
  const never = new Promise<number>((r) => (release = () => r(0)));
  try {
    await assert.rejects(
      () => runWithTimeout(command(() => never), { timeout: "50ms" }, [], ctx),
      (e) =>
        isKarsError(e, "TRANSIENT") &&
        /kars x did not finish within its --timeout of 50ms/.test(e.message),
    );
  } finally {
    release();
  }
});

Deno.test("runWithTimeout: results pass through; commands without --timeout get no signal", async () => {
  assert.equal(await runWithTimeout(command(() => Promise.resolve(3)), {}, [], ctx), 3);
  let signal: AbortSignal | undefined = new AbortController().signal;
  await runWithTimeout(
    command((_v, _p, cx) => {
      signal = cx.signal;
      return Promise.resolve(0);
    }, false),
    {},
    [],
    ctx,
  );
  assert.equal(signal, undefined);
  await assert.rejects(
    () => runWithTimeout(command(() => Promise.resolve(0)), { timeout: "2 minutes" }, [], ctx),
    (e) => isKarsError(e, "USAGE") && /--timeout "2 minutes" is not a duration/.test(e.message),
  );
});
