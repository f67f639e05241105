/**
 * Errors that carry a stable machine-readable code, in the style of sigstore-js.
 *
 * Every failure the library reports is a {@link KarsError}. The `code` says what
 * class of failure it is (the CLI maps it to an exit code); the message names the
 * input at fault and, where there is one, the fix.
 *
 * @module
 */

/**
 * Stable error codes. The CLI maps `USAGE` and `INPUT` to exit code 2, every other
 * code to exit code 1 (verification verdicts have their own exit code, 3).
 */
export type ErrorCode =
  /** Bad command-line usage: unknown flag, missing argument, incompatible flags. */
  | "USAGE"
  /** Bad input data: a sandbox file, an allowlist entry, a policy file. */
  | "INPUT"
  /** A file would be overwritten, or cannot be written. */
  | "FILE"
  /** A registry operation failed (the message names registry, repository and operation). */
  | "REGISTRY"
  /** The thing asked for does not exist (manifest, blob, tag, sandbox, file). */
  | "NOT_FOUND"
  /** Credentials missing or refused (HTTP 401/403). */
  | "AUTH"
  /** A network or server fault that may go away on retry. */
  | "TRANSIENT"
  /** Signing failed (Fulcio, Rekor, TSA, key material). */
  | "SIGN"
  /** Verification could not be carried out. */
  | "VERIFY"
  /** The Kubernetes API refused or failed. */
  | "KUBE"
  /** The feature exists in the CLI contract but is not available in this build. */
  | "UNAVAILABLE"
  /** Anything else; a bug if seen. */
  | "INTERNAL";

/**
 * The one error type of the library: a message plus a stable {@link ErrorCode}.
 *
 * @example
 * ```ts
 * import { KarsError } from "./errors.ts";
 * try {
 *   throw new KarsError("INPUT", "sandbox.yaml: missing metadata.name");
 * } catch (e) {
 *   if (e instanceof KarsError && e.code === "INPUT") console.error(e.message);
 * }
 * ```
 */
export class KarsError extends Error {
  /** What class of failure this is. */
  readonly code: ErrorCode;
  /** Extra structured detail (never secrets). */
  readonly details?: Record<string, unknown>;

  /**
   * Creates an error of class `code`.
   *
   * @param code the failure class
   * @param message a sentence naming the input at fault and, where there is one, the fix
   * @param options `cause` (the underlying error) and `details`
   */
  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KarsError";
    this.code = code;
    if (options.details) this.details = options.details;
  }
}

/**
 * True when `e` is a {@link KarsError}, optionally of the given code.
 *
 * @example
 * ```ts
 * import { isKarsError, KarsError } from "./errors.ts";
 * isKarsError(new KarsError("USAGE", "x"), "USAGE"); // true
 * ```
 */
export function isKarsError(e: unknown, code?: ErrorCode): e is KarsError {
  return e instanceof KarsError && (code === undefined || e.code === code);
}
