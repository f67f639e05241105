/**
 * `kars verify-blob`: verifies a Sigstore bundle for a file or a digest, following the
 * sigstore-conformance CLI protocol.
 *
 * @module
 */
import { readFileBounded, readProblem } from "../io/file_read.ts";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fromHex, fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { pemDecodeAll } from "../encoding/pem.ts";
import { resolveTrustedRoot } from "../verify/trust_source.ts";
import { type TrustedRoot, verifyBundle } from "../verify/sigstore/mod.ts";
import { type CliContext, type Command, EXIT } from "./command.ts";
import { TIMEOUT_OPTION } from "./timeout.ts";

const DIGEST_RE = /^sha256:[0-9a-fA-F]{64}$/;
/** Largest file verified by content (64 MiB); a larger artifact is verified by its sha256 digest. */
const VERIFY_BLOB_MAX_BYTES = 64 * 1024 * 1024;

async function readInput(
  ctx: CliContext,
  flag: string,
  path: string,
  artifact = false,
): Promise<Uint8Array> {
  try {
    // Bounded: a blob to verify is read into memory (a larger one: pass its sha256 digest).
    return await readFileBounded(resolve(ctx.cwd, path), { maxBytes: VERIFY_BLOB_MAX_BYTES });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "INPUT" && artifact
      ? `larger than ${VERIFY_BLOB_MAX_BYTES} bytes (${VERIFY_BLOB_MAX_BYTES / 1048576} MiB), ` +
        "the most verify-blob reads into memory; give its digest instead: " +
        "sha256:<hex digest of the file> as FILE_OR_DIGEST (e.g. from sha256sum)"
      : code === "INPUT"
      ? `larger than ${VERIFY_BLOB_MAX_BYTES} bytes; is it the right file?`
      : `cannot read the file: ${readProblem(e) ?? (e as Error).message}`;
    // Missing or unreadable input: exit 2.
    throw new KarsError("INPUT", `${flag} ${path}: ${why}`, { cause: e });
  }
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * The `kars verify-blob` command.
 *
 * @example
 * ```ts
 * import { verifyBlobCommand } from "./verify_blob.ts";
 * verifyBlobCommand.path; // ["verify-blob"]
 * ```
 */
export const verifyBlobCommand: Command = {
  path: ["verify-blob"],
  summary: "verify a Sigstore bundle for a file or sha256 digest (conformance CLI protocol)",
  help:
    `kars verify-blob --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key PEM)
                 [--trusted-root FILE] FILE_OR_DIGEST

Verifies a Sigstore bundle (v0.1, v0.2, v0.3; message signature or DSSE) offline:
signature, Fulcio certificate chain at signing time, SCTs, Rekor entry (SET, inclusion
proof, checkpoint), RFC 3161 timestamps, and the exact certificate identity and issuer;
or, with --key, the signature by that public key.

FILE_OR_DIGEST is a digest when it is sha256:<64 hex digits> and no such file exists.
A FILE is read into memory, at most 64 MiB; for a larger artifact give its digest,
sha256:<hex digest of the file> (e.g. from sha256sum).

  --bundle FILE                    the bundle (.sigstore.json)
  --certificate-identity ID        expected certificate SAN (exact)
  --certificate-oidc-issuer URL    expected OIDC issuer (exact)
  --key PEM                        verify with this public key (PEM PUBLIC KEY) instead
  --trusted-root FILE              trusted_root.json (default: the bundled Sigstore public-good root)
  --refresh-trusted-root           fetch the current trusted root through TUF (network)
  --tuf-mirror URL                 TUF mirror for --refresh-trusted-root
  --timeout DURATION               time budget of the command, e.g. 30s, 2m (default 2m)

Exit codes: 0 verified, 3 not verified (reason on stderr; a verdict False, as in kars egress
verify), 2 usage or unreadable input, 5 transient fault (--refresh-trusted-root).
`,
  options: {
    "bundle": { type: "string" },
    "certificate-identity": { type: "string" },
    "certificate-oidc-issuer": { type: "string" },
    "key": { type: "string" },
    "trusted-root": { type: "string" },
    "refresh-trusted-root": { type: "boolean" },
    "tuf-mirror": { type: "string" },
    ...TIMEOUT_OPTION,
  },
  async run(values, positionals, ctx) {
    const bundlePath = str(values["bundle"]);
    const san = str(values["certificate-identity"]);
    const issuer = str(values["certificate-oidc-issuer"]);
    const keyPath = str(values["key"]);
    const rootPath = str(values["trusted-root"]);
    if (!bundlePath) throw new KarsError("USAGE", "verify-blob: --bundle FILE is required");
    if (positionals.length !== 1) {
      throw new KarsError("USAGE", "verify-blob: give exactly one FILE_OR_DIGEST argument");
    }
    if (keyPath !== undefined && (san !== undefined || issuer !== undefined)) {
      throw new KarsError(
        "USAGE",
        "verify-blob: --key cannot be combined with --certificate-identity/--certificate-oidc-issuer",
      );
    }
    if (keyPath === undefined && (san === undefined || issuer === undefined)) {
      throw new KarsError(
        "USAGE",
        "verify-blob: give --certificate-identity and --certificate-oidc-issuer, or --key",
      );
    }

    const target = positionals[0];
    const isDigest = DIGEST_RE.test(target) && !existsSync(resolve(ctx.cwd, target));
    const artifact = isDigest
      ? { digest: fromHex(target.slice("sha256:".length)) }
      : { bytes: await readInput(ctx, "artifact", target, true) };
    const bundleBytes = await readInput(ctx, "--bundle", bundlePath);
    let publicKeys: Uint8Array[] | undefined;
    if (keyPath !== undefined) {
      const pem = await readInput(ctx, "--key", keyPath);
      let blocks;
      try {
        blocks = pemDecodeAll(fromUtf8(pem)).filter((b) => b.label === "PUBLIC KEY");
      } catch (e) {
        throw new KarsError("INPUT", `--key ${keyPath}: not a PEM file`, { cause: e });
      }
      if (blocks.length === 0) {
        throw new KarsError(
          "INPUT",
          `--key ${keyPath}: no "PUBLIC KEY" PEM block (use a cosign.pub)`,
        );
      }
      publicKeys = blocks.map((b) => b.der);
    }

    try {
      const trustedRoot: TrustedRoot = await resolveTrustedRoot({
        file: rootPath,
        refresh: values["refresh-trusted-root"] === true,
        mirrorURL: str(values["tuf-mirror"]),
        cwd: ctx.cwd,
      });
      const v = await verifyBundle(bundleBytes, artifact, {
        trustedRoot,
        publicKeys,
        identity: san !== undefined && issuer !== undefined ? { san, issuer } : undefined,
      });
      if (publicKeys && v.kind !== "key") {
        ctx.stderr(
          "kars verify-blob: verification failed (SignatureVerifyFailed): the bundle is signed " +
            "with a certificate, not a key; verify it with --certificate-identity and " +
            "--certificate-oidc-issuer\n",
        );
        return EXIT.VERDICT_FALSE;
      }
      const who = v.kind === "certificate" ? `${v.san} (${v.issuer})` : `key ${v.keyId}`;
      ctx.stderr(
        `Verified OK: signed by ${who}${v.signedAt ? ` at ${v.signedAt.toISOString()}` : ""}\n`,
      );
      return EXIT.OK;
    } catch (e) {
      if (
        !(e instanceof KarsError) || e.code === "USAGE" ||
        e.code === "NOT_FOUND" || e.code === "FILE" || e.code === "TRANSIENT"
      ) {
        throw e;
      }
      const reason = typeof e.details?.reason === "string" ? e.details.reason : e.code;
      ctx.stderr(`kars verify-blob: verification failed (${reason}): ${e.message}\n`);
      return EXIT.VERDICT_FALSE;
    }
  },
};
