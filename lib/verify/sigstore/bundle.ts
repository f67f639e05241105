/**
 * Strict reading of Sigstore bundles (`application/vnd.dev.sigstore.bundle+json;version=0.1`,
 * `…;version=0.2`, `…;version=0.3` and `application/vnd.dev.sigstore.bundle.v0.3+json`) into
 * typed values. Anything malformed, or of an unknown version, throws reason
 * `CanonicalFormViolation`.
 *
 * Version rules (protobuf-specs): v0.1 tlog entries carry an inclusion promise (SET);
 * v0.2 and later carry an inclusion proof with a checkpoint; v0.3 uses a single
 * `certificate` (not `x509CertificateChain`).
 *
 * @module
 */
import { fromBase64, fromUtf8 } from "../../encoding/bytes.ts";
import { verifyError } from "./fail.ts";
import { type Certificate, parseCertificate } from "./x509.ts";

/**
 * The bundle media types this verifier reads, by version.
 *
 * @example
 * ```ts
 * import { BUNDLE_MEDIA_TYPES } from "./bundle.ts";
 * BUNDLE_MEDIA_TYPES["application/vnd.dev.sigstore.bundle.v0.3+json"]; // "0.3"
 * ```
 */
export const BUNDLE_MEDIA_TYPES: Record<string, "0.1" | "0.2" | "0.3"> = {
  "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
  "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
  "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
  "application/vnd.dev.sigstore.bundle.v0.3+json": "0.3",
};

/** An RFC 6962 inclusion proof with its checkpoint. */
export interface InclusionProof {
  logIndex: bigint;
  rootHash: Uint8Array;
  treeSize: bigint;
  hashes: Uint8Array[];
  /** The signed note text. */
  checkpoint: string;
}

/** One transparency log entry of a bundle. */
export interface TlogEntry {
  logIndex: bigint;
  logId: Uint8Array;
  kind: string;
  version: string;
  /** Seconds since the epoch (Rekor v1); undefined or 0 when absent. */
  integratedTime?: bigint;
  /** The signed entry timestamp. */
  inclusionPromise?: Uint8Array;
  inclusionProof?: InclusionProof;
  canonicalizedBody: Uint8Array;
}

/** The signed content of a bundle. */
export type BundleContent =
  | {
    kind: "message";
    /** The bundle's claimed digest of the artifact (a hint, checked against the artifact). */
    messageDigest?: { algorithm: string; digest: Uint8Array };
    signature: Uint8Array;
  }
  | {
    kind: "dsse";
    payloadType: string;
    payload: Uint8Array;
    /** The single signature's bytes. */
    signature: Uint8Array;
    keyid: string;
  };

/** The verification material of a bundle. */
export type BundleKeyMaterial =
  | { kind: "certificate"; certificate: Certificate }
  | { kind: "publicKey"; hint: string };

/** A parsed bundle. */
export interface ParsedBundle {
  version: "0.1" | "0.2" | "0.3";
  mediaType: string;
  material: BundleKeyMaterial;
  tlogEntries: TlogEntry[];
  /** DER RFC 3161 timestamp tokens (or responses). */
  rfc3161Timestamps: Uint8Array[];
  content: BundleContent;
}

type Json = Record<string, unknown>;

/** Protobuf JSON reads `null` as "field absent". */
function dropNull(_key: string, v: unknown): unknown {
  return v === null ? undefined : v;
}

function bad(message: string, cause?: unknown): never {
  throw verifyError("CanonicalFormViolation", `bundle: ${message}`, cause);
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

function str(v: unknown, where: string): string {
  if (typeof v !== "string") bad(`${where} must be a string`);
  return v;
}

function b64(v: unknown, where: string, allowEmpty = false): Uint8Array {
  // Line breaks are tolerated (as protobuf JSON decoders do); any other stray character is not.
  const s = str(v, where).replace(/\r?\n/g, "");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) bad(`${where} is not valid base64`);
  let out: Uint8Array;
  try {
    out = fromBase64(s);
  } catch (e) {
    bad(`${where} is not valid base64`, e);
  }
  if (!allowEmpty && out.length === 0) bad(`${where} is empty`);
  return out;
}

function uint(v: unknown, where: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^(0|[1-9]\d*)$/.test(v)) return BigInt(v);
  bad(`${where} must be a non-negative integer`);
}

function cert(v: unknown, where: string): Certificate {
  const der = b64(obj(v, where).rawBytes, `${where}.rawBytes`);
  try {
    return parseCertificate(der);
  } catch (e) {
    bad(`${where} is not a valid X.509 certificate`, e);
  }
}

/**
 * Parses one transparency log entry in bundle-JSON form, with the rules of a bundle of
 * `version` (v0.1 needs an inclusion promise; later versions an inclusion proof with a
 * checkpoint). Throws reason `CanonicalFormViolation` naming `where`.
 *
 * @example
 * ```ts
 * import { parseTlogEntry } from "./bundle.ts";
 * // parseTlogEntry(bundleJson.verificationMaterial.tlogEntries[0], "tlogEntries[0]", "0.3").kind
 * ```
 */
export function parseTlogEntry(v: unknown, where: string, version: string): TlogEntry {
  const o = obj(v, where);
  const kv = obj(o.kindVersion, `${where}.kindVersion`);
  const entry: TlogEntry = {
    logIndex: uint(o.logIndex, `${where}.logIndex`),
    logId: b64(obj(o.logId, `${where}.logId`).keyId, `${where}.logId.keyId`),
    kind: str(kv.kind, `${where}.kindVersion.kind`),
    version: str(kv.version, `${where}.kindVersion.version`),
    integratedTime: o.integratedTime === undefined
      ? undefined
      : uint(o.integratedTime, `${where}.integratedTime`),
    canonicalizedBody: b64(o.canonicalizedBody, `${where}.canonicalizedBody`),
  };
  if (o.inclusionPromise !== undefined) {
    entry.inclusionPromise = b64(
      obj(o.inclusionPromise, `${where}.inclusionPromise`).signedEntryTimestamp,
      `${where}.inclusionPromise.signedEntryTimestamp`,
    );
  }
  if (o.inclusionProof !== undefined) {
    const p = obj(o.inclusionProof, `${where}.inclusionProof`);
    const cp = p.checkpoint === undefined
      ? undefined
      : obj(p.checkpoint, `${where}.inclusionProof.checkpoint`);
    if (version !== "0.1" && !cp) bad(`${where}.inclusionProof.checkpoint is missing`);
    entry.inclusionProof = {
      logIndex: uint(p.logIndex, `${where}.inclusionProof.logIndex`),
      rootHash: b64(p.rootHash, `${where}.inclusionProof.rootHash`),
      treeSize: uint(p.treeSize, `${where}.inclusionProof.treeSize`),
      hashes: arr(p.hashes, `${where}.inclusionProof.hashes`).map((h, i) =>
        b64(h, `${where}.inclusionProof.hashes[${i}]`)
      ),
      checkpoint: cp ? str(cp.envelope, `${where}.inclusionProof.checkpoint.envelope`) : "",
    };
  }
  if (version === "0.1" && !entry.inclusionPromise) {
    bad(`${where}: a v0.1 bundle's tlog entry must have an inclusionPromise`);
  }
  if (version !== "0.1" && !entry.inclusionProof) {
    bad(`${where}: a v${version} bundle's tlog entry must have an inclusionProof`);
  }
  return entry;
}

/**
 * Parses a bundle from its JSON value (or JSON text/bytes).
 *
 * @example
 * ```ts
 * import { parseBundle } from "./bundle.ts";
 * // const b = parseBundle(JSON.parse(await Deno.readTextFile("artifact.sigstore.json")));
 * // b.version === "0.3"
 * ```
 */
export function parseBundle(input: unknown): ParsedBundle {
  let json = input;
  try {
    if (json instanceof Uint8Array) json = fromUtf8(json);
    json = typeof json === "string"
      ? JSON.parse(json, dropNull)
      : JSON.parse(JSON.stringify(json), dropNull);
  } catch (e) {
    bad("not valid JSON", e);
  }
  const o = obj(json, "document");
  const mediaType = str(o.mediaType, "mediaType");
  const version = BUNDLE_MEDIA_TYPES[mediaType];
  if (!version) bad(`unsupported mediaType ${JSON.stringify(mediaType)}`);
  const vm = obj(o.verificationMaterial, "verificationMaterial");

  const present = ["x509CertificateChain", "certificate", "publicKey"].filter((k) =>
    vm[k] !== undefined
  );
  if (present.length !== 1) {
    bad(
      "verificationMaterial must have exactly one of x509CertificateChain, certificate, publicKey",
    );
  }
  let material: BundleKeyMaterial;
  if (vm.x509CertificateChain !== undefined) {
    if (version === "0.3") bad("a v0.3 bundle must use certificate, not x509CertificateChain");
    const certs = arr(
      obj(vm.x509CertificateChain, "x509CertificateChain").certificates,
      "x509CertificateChain.certificates",
    );
    if (certs.length === 0) bad("x509CertificateChain.certificates is empty");
    material = {
      kind: "certificate",
      certificate: cert(certs[0], "x509CertificateChain.certificates[0]"),
    };
    certs.slice(1).forEach((c, i) => cert(c, `x509CertificateChain.certificates[${i + 1}]`));
  } else if (vm.certificate !== undefined) {
    material = { kind: "certificate", certificate: cert(vm.certificate, "certificate") };
  } else {
    const pk = obj(vm.publicKey, "publicKey");
    material = {
      kind: "publicKey",
      hint: pk.hint === undefined ? "" : str(pk.hint, "publicKey.hint"),
    };
  }

  const tlogEntries = arr(vm.tlogEntries, "verificationMaterial.tlogEntries").map((e, i) =>
    parseTlogEntry(e, `tlogEntries[${i}]`, version)
  );
  const tvd = vm.timestampVerificationData === undefined
    ? {}
    : obj(vm.timestampVerificationData, "timestampVerificationData");
  const rfc3161Timestamps = arr(tvd.rfc3161Timestamps, "rfc3161Timestamps").map((t, i) =>
    b64(
      obj(t, `rfc3161Timestamps[${i}]`).signedTimestamp,
      `rfc3161Timestamps[${i}].signedTimestamp`,
    )
  );

  const hasMsg = o.messageSignature !== undefined;
  const hasDsse = o.dsseEnvelope !== undefined;
  if (hasMsg === hasDsse) bad("must have exactly one of messageSignature, dsseEnvelope");
  let content: BundleContent;
  if (hasMsg) {
    const ms = obj(o.messageSignature, "messageSignature");
    let messageDigest: { algorithm: string; digest: Uint8Array } | undefined;
    if (ms.messageDigest !== undefined) {
      const md = obj(ms.messageDigest, "messageSignature.messageDigest");
      messageDigest = {
        algorithm: str(md.algorithm, "messageSignature.messageDigest.algorithm"),
        digest: b64(md.digest, "messageSignature.messageDigest.digest"),
      };
    }
    content = {
      kind: "message",
      messageDigest,
      signature: b64(ms.signature, "messageSignature.signature"),
    };
  } else {
    const env = obj(o.dsseEnvelope, "dsseEnvelope");
    const sigs = arr(env.signatures, "dsseEnvelope.signatures");
    if (sigs.length !== 1) bad("dsseEnvelope must have exactly one signature");
    const s = obj(sigs[0], "dsseEnvelope.signatures[0]");
    content = {
      kind: "dsse",
      payloadType: str(env.payloadType, "dsseEnvelope.payloadType"),
      payload: b64(env.payload, "dsseEnvelope.payload", true),
      signature: b64(s.sig, "dsseEnvelope.signatures[0].sig"),
      keyid: s.keyid === undefined ? "" : str(s.keyid, "dsseEnvelope.signatures[0].keyid"),
    };
  }
  return { version, mediaType, material, tlogEntries, rfc3161Timestamps, content };
}
