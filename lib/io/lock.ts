/**
 * A cross-process advisory lock on a file path, runtime-neutral (`node:fs`, `node:os`).
 *
 * The lock is the existence of the lock file, created with `O_CREAT|O_EXCL` (flag `"wx"`),
 * which is atomic on local file systems and never follows a symlink planted at that name. The
 * file holds one JSON line `{pid, host, created, token}` so that others can tell who holds it.
 *
 * Stale-lock recovery: a lock is stale when its holder cannot be running any more —
 * it was taken on this host and its pid no longer exists — or when it is older than
 * `staleMs` (default 60 s; the critical sections this guards last milliseconds), or when its
 * content is unreadable and its mtime is older than `staleMs`. A stale lock is removed only
 * under a second lock (`<path>.break`, also `O_EXCL`), after re-reading it and judging it stale
 * again (a lock a third process has just taken is fresh, so two waiters that both judged the
 * old one stale cannot remove the new one). Waiting is bounded (`timeoutMs`, default 30 s) and fails with
 * `KarsError("TRANSIENT")` naming the holder. Release removes the file only while it still
 * holds our token.
 *
 * @module
 */
import { readFileBounded } from "./file_read.ts";
import { randomBytes } from "node:crypto";
import { lstat, open, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import process from "node:process";
import { KarsError } from "../errors.ts";

/** Options of {@link acquireFileLock} and {@link withFileLock}. */
export interface FileLockOptions {
  /** Give up waiting after this many milliseconds (default 30,000). */
  timeoutMs?: number;
  /** A lock older than this is considered abandoned (default 60,000 ms). */
  staleMs?: number;
  /** What the lock guards, for messages (default: the lock path). */
  what?: string;
}

/** A held lock. */
export interface FileLock {
  /** The lock file path. */
  readonly path: string;
  /** Releases the lock (idempotent; never removes a lock someone else now holds). */
  release(): Promise<void>;
}

/** What a lock file says about its holder. */
export interface LockOwner {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the holder. */
  host: string;
  /** When it was taken (ms since the epoch). */
  created: number;
  /** Random token identifying this acquisition. */
  token: string;
}

function errCode(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readOwner(path: string): Promise<LockOwner | null | "gone"> {
  let text: string;
  try {
    // A lock file holds one small JSON object: bounded.
    text = new TextDecoder().decode(await readFileBounded(path, { maxBytes: 64 * 1024 }));
  } catch (e) {
    if (errCode(e) === "NOT_FOUND") return "gone";
    return null;
  }
  try {
    const j = JSON.parse(text);
    if (
      typeof j?.pid === "number" && typeof j.host === "string" && typeof j.created === "number" &&
      typeof j.token === "string"
    ) return j as LockOwner;
  } catch { /* torn or foreign content */ }
  return null;
}

/** True when `pid` is not a running process on this host. */
function pidGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return errCode(e) === "ESRCH";
  }
}

/**
 * Decides whether a lock is abandoned: `owner` is what the lock file says (null when
 * unreadable), `mtimeMs` its modification time.
 *
 * @example
 * ```ts
 * import { isStale } from "./lock.ts";
 * isStale({ pid: 1, host: "elsewhere", created: 0, token: "t" }, 0, Date.now(), 60_000); // true
 * ```
 */
export function isStale(
  owner: LockOwner | null,
  mtimeMs: number,
  now: number,
  staleMs: number,
): boolean {
  if (!owner) return now - mtimeMs > staleMs;
  if (now - owner.created > staleMs) return true;
  return owner.host === hostname() && pidGone(owner.pid);
}

async function tryCreate(path: string, body: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, "wx", 0o644);
  } catch (e) {
    if (errCode(e) === "EEXIST") return false;
    throw e;
  }
  try {
    await fh.writeFile(body);
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * Breaks a stale lock under `<path>.break`, judging it stale again there; true when this call
 * removed it (retry at once), false otherwise.
 */
async function breakStale(path: string, staleMs: number): Promise<boolean> {
  const breakPath = `${path}.break`;
  const me = JSON.stringify({ pid: process.pid, host: hostname(), created: Date.now(), token: "" });
  if (!(await tryCreate(breakPath, me))) {
    // Someone else is breaking it; a break lock left by a crash is itself stale after staleMs.
    try {
      const st = await lstat(breakPath);
      if (Date.now() - st.mtimeMs > staleMs) await unlink(breakPath).catch(() => {});
    } catch { /* gone */ }
    return false;
  }
  try {
    const st = await lstat(path).catch(() => null);
    if (!st) return true;
    const owner = await readOwner(path);
    if (owner === "gone") return true;
    if (!isStale(owner, st.mtimeMs, Date.now(), staleMs)) return false;
    return await unlink(path).then(() => true, () => false);
  } finally {
    await unlink(breakPath).catch(() => {});
  }
}

/**
 * Takes the lock at `path`, waiting (bounded, with jitter) while another process holds it
 * and recovering stale locks (see the module documentation).
 *
 * @example
 * ```ts
 * import { acquireFileLock } from "./lock.ts";
 * const lock = await acquireFileLock("./layout/index.json.lock");
 * try {
 *   // read-modify-write ./layout/index.json
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export async function acquireFileLock(
  path: string,
  options: FileLockOptions = {},
): Promise<FileLock> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const token = randomBytes(12).toString("hex");
  const body = JSON.stringify({ pid: process.pid, host: hostname(), created: Date.now(), token });
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  let last: LockOwner | null = null;
  for (;;) {
    let created: boolean;
    try {
      created = await tryCreate(path, body);
    } catch (e) {
      throw new KarsError(
        "FILE",
        `cannot create lock file ${path}: ${errCode(e) ?? (e as Error)?.message}`,
        { cause: e, details: { reason: "LockFailed" } },
      );
    }
    if (created) {
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          const owner = await readOwner(path);
          if (owner && owner !== "gone" && owner.token === token) {
            await unlink(path).catch(() => {});
          }
        },
      };
    }
    const st = await lstat(path).catch(() => null);
    if (st) {
      const owner = await readOwner(path);
      if (owner !== "gone") {
        last = owner;
        if (isStale(owner, st.mtimeMs, Date.now(), staleMs)) {
          // Retry at once only when the break happened; while another process is breaking
          // it (its `.break` file), wait like any other holder instead of spinning.
          if (await breakStale(path, staleMs) && Date.now() < deadline) continue;
        }
      }
    }
    if (Date.now() >= deadline) {
      const who = last
        ? `held by pid ${last.pid} on ${last.host} since ${new Date(last.created).toISOString()}`
        : "held by another process";
      throw new KarsError(
        "TRANSIENT",
        `${options.what ?? path}: timed out after ${timeoutMs} ms waiting for the lock ${path} ` +
          `(${who}); retry, or remove ${path} if no kars process is writing there`,
        { details: { reason: "LockTimeout", lock: path } },
      );
    }
    // Bounded exponential wait with jitter (2 ms … 100 ms), never past the deadline.
    const ms = Math.min(wait, 100) * (0.5 + Math.random());
    wait *= 2;
    await sleep(Math.max(1, Math.min(ms, deadline - Date.now())));
  }
}

/**
 * Runs `fn` while holding the lock at `path`; releases it however `fn` ends.
 *
 * @example
 * ```ts
 * import { withFileLock } from "./lock.ts";
 * await withFileLock("./layout/index.json.lock", async () => {
 *   // read-modify-write
 * });
 * ```
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const lock = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
