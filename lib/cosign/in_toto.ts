/**
 * The in-toto Statement v1 cosign v3 signs for an image (in a DSSE envelope of a Sigstore
 * bundle): predicate type `https://sigstore.dev/cosign/sign/v1`, empty predicate, subject =
 * the manifest digest. Written here, and checked here on the way back.
 *
 * @module
 */
import { fromBase64, fromUtf8, toHex, utf8 } from "../encoding/bytes.ts";
import { type Digest, digestHex } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { COSIGN_SIGN_PREDICATE, IN_TOTO_STATEMENT_V1, INTOTO_PAYLOAD_TYPE } from "./vocabulary.ts";

/**
 * The in-toto Statement v1 bytes for a manifest digest, subject name
 * `<registry>/<repository>`.
 *
 * @example
 * ```ts
 * import { cosignStatement } from "./in_toto.ts";
 * JSON.parse(new TextDecoder().decode(cosignStatement("r.io/a", `sha256:${"0".repeat(64)}` as const))).predicateType;
 * // "https://sigstore.dev/cosign/sign/v1"
 * ```
 */
export function cosignStatement(name: string, manifestDigest: Digest): Uint8Array {
  return utf8(JSON.stringify({
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name, digest: { sha256: digestHex(manifestDigest) } }],
    predicateType: COSIGN_SIGN_PREDICATE,
    predicate: {},
  }));
}

/**
 * Checks that a verified bundle's DSSE envelope holds cosign's in-toto statement over
 * `digest` (payload type, statement type, predicate type, a subject with this digest) and that
 * the payload the signature verified (`verified.payload`, when given) is this envelope's.
 * Throws `KarsError("VERIFY")` with reason `SignatureVerifyFailed`.
 *
 * @example
 * ```ts
 * import { checkInTotoSubject, cosignStatement } from "./in_toto.ts";
 * const d = `sha256:${"0".repeat(64)}` as const;
 * const payload = btoa(new TextDecoder().decode(cosignStatement("r.io/a", d)));
 * checkInTotoSubject({ dsseEnvelope: { payload, payloadType: "application/vnd.in-toto+json" } }, {}, d);
 * ```
 */
export function checkInTotoSubject(
  bundle: unknown,
  verified: { payload?: Uint8Array },
  digest: Digest,
): void {
  const fail = (why: string): never => {
    throw new KarsError("VERIFY", `bundle: ${why}`, {
      details: { reason: "SignatureVerifyFailed" },
    });
  };
  const env = (bundle as { dsseEnvelope?: { payload?: unknown; payloadType?: unknown } })
    ?.dsseEnvelope;
  if (!env || typeof env.payload !== "string") {
    return fail("no DSSE envelope (an image signature bundle holds an in-toto statement)");
  }
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) {
    fail(
      `DSSE payloadType is ${JSON.stringify(env.payloadType)}, expected ${INTOTO_PAYLOAD_TYPE}`,
    );
  }
  let payload: Uint8Array;
  try {
    payload = fromBase64(env.payload as string);
  } catch {
    return fail("DSSE payload is not base64");
  }
  if (verified.payload && toHex(verified.payload) !== toHex(payload)) {
    fail("verified payload differs from the envelope payload");
  }
  let st: { _type?: unknown; predicateType?: unknown; subject?: unknown };
  try {
    st = JSON.parse(fromUtf8(payload));
  } catch {
    return fail("in-toto statement is not JSON");
  }
  if (st._type !== IN_TOTO_STATEMENT_V1) {
    fail(`statement _type is ${JSON.stringify(st._type)}, expected ${IN_TOTO_STATEMENT_V1}`);
  }
  if (st.predicateType !== COSIGN_SIGN_PREDICATE) {
    fail(
      `statement predicateType is ${
        JSON.stringify(st.predicateType)
      }, expected ${COSIGN_SIGN_PREDICATE}`,
    );
  }
  const subjects = Array.isArray(st.subject)
    ? st.subject as { digest?: { sha256?: unknown } }[]
    : [];
  if (subjects.length === 0) fail("statement has no subject");
  if (!subjects.some((s) => s?.digest?.sha256 === digestHex(digest))) {
    fail(`in-toto subject digest is not ${digest} (a signature over another artifact)`);
  }
}
