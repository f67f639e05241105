/**
 * Read-modify-write of a shared document (a `.sig` manifest, a `sha256-<hex>` referrers
 * fallback index) that survives concurrent writers without conditional requests: read, write
 * our entry merged into what is there, then confirm with one read after a short delay; when a
 * concurrent writer replaced the document, merge into theirs and write again (bounded
 * attempts, jittered backoff).
 *
 * Why one confirming read after a delay, and how long. The lost write this guards against is
 * a rival whose read happened before our write landed and whose (stale) write lands after our
 * confirming read: the rival's read → write turnaround spans our write and our read. That
 * turnaround is one response plus one request on the same registry (the writers re-read right
 * before they write), plus whatever stalls the rival process in between. So the delay is
 * bounded by what this call observed of the registry and of the machine — the longer of
 * {@link ConfirmOptions.latencyFactor} × the slowest read and our own slowest `write` call
 * (which holds the same read → write turnaround, and grows with the load that stalls a rival
 * too), never less than {@link ConfirmOptions.minRecheckMs} — rather than a fixed blind
 * sleep: tens of milliseconds on a nearby idle registry, longer on a distant one (where a
 * fixed 100–300 ms would be too short) or on a loaded machine. Once a concurrent writer has been
 * seen (our entry was replaced, or a conditional write conflicted), contention is proven and
 * the delay widens to the randomized {@link ConfirmOptions.recheckMs} range, which also
 * de-synchronizes writers that keep colliding. An immediate read-back before the delayed one
 * adds a request without adding safety: only the last read before we return decides whether
 * a late stale write is caught. A delay that overran by more than itself shows a machine that
 * stalls processes (heavy load): a rival can then be stalled as long between its read and its
 * write, so the confirmation is repeated after the delay plus the stall seen (bounded by
 * {@link ConfirmOptions.stallRechecks}); on a machine that is not stalled this costs nothing.
 *
 * Residual race: on a registry without conditional writes, a writer that read the document
 * before our write and lands its stale write after our confirming read (a turnaround several
 * times the observed latency, e.g. a process stalled between its read and its write) still
 * drops our entry. Targets with an atomic compare-and-swap (the OCI layout) pass a conditional
 * `write` that reports `"conflict"` instead, which closes the race there.
 *
 * @module
 */
import { KarsError } from "../errors.ts";

/** The document operations {@link writeConfirmed} composes. */
export interface ConfirmedWrite<S> {
  /** What is written, for messages (e.g. `registry/repo:sha256-….sig`). */
  what: string;
  /** Reads the current document (`null` when absent). */
  read(): Promise<S | null>;
  /** True when `state` holds our entry. */
  has(state: S | null): boolean;
  /**
   * Writes `state` with our entry merged in. Returns `"conflict"` when a conditional
   * write found the document changed since `state` was read (nothing written).
   */
  write(state: S | null): Promise<"written" | "conflict">;
}

/** Options of {@link writeConfirmed}. */
export interface ConfirmOptions {
  /** Write attempts before giving up (default 8). */
  attempts?: number;
  /**
   * Re-check delay range in ms once a concurrent writer has been seen (default [100, 300]);
   * its upper bound also caps the uncontended delay unless the observed latency needs more.
   */
  recheckMs?: [number, number];
  /**
   * Uncontended re-check delay: this many times the slowest read of this call (default 4), or
   * the slowest `write` call when that is longer.
   */
  latencyFactor?: number;
  /** Least uncontended re-check delay, ms (default 25). */
  minRecheckMs?: number;
  /** Most re-check delay, ms, however slow the reads were (default 2000). */
  maxRecheckMs?: number;
  /**
   * Further confirming reads (default at most 2) made only when the delay before a confirming
   * read overran by more than itself (the process was stalled: a loaded machine), each after
   * the delay plus the overrun seen, capped by {@link ConfirmOptions.maxRecheckMs}.
   */
  stallRechecks?: number;
  /** Base of the jittered exponential backoff between attempts, ms (default 25). */
  backoffMs?: number;
  /** Sleep function (tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Clock in ms (tests; default `performance.now`). */
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The delay before the confirming read (see the module documentation): `factor` × the
 * slowest read or the slowest write call, whichever is longer, at least `min`, jittered up by
 * half; the randomized `contended` range (and
 * at least the latency bound) once a concurrent writer was seen; never more than `max`.
 *
 * @example
 * ```ts
 * import { recheckDelay } from "./confirm_write.ts";
 * recheckDelay({ slowestReadMs: 3, contended: false, random: 0 }); // 25 (the floor)
 * recheckDelay({ slowestReadMs: 40, contended: false, random: 0 }); // 160
 * recheckDelay({ slowestReadMs: 3, contended: true, random: 0 }); // 100
 * ```
 */
export function recheckDelay(o: {
  slowestReadMs: number;
  slowestWriteMs?: number;
  contended: boolean;
  random?: number;
  factor?: number;
  min?: number;
  max?: number;
  contendedMs?: [number, number];
}): number {
  const r = o.random ?? Math.random();
  const bound = Math.max(o.min ?? 25, (o.factor ?? 4) * o.slowestReadMs, o.slowestWriteMs ?? 0);
  const [cmin, cmax] = o.contendedMs ?? [100, 300];
  const ms = o.contended ? Math.max(bound, cmin + r * (cmax - cmin)) : bound * (1 + r / 2);
  return Math.min(ms, o.max ?? 2000);
}

/**
 * Writes our entry into a shared document and confirms it is there (see the module
 * documentation); returns the document as last confirmed. Throws `KarsError("TRANSIENT")`
 * with `details.reason === "WriteConflict"` when concurrent writers kept replacing it for
 * every attempt; errors of `read`/`write` propagate.
 *
 * @example
 * ```ts
 * import { writeConfirmed } from "./confirm_write.ts";
 * let doc: string[] | null = null;
 * await writeConfirmed({
 *   what: "example",
 *   read: () => Promise.resolve(doc),
 *   has: (s) => s?.includes("mine") ?? false,
 *   write: (s) => {
 *     doc = [...(s ?? []), "mine"];
 *     return Promise.resolve("written");
 *   },
 * }, { minRecheckMs: 0 });
 * ```
 */
export async function writeConfirmed<S>(
  w: ConfirmedWrite<S>,
  options: ConfirmOptions = {},
): Promise<S> {
  const attempts = options.attempts ?? 8;
  const base = options.backoffMs ?? 25;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? (() => performance.now());
  const backoff = (i: number) => sleep(Math.min(base * 2 ** i, 1000) * (0.5 + Math.random()));
  let slowestReadMs = 0, slowestWriteMs = 0;
  const read = async () => {
    const t0 = now();
    const s = await w.read();
    slowestReadMs = Math.max(slowestReadMs, now() - t0);
    return s;
  };
  let wrote = false;
  let replaced = 0;
  for (let i = 0; i < attempts; i++) {
    const state = await read();
    if (!w.has(state)) {
      if (wrote) replaced++; // our confirmed-missing entry, or ours replaced since
      const t0 = now();
      const written = (await w.write(state)) === "written";
      slowestWriteMs = Math.max(slowestWriteMs, now() - t0);
      if (written) {
        wrote = true;
      } else {
        replaced++;
        await backoff(i);
        continue;
      }
    } else if (!wrote) {
      return state as S; // already there before us: nothing of ours to lose
    }
    // Ours is written (or merged in by a rival after we wrote): confirm once, after the delay —
    // again after a longer one while the delay itself overran (a stalled machine, see below).
    let ms = recheckDelay({
      slowestReadMs,
      slowestWriteMs,
      contended: replaced > 0,
      factor: options.latencyFactor,
      min: options.minRecheckMs,
      max: options.maxRecheckMs,
      contendedMs: options.recheckMs,
    });
    let again: S | null = null;
    for (let extra = 0;; extra++) {
      const t0 = now();
      await sleep(ms);
      const late = now() - t0 - ms;
      again = await read();
      if (!w.has(again)) break;
      // This process slept more than twice as long as it asked: the machine stalls processes
      // for about that long, and a rival stalled between its read and its write as long could
      // still land a stale write. One more confirming read, after at least the stall seen.
      if (!(late > ms) || extra >= (options.stallRechecks ?? 2)) return again as S;
      ms = Math.min(ms + late, options.maxRecheckMs ?? 2000);
    }
    await backoff(i); // a concurrent writer replaced ours: read theirs and merge again
  }
  throw new KarsError(
    "TRANSIENT",
    `${w.what}: concurrent writers replaced this document ${replaced} time(s) in ${attempts} ` +
      `attempts and our entry could not be confirmed there; run the operation again`,
    { details: { reason: "WriteConflict", attempts } },
  );
}
