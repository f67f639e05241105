/**
 * A registry's failure answer as a {@link KarsError}: the HTTP status picks the code
 * (404 `NOT_FOUND`, 401/403 `AUTH`, 408/429/5xx `TRANSIENT`, else `REGISTRY`), and the
 * message names the registry, repository, operation, status, the registry's own error codes
 * and messages (quoted from at most 1 MiB of body), and what to do.
 *
 * @module
 */
import { sanitizeMessage } from "../encoding/quote.ts";
import { KarsError } from "../errors.ts";
import { readBodyPrefix, SMALL_BODY_MAX_BYTES } from "../io/body.ts";
import { isRetryableStatus } from "./retry.ts";

/** Where a failed response came from, for the message and `details`. */
export interface FailedRequest {
  /** `host[:port]` of the registry. */
  registry: string;
  /** Repository the operation was on. */
  repository: string;
  /** Operation description, e.g. `push blob sha256:...`. */
  op: string;
  /** Notes of withheld credentials, appended to 401/403 messages. */
  withheld?: readonly string[];
}

/**
 * The error for a failed response (its body is consumed): see the module documentation.
 *
 * @example
 * ```ts
 * import { registryError } from "./registry_errors.ts";
 * const res = new Response('{"errors":[{"code":"NAME_UNKNOWN"}]}', { status: 404 });
 * const e = await registryError(res, { registry: "r.example", repository: "a/b", op: "list tags" });
 * e.code; // "NOT_FOUND"
 * ```
 */
export async function registryError(res: Response, where: FailedRequest): Promise<KarsError> {
  // Error bodies are only quoted: read at most 1 MiB of them.
  const text = new TextDecoder().decode(await readBodyPrefix(res, SMALL_BODY_MAX_BYTES));
  let codes: string[] = [];
  let messages: string[] = [];
  try {
    const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    // The body is the registry's (possibly hostile): a few short codes are enough to act on.
    // Codes and messages are cut and their control/invisible characters escaped, never echoed raw.
    codes = (j.errors ?? []).map((e) => String(e.code ?? "")).filter(Boolean).slice(0, 8)
      .map((c) => sanitizeMessage(c, 64));
    messages = (j.errors ?? []).map((e) => String(e.message ?? "")).filter(Boolean);
  } catch { /* not JSON */ }
  const s = res.status;
  const code = s === 404
    ? "NOT_FOUND"
    : s === 401 || s === 403
    ? "AUTH"
    : isRetryableStatus(s)
    ? "TRANSIENT"
    : "REGISTRY";
  const hint = s === 401
    ? "log in (docker login, or KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD) or check the credentials"
    : s === 403
    ? "the credentials lack permission for this repository; check the role or scope granted"
    : s === 404
    ? "check the registry, repository name and reference"
    : code === "TRANSIENT"
    ? "the registry is failing or overloaded; try again later"
    : "check the request against the registry's documentation";
  const regCode = codes.length ? ` ${codes.join(",")}` : "";
  const withheld = (s === 401 || s === 403) && where.withheld?.length
    ? ` (withheld: ${where.withheld.join("; ")})`
    : "";
  const regMsg = messages.length ? ` (${sanitizeMessage(messages.join("; "), 300)})` : "";
  return new KarsError(
    code,
    `${where.registry}/${where.repository}: ${where.op}: HTTP ${s}${regCode}${regMsg}; ${hint}${withheld}`,
    {
      details: {
        registry: where.registry,
        repository: where.repository,
        operation: where.op,
        status: s,
        registryCodes: codes,
      },
    },
  );
}
