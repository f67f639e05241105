/**
 * Docker credential helpers: `docker-credential-<name> get`, run with the server URL on its
 * stdin (never in argv), answering `{Username, Secret}`. The helper's output is never echoed
 * in errors: it could contain secrets.
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { concatBytes, fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";

/** Runs `docker-credential-<helper> get` with the server URL on stdin. */
export type HelperRunner = (
  helper: string,
  serverUrl: string,
) => Promise<{ Username?: string; Secret?: string } | undefined>;

/** Most bytes read from a credential helper's stdout or stderr (its answer is a small JSON object). */
export const HELPER_OUTPUT_LIMIT = 64 * 1024;
/**
 * How long a credential helper may take to answer, in milliseconds (default 60 s: long enough
 * for a helper that asks an agent such as gpg-agent for a passphrase, bounded so that a hung
 * helper cannot hang a CI job).
 */
export const HELPER_TIMEOUT_MS = 60_000;

/** Options of {@link runCredentialHelper}. */
export interface CredentialHelperOptions {
  /** Environment of the helper process (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Milliseconds before the helper is killed and the lookup fails `TRANSIENT` (default {@link HELPER_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * The default {@link HelperRunner}: spawns `docker-credential-<helper> get` (looked up on
 * `PATH`), writes the server URL to its stdin (never argv), parses `{Username, Secret}`.
 * "credentials not found" yields `undefined`; other failures throw `AUTH`. The helper's
 * output is bounded ({@link HELPER_OUTPUT_LIMIT} per stream: more fails `AUTH`) and so is its
 * run time (a helper that does not answer in time is killed and the lookup fails `TRANSIENT`).
 *
 * @example
 * ```ts
 * import { runCredentialHelper } from "./credential_helper.ts";
 * // await runCredentialHelper("pass", "registry.example", { timeoutMs: 10_000 });
 * ```
 */
export function runCredentialHelper(
  helper: string,
  serverUrl: string,
  opts: CredentialHelperOptions = {},
): Promise<{ Username?: string; Secret?: string } | undefined> {
  const timeoutMs = opts.timeoutMs ?? HELPER_TIMEOUT_MS;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(helper)) {
    return Promise.reject(
      new KarsError(
        "INPUT",
        `docker config: invalid credential helper name ${JSON.stringify(helper)}`,
      ),
    );
  }
  const bin = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(bin, ["get"], {
        stdio: ["pipe", "pipe", "pipe"],
        env: opts.env as Record<string, string> | undefined,
      });
    } catch (cause) {
      reject(new KarsError("AUTH", `credential helper ${bin} could not be started`, { cause }));
      return;
    }
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (e: KarsError) =>
      settle(() => {
        child.kill("SIGKILL");
        reject(e);
      });
    const timer = setTimeout(() =>
      fail(
        new KarsError(
          "TRANSIENT",
          `credential helper ${bin} did not answer within ${
            Math.round(timeoutMs / 1000)
          } s; it was stopped (check that it does not wait for input, or run it by hand: ` +
            `echo HOST | ${bin} get)`,
          { details: { helper: bin, timeoutMs } },
        ),
      ), timeoutMs);
    const collect = (stream: Readable | null, into: Uint8Array[], name: string) => {
      let size = 0;
      stream?.on("data", (d: Uint8Array) => {
        size += d.byteLength;
        if (size > HELPER_OUTPUT_LIMIT) {
          fail(
            new KarsError(
              "AUTH",
              `credential helper ${bin} printed more than ${HELPER_OUTPUT_LIMIT} bytes on ${name}; ` +
                `a credential answer is a small JSON object (check the helper)`,
              { details: { helper: bin, limit: HELPER_OUTPUT_LIMIT } },
            ),
          );
          return;
        }
        into.push(d);
      });
    };
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    collect(child.stdout, out, "stdout");
    collect(child.stderr, err, "stderr");
    child.on("error", (cause: Error) =>
      fail(
        new KarsError(
          "AUTH",
          `credential helper ${bin} could not be run (${
            (cause as { code?: string }).code ?? cause.message
          }); install it or remove it from the Docker config`,
          { cause },
        ),
      ));
    child.on("close", (code: number | null) => {
      if (settled) return;
      const stdout = fromUtf8(concatBytes(...out)).trim();
      if (code !== 0) {
        if (
          /credentials not found/i.test(stdout) ||
          /credentials not found/i.test(fromUtf8(concatBytes(...err)))
        ) {
          settle(() => resolve(undefined));
        } else {
          // The helper's output is not echoed: it could contain secrets.
          fail(new KarsError("AUTH", `credential helper ${bin} failed with exit code ${code}`));
        }
        return;
      }
      let j: unknown;
      try {
        j = JSON.parse(stdout);
      } catch (cause) {
        fail(
          new KarsError("AUTH", `credential helper ${bin} printed something that is not JSON`, {
            cause,
          }),
        );
        return;
      }
      const o = (j ?? {}) as { Username?: unknown; Secret?: unknown };
      if (
        typeof j !== "object" || j === null || Array.isArray(j) ||
        (o.Username !== undefined && typeof o.Username !== "string") ||
        (o.Secret !== undefined && typeof o.Secret !== "string")
      ) {
        fail(
          new KarsError(
            "AUTH",
            `credential helper ${bin} answered JSON that is not {"Username": string, "Secret": string}`,
          ),
        );
        return;
      }
      settle(() => resolve({ Username: o.Username as string, Secret: o.Secret as string }));
    });
    child.stdin?.on("error", () => {});
    child.stdin?.end(serverUrl);
  });
}
