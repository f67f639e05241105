/**
 * Trust material for Sigstore verification: parsing `trusted_root.json`
 * (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`) into keys and certificates.
 *
 * A `validFor` range must have a `start` (a missing start is refused, never read as
 * "since forever"); a missing `end` means still valid. Ranges are closed intervals.
 * Keys of algorithms this verifier does not support are kept with `key: undefined` and can
 * never verify anything (fail closed) instead of making the whole root unusable.
 *
 * @module
 */
import { fromBase64, fromUtf8 } from "../../encoding/bytes.ts";
import { verifyError } from "./fail.ts";
import { parsePkcs1RsaPublicKey, parseSpki, type PublicKey } from "./keys.ts";
import { type Certificate, parseCertificate } from "./x509.ts";
import { PRODUCTION_TRUSTED_ROOT } from "./production_root.ts";

/** A closed time interval; `end` absent means open-ended. */
export interface TimeRange {
  /** First instant of validity. */
  start: Date;
  /** Last instant of validity (inclusive), when bounded. */
  end?: Date;
}

/** A transparency log (Rekor) or certificate transparency log (CT) instance. */
export interface TransparencyLog {
  /** The log's base URL. */
  baseUrl: string;
  /** The log's public key; undefined when its algorithm is not supported. */
  key?: PublicKey;
  /** The trusted root's keyDetails string. */
  keyDetails: string;
  /** When the key may be used. */
  validFor?: TimeRange;
  /** The log id (SHA-256 of the key for Rekor v1 and CT). */
  logId: Uint8Array;
  /** Checkpoint key id (Rekor v2), when given. */
  checkpointKeyId?: Uint8Array;
}

/** A Fulcio CA or an RFC 3161 timestamp authority. */
export interface CertificateAuthority {
  /** The authority's URI. */
  uri: string;
  /** Chain from the issuing certificate up to the root. */
  certChain: Certificate[];
  /** When the authority may be trusted. */
  validFor?: TimeRange;
}

/** Parsed trust material. */
export interface TrustedRoot {
  /** The media type of the source document. */
  mediaType: string;
  /** Rekor instances. */
  tlogs: TransparencyLog[];
  /** CT log instances. */
  ctlogs: TransparencyLog[];
  /** Fulcio CAs. */
  certificateAuthorities: CertificateAuthority[];
  /** RFC 3161 timestamp authorities. */
  timestampAuthorities: CertificateAuthority[];
}

type Json = Record<string, unknown>;

function bad(message: string, cause?: unknown): never {
  throw verifyError(
    "TrustRootInvalid",
    `trusted root: ${message}; use a trusted_root.json from the Sigstore TUF repository`,
    cause,
  );
}

function obj(v: unknown, where: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${where} must be an object`);
  return v as Json;
}

function arr(v: unknown, where: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) bad(`${where} must be an array`);
  return v;
}

function b64(v: unknown, where: string): Uint8Array {
  if (typeof v !== "string") bad(`${where} must be a base64 string`);
  try {
    return fromBase64(v);
  } catch (e) {
    bad(`${where} is not valid base64`, e);
  }
}

function time(v: unknown, where: string): Date {
  if (
    typeof v !== "string" ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v)
  ) {
    bad(`${where} must be an RFC 3339 time`);
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) bad(`${where} is not a valid time`);
  return d;
}

function timeRange(v: unknown, where: string): TimeRange | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, where);
  if (o.start === undefined) bad(`${where}.start is missing`);
  const start = time(o.start, `${where}.start`);
  const end = o.end === undefined ? undefined : time(o.end, `${where}.end`);
  if (end && end.getTime() < start.getTime()) bad(`${where} ends before it starts`);
  return { start, end };
}

function parseKey(raw: Uint8Array, details: string): PublicKey | undefined {
  try {
    if (details === "PKCS1_RSA_PKCS1V5") return parsePkcs1RsaPublicKey(raw);
    const key = parseSpki(raw);
    const ok = (details.startsWith("PKIX_ECDSA_P256") && key.algorithm === "ecdsa-p256") ||
      (details.startsWith("PKIX_ECDSA_P384") && key.algorithm === "ecdsa-p384") ||
      (details === "PKIX_ED25519" && key.algorithm === "ed25519") ||
      ((details === "PKIX_RSA_PKCS1V5" || details.startsWith("PKIX_RSA_PKCS1V15_")) &&
        key.algorithm === "rsa");
    return ok ? key : undefined;
  } catch {
    return undefined;
  }
}

function tlog(v: unknown, where: string): TransparencyLog {
  const o = obj(v, where);
  const pk = obj(o.publicKey, `${where}.publicKey`);
  const keyDetails = typeof pk.keyDetails === "string" ? pk.keyDetails : "";
  const raw = b64(pk.rawBytes, `${where}.publicKey.rawBytes`);
  const logId = b64(obj(o.logId, `${where}.logId`).keyId, `${where}.logId.keyId`);
  return {
    baseUrl: typeof o.baseUrl === "string" ? o.baseUrl : "",
    key: parseKey(raw, keyDetails),
    keyDetails,
    validFor: timeRange(pk.validFor, `${where}.publicKey.validFor`),
    logId,
    checkpointKeyId: o.checkpointKeyId === undefined ? undefined : b64(
      obj(o.checkpointKeyId, `${where}.checkpointKeyId`).keyId,
      `${where}.checkpointKeyId.keyId`,
    ),
  };
}

function authority(v: unknown, where: string): CertificateAuthority {
  const o = obj(v, where);
  const certs = arr(
    obj(o.certChain, `${where}.certChain`).certificates,
    `${where}.certChain.certificates`,
  );
  if (certs.length === 0) bad(`${where}.certChain has no certificates`);
  const certChain = certs.map((c, i) => {
    const der = b64(
      obj(c, `${where}.certChain.certificates[${i}]`).rawBytes,
      `${where}.certChain.certificates[${i}].rawBytes`,
    );
    try {
      return parseCertificate(der);
    } catch (e) {
      bad(`${where}.certChain.certificates[${i}] is not a valid X.509 certificate`, e);
    }
  });
  return {
    uri: typeof o.uri === "string" ? o.uri : "",
    certChain,
    validFor: timeRange(o.validFor, `${where}.validFor`),
  };
}

/**
 * Loads trust material from a parsed `trusted_root.json` value. Throws `KarsError` (code
 * `INPUT`, reason `TrustRootInvalid`) when it is malformed.
 *
 * @example
 * ```ts
 * import { loadTrustedRoot } from "./trust_root.ts";
 * import { PRODUCTION_TRUSTED_ROOT } from "./production_root.ts";
 * loadTrustedRoot(PRODUCTION_TRUSTED_ROOT).tlogs.length > 0; // true
 * ```
 */
export function loadTrustedRoot(json: unknown): TrustedRoot {
  let copy: unknown;
  try {
    // Protobuf JSON reads `null` as "field absent".
    copy = JSON.parse(JSON.stringify(json), (_k, v) => (v === null ? undefined : v));
  } catch (e) {
    bad("not a JSON value", e);
  }
  const o = obj(copy, "document");
  const mediaType = typeof o.mediaType === "string" ? o.mediaType : "";
  if (!mediaType.startsWith("application/vnd.dev.sigstore.trustedroot")) {
    bad(`unknown mediaType ${JSON.stringify(o.mediaType)}`);
  }
  return {
    mediaType,
    tlogs: arr(o.tlogs, "tlogs").map((t, i) => tlog(t, `tlogs[${i}]`)),
    ctlogs: arr(o.ctlogs, "ctlogs").map((t, i) => tlog(t, `ctlogs[${i}]`)),
    certificateAuthorities: arr(o.certificateAuthorities, "certificateAuthorities").map((c, i) =>
      authority(c, `certificateAuthorities[${i}]`)
    ),
    timestampAuthorities: arr(o.timestampAuthorities, "timestampAuthorities").map((c, i) =>
      authority(c, `timestampAuthorities[${i}]`)
    ),
  };
}

/**
 * Parses `trusted_root.json` text (or bytes). Throws `KarsError` (code `INPUT`, reason
 * `TrustRootInvalid`) when it is not JSON or is malformed.
 *
 * @example
 * ```ts
 * import { parseTrustedRoot } from "./trust_root.ts";
 * // const root = parseTrustedRoot(await Deno.readTextFile("trusted_root.json"));
 * ```
 */
export function parseTrustedRoot(text: string | Uint8Array): TrustedRoot {
  let json: unknown;
  try {
    json = JSON.parse(typeof text === "string" ? text : fromUtf8(text));
  } catch (e) {
    bad("not valid JSON", e);
  }
  return loadTrustedRoot(json);
}

let production: TrustedRoot | undefined;

/**
 * The Sigstore public-good trusted root shipped with the package (parsed once, cached).
 *
 * @example
 * ```ts
 * import { productionTrustedRoot } from "./trust_root.ts";
 * productionTrustedRoot().certificateAuthorities.length > 0; // true
 * ```
 */
export function productionTrustedRoot(): TrustedRoot {
  production ??= loadTrustedRoot(PRODUCTION_TRUSTED_ROOT);
  return production;
}

/**
 * True when `t` lies within `range` (closed interval); an absent range always holds.
 *
 * @example
 * ```ts
 * import { inRange } from "./trust_root.ts";
 * inRange({ start: new Date(0) }, new Date()); // true
 * ```
 */
export function inRange(range: TimeRange | undefined, t: Date): boolean {
  if (!range) return true;
  return range.start.getTime() <= t.getTime() &&
    (range.end === undefined || t.getTime() <= range.end.getTime());
}
