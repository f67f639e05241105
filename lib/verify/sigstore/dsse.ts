/**
 * DSSE pre-authentication encoding and in-toto statement subjects.
 *
 * @module
 */
import { concatBytes, fromHex, fromUtf8, utf8 } from "../../encoding/bytes.ts";

/**
 * The in-toto payload type.
 *
 * @example
 * ```ts
 * import { IN_TOTO_PAYLOAD_TYPE } from "./dsse.ts";
 * IN_TOTO_PAYLOAD_TYPE; // "application/vnd.in-toto+json"
 * ```
 */
export { INTOTO_PAYLOAD_TYPE as IN_TOTO_PAYLOAD_TYPE } from "../../cosign/vocabulary.ts";

/**
 * DSSE v1 PAE: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
 *
 * @example
 * ```ts
 * import { preAuthEncoding } from "./dsse.ts";
 * new TextDecoder().decode(preAuthEncoding("t", new Uint8Array([0x61]))); // "DSSEv1 1 t 1 a"
 * ```
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(
    utf8(`DSSEv1 ${type.length} `),
    type,
    utf8(` ${payload.length} `),
    payload,
  );
}

/**
 * The SHA-256 digests of an in-toto statement's subjects. Throws `TypeError` when the
 * payload is not an in-toto statement.
 *
 * @example
 * ```ts
 * import { inTotoSubjectDigests } from "./dsse.ts";
 * const stmt = { _type: "https://in-toto.io/Statement/v1", subject: [{ name: "a", digest: { sha256: "00".repeat(32) } }] };
 * inTotoSubjectDigests(new TextEncoder().encode(JSON.stringify(stmt))).length; // 1
 * ```
 */
export function inTotoSubjectDigests(payload: Uint8Array): Uint8Array[] {
  const stmt = JSON.parse(fromUtf8(payload)) as { _type?: unknown; subject?: unknown };
  if (typeof stmt._type !== "string" || !stmt._type.startsWith("https://in-toto.io/Statement/")) {
    throw new TypeError("payload is not an in-toto statement");
  }
  if (!Array.isArray(stmt.subject)) throw new TypeError("in-toto statement has no subject list");
  const out: Uint8Array[] = [];
  for (const s of stmt.subject) {
    const hex = (s as { digest?: { sha256?: unknown } })?.digest?.sha256;
    if (typeof hex === "string" && /^[0-9a-fA-F]{64}$/.test(hex)) out.push(fromHex(hex));
  }
  return out;
}
