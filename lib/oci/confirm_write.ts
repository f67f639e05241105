/**
 * Read-modify-write of a shared document (a `.sig` manifest, a `sha256-<hex>` referrers
 * fallback index) that survives concurrent writers without conditional requests: write our
 * entry merged into what is there, read back, and when a concurrent writer replaced the
 * document, merge into theirs and write again (bounded attempts, jittered backoff). Once our
 * entry is seen, it is checked once more after a short randomized delay, which catches a
 * writer whose stale write lands just after our read-back.
 *
 * Residual race: on a registry without conditional writes, a writer that read the document
 * before our write and lands its stale write after both our checks still drops our entry.
 * Targets with an atomic compare-and-swap (the OCI layout) pass a conditional `write` that
 * reports `"conflict"` instead, which closes the race there.
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
  /** Re-check delay range in ms (default [100, 300]). */
  recheckMs?: [number, number];
  /** Base of the jittered exponential backoff between attempts, ms (default 25). */
  backoffMs?: number;
  /** Sleep function (tests). */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
 * }, { recheckMs: [0, 0] });
 * ```
 */
export async function writeConfirmed<S>(
  w: ConfirmedWrite<S>,
  options: ConfirmOptions = {},
): Promise<S> {
  const attempts = options.attempts ?? 8;
  const [rmin, rmax] = options.recheckMs ?? [100, 300];
  const base = options.backoffMs ?? 25;
  const sleep = options.sleep ?? realSleep;
  let wrote = false;
  let replaced = 0;
  for (let i = 0; i < attempts; i++) {
    let state = await w.read();
    if (!w.has(state)) {
      if (wrote) replaced++;
      if ((await w.write(state)) === "written") {
        wrote = true;
        state = await w.read();
      } else {
        replaced++;
        state = null;
      }
    }
    if (w.has(state)) {
      if (!wrote) return state as S; // already there before us: nothing of ours to lose
      await sleep(rmin + Math.random() * (rmax - rmin));
      const again = await w.read();
      if (w.has(again)) return again as S;
    }
    await sleep(Math.min(base * 2 ** i, 1000) * (0.5 + Math.random()));
  }
  throw new KarsError(
    "TRANSIENT",
    `${w.what}: concurrent writers replaced this document ${replaced} time(s) in ${attempts} ` +
      `attempts and our entry could not be confirmed there; run the operation again`,
    { details: { reason: "WriteConflict", attempts } },
  );
}
