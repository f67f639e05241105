/**
 * Run profile for `bench/profile.ts`: with `KARS_PROFILE=FILE` in the environment, the entry
 * point records when its body started (process start → runtime boot + module graph
 * evaluation), every HTTP request the command made (host, method, status, duration) and when
 * the command finished, and writes them to FILE as JSON on exit. Nothing is recorded, and
 * nothing changes, without the variable. Request URLs are reduced to host and path (no query:
 * upload URLs carry state tokens); headers and bodies are never recorded.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import type { CliContext } from "./command.ts";

/** One request seen by the profiler. */
export interface ProfiledRequest {
  /** `host` of the URL. */
  host: string;
  /** Method and path, without the query. */
  what: string;
  /** HTTP status, or 0 when the request failed. */
  status: number;
  /** Start, ms since process start. */
  start: number;
  /** Duration in ms. */
  ms: number;
}

/** What the profile file holds. */
export interface RunProfile {
  /** `deno` or `node`. */
  runtime: string;
  /** ms from process start until the entry's body ran (boot + module graph). */
  entry: number;
  /** ms from process start until the command returned. */
  end: number;
  /** Wall time with at least one request in flight (overlaps counted once). */
  network: number;
  /** Every request, in start order. */
  requests: ProfiledRequest[];
  /**
   * Standalone binary only: what V8 did with the build-time code cache (`accepted`,
   * `rejected`, `none`), as the binary's loader reported it (scripts/node_sea.ts).
   */
  codeCache?: string;
  /**
   * Standalone binary only: whether Node's bundled undici (its `fetch`, `Request`, `Response`)
   * was loaded by the end of the run; the binary avoids it (scripts/node_web.ts).
   */
  undiciLoaded?: boolean;
}

function union(rs: ProfiledRequest[]): number {
  const iv = rs.map((r) => [r.start, r.start + r.ms]).sort((a, b) => a[0] - b[0]);
  let total = 0, end = -Infinity;
  for (const [s, e] of iv) {
    if (s > end) {
      total += e - s;
      end = e;
    } else if (e > end) {
      total += e - end;
      end = e;
    }
  }
  return total;
}

/**
 * Wraps `ctx` when `KARS_PROFILE` is set: returns the context to run with and a `finish`
 * that writes the profile. `entry` is `performance.now()` taken first thing in the entry body.
 *
 * @example
 * ```ts
 * import { profileRun } from "./profile.ts";
 * declare const ctx: import("./command.ts").CliContext;
 * const entry = performance.now();
 * const p = profileRun(ctx, entry, "deno");
 * // const code = await runCli(args, p.ctx, commands); p.finish();
 * ```
 */
export function profileRun(
  ctx: CliContext,
  entry: number,
  runtime: string,
  details: { codeCache?: string; undiciLoaded?: () => boolean } = {},
): { ctx: CliContext; finish(): void } {
  const file = ctx.env.KARS_PROFILE;
  if (!file) return { ctx, finish: () => {} };
  const requests: ProfiledRequest[] = [];
  const inner = ctx.fetch ?? globalThis.fetch.bind(globalThis);
  const fetchProfiled: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const start = performance.now();
    const rec: ProfiledRequest = {
      host: url.host,
      what: `${init?.method ?? (input instanceof Request ? input.method : "GET")} ${url.pathname}`,
      status: 0,
      start,
      ms: 0,
    };
    requests.push(rec);
    try {
      const r = await inner(input, init);
      rec.status = r.status;
      return r;
    } finally {
      rec.ms = performance.now() - start;
    }
  };
  return {
    ctx: { ...ctx, fetch: fetchProfiled },
    finish() {
      const profile: RunProfile = {
        runtime,
        entry,
        end: performance.now(),
        network: union(requests),
        requests,
        ...(details.codeCache === undefined ? {} : { codeCache: details.codeCache }),
        ...(details.undiciLoaded ? { undiciLoaded: details.undiciLoaded() } : {}),
      };
      writeFileSync(file, JSON.stringify(profile, null, 2) + "\n");
    },
  };
}
