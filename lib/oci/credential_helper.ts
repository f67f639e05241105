/**
 * Docker credential helpers: `docker-credential-<name> get`, run with the server URL on its
 * stdin (never in argv), answering `{Username, Secret}`. The helper's output is never echoed
 * in errors: it could contain secrets.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { concatBytes, fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";

/** Runs `docker-credential-<helper> get` with the server URL on stdin. */
export type HelperRunner = (
  helper: string,
  serverUrl: string,
) => Promise<{ Username?: string; Secret?: string } | undefined>;

/**
 * The default {@link HelperRunner}: spawns `docker-credential-<helper> get` (looked up on
 * `PATH`), writes the server URL to its stdin (never argv), parses `{Username, Secret}`.
 * "credentials not found" yields `undefined`; other failures throw `AUTH`.
 *
 * @example
 * ```ts
 * import { runCredentialHelper } from "./credential_helper.ts";
 * // await runCredentialHelper("pass", "registry.example");
 * ```
 */
export function runCredentialHelper(
  helper: string,
  serverUrl: string,
  env?: Record<string, string | undefined>,
): Promise<{ Username?: string; Secret?: string } | undefined> {
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
    let child;
    try {
      child = spawn(bin, ["get"], {
        stdio: ["pipe", "pipe", "pipe"],
        env: env as Record<string, string> | undefined,
      });
    } catch (cause) {
      reject(new KarsError("AUTH", `credential helper ${bin} could not be started`, { cause }));
      return;
    }
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout.on("data", (d: Uint8Array) => out.push(d));
    child.stderr.on("data", (d: Uint8Array) => err.push(d));
    child.on("error", (cause: Error) =>
      reject(
        new KarsError(
          "AUTH",
          `credential helper ${bin} could not be run (${
            (cause as { code?: string }).code ?? cause.message
          }); install it or remove it from the Docker config`,
          { cause },
        ),
      ));
    child.on("close", (code: number | null) => {
      const stdout = fromUtf8(concatBytes(...out)).trim();
      if (code !== 0) {
        if (
          /credentials not found/i.test(stdout) ||
          /credentials not found/i.test(fromUtf8(concatBytes(...err)))
        ) {
          resolve(undefined);
        } else {
          // The helper's output is not echoed: it could contain secrets.
          reject(new KarsError("AUTH", `credential helper ${bin} failed with exit code ${code}`));
        }
        return;
      }
      try {
        const j = JSON.parse(stdout);
        resolve({ Username: j.Username, Secret: j.Secret });
      } catch (cause) {
        reject(
          new KarsError("AUTH", `credential helper ${bin} printed something that is not JSON`, {
            cause,
          }),
        );
      }
    });
    child.stdin.on("error", () => {});
    child.stdin.end(serverUrl);
  });
}
