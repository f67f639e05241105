/**
 * RFC 3161 timestamps from a timestamp authority (`POST {tsa}/api/v1/timestamp`, DER
 * `TimeStampReq`, as cosign sends). The response is checked for a granted status, the
 * nonce and the message imprint before it is kept.
 *
 * @module
 */
import { bytesEqual } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";
import {
  decodeDer,
  derBool,
  derInt,
  type DerNode,
  derNull,
  derOctets,
  derOid,
  derSeq,
  readInt,
  readOid,
  TAG,
} from "../encoding/der.ts";
import { KarsError } from "../errors.ts";
import { callService, type FetchFn } from "./http.ts";

const OID_SHA256 = "2.16.840.1.101.3.4.2.1";
const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const OID_TSTINFO = "1.2.840.113549.1.9.16.1.4";

/**
 * A DER `TimeStampReq` for SHA-256 of `data`, asking for the TSA's certificate.
 *
 * @example
 * ```ts
 * import { timeStampRequest } from "./tsa.ts";
 * timeStampRequest(new Uint8Array([1]), 42n)[0]; // 0x30
 * ```
 */
export function timeStampRequest(data: Uint8Array, nonce: bigint): Uint8Array {
  return derSeq(
    derInt(1n),
    derSeq(derSeq(derOid(OID_SHA256), derNull()), derOctets(sha256Bytes(data))),
    derInt(nonce),
    derBool(true),
  );
}

/**
 * Requests a timestamp over `data` (for cosign and Sigstore bundles: the signature bytes)
 * and returns the DER `TimeStampResp`.
 *
 * @example
 * ```ts
 * import { requestTimestamp } from "./tsa.ts";
 * declare const signature: Uint8Array;
 * const tsr = await requestTimestamp({ tsaUrl: "https://timestamp.sigstore.dev" }, signature);
 * ```
 */
export async function requestTimestamp(
  opts: { tsaUrl: string; fetch?: FetchFn },
  data: Uint8Array,
): Promise<Uint8Array> {
  // 53 bits of randomness: a safe integer, which some TSAs (and @sigstore/mock) require.
  const r = crypto.getRandomValues(new Uint8Array(7));
  let nonce = 0n;
  for (const b of r) nonce = (nonce << 8n) | BigInt(b);
  nonce = (nonce & ((1n << 53n) - 1n)) | 1n;
  const base = opts.tsaUrl.replace(/\/+$/, "");
  const url = /\/api\/v1\/timestamp$/.test(base) ? base : `${base}/api/v1/timestamp`;
  const body = await callService(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/timestamp-query",
      Accept: "application/timestamp-reply",
    },
    body: timeStampRequest(data, nonce) as BufferSource,
  }, {
    service: "TSA",
    hint: "check the timestamp authority URL, or sign without a timestamp authority",
    fixOptions: ["tsaUrl"],
    fetch: opts.fetch,
  });
  checkResponse(body, sha256Bytes(data), nonce);
  return body;
}

function checkResponse(resp: Uint8Array, imprint: Uint8Array, nonce: bigint): void {
  const bad = (what: string, cause?: unknown) =>
    new KarsError("SIGN", `TSA returned an unusable timestamp: ${what}`, {
      cause,
      details: { service: "TSA" },
    });
  let tst: DerNode;
  try {
    const top = decodeDer(resp);
    const status = readInt(top.children[0].children[0]);
    if (status > 1n) throw bad(`status ${status} (not granted)`);
    const token = top.children[1];
    if (!token || readOid(token.children[0]) !== OID_SIGNED_DATA) throw bad("no SignedData");
    const signedData = token.children[1].children[0];
    const encap = signedData.children.find((c) =>
      c.tag === TAG.SEQUENCE && c.children[0]?.tag === TAG.OID &&
      readOid(c.children[0]) === OID_TSTINFO
    );
    if (!encap) throw bad("no TSTInfo");
    tst = decodeDer(encap.children[1].children[0].value);
  } catch (e) {
    if (e instanceof KarsError) throw e;
    throw bad("malformed DER", e);
  }
  const imprintNode = tst.children[2];
  const gotImprint = imprintNode?.children[1]?.value;
  if (!gotImprint || !bytesEqual(gotImprint, imprint)) throw bad("message imprint mismatch");
  const nonceNode = tst.children.find((c, i) => i > 4 && c.tag === TAG.INTEGER);
  if (!nonceNode || readInt(nonceNode) !== nonce) throw bad("nonce mismatch");
}
