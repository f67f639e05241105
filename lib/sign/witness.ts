/**
 * Witnesses and the builder that composes them with a {@link Signer}, in the shape of
 * sigstore-js's bundle builder: the builder signs one content (a simple-signing payload for
 * the legacy layout, an in-toto statement in a DSSE envelope for the bundle), then asks each
 * witness in turn to vouch for the signature — a transparency log (Rekor v1 or v2) answers
 * with an entry, a timestamp authority with an RFC 3161 timestamp — and returns the evidence
 * in witness order. Nothing is stored here.
 *
 * @module
 */
import type { SerializedEnvelope } from "@sigstore/bundle";
import { INTOTO_PAYLOAD_TYPE } from "../cosign/vocabulary.ts";
import { cosignStatement } from "../cosign/in_toto.ts";
import { simpleSigningPayload } from "../cosign/simple_signing.ts";
import type { Digest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import type { TrustedRoot } from "../verify/sigstore/trust_root.ts";
import { dsseEnvelope, pae } from "./bundle.ts";
import type { FetchFn } from "./http.ts";
import { type TlogEntry, uploadDsse, uploadHashedRekord } from "./rekor.ts";
import { type TransparencyLogEntryJson, uploadDsseV2 } from "./rekor_v2.ts";
import { type Signature, type Signer, verifierPem } from "./signer.ts";
import { requestTimestamp } from "./tsa.ts";

/** What was signed, and the signature: the input of every witness. */
export type SignedContent =
  | {
    /** A message signature over a simple-signing payload (legacy layout). */
    kind: "message";
    /** The payload signed. */
    payload: Uint8Array;
    /** The signature and its key. */
    signature: Signature;
  }
  | {
    /** A DSSE signature over an in-toto statement (bundle layout). */
    kind: "dsse";
    /** The statement. */
    payload: Uint8Array;
    /** Its pre-authentication encoding (what was signed). */
    pae: Uint8Array;
    /** The DSSE envelope holding the statement and the signature. */
    envelope: SerializedEnvelope;
    /** The signature and its key. */
    signature: Signature;
  };

/** What a witness returns. */
export type Evidence =
  | { kind: "tlog-v1"; entry: TlogEntry }
  | { kind: "tlog-v2"; entry: TransparencyLogEntryJson }
  | { kind: "timestamp"; rfc3161: Uint8Array };

/** Vouches for a signature: a transparency log or a timestamp authority. */
export interface Witness {
  /** What it is, for messages (`rekor v1 https://…`). */
  readonly name: string;
  /** Whether it records the signature in a transparency log. */
  readonly tlog: boolean;
  /** Obtains the evidence (throws `KarsError("SIGN")` naming the service on failure). */
  testify(content: SignedContent): Promise<Evidence>;
}

/**
 * A Rekor v1 log: `hashedrekord` for a message signature, `dsse` for an envelope.
 *
 * @example
 * ```ts
 * import { rekorV1Witness } from "./witness.ts";
 * rekorV1Witness("https://rekor.sigstore.dev").tlog; // true
 * ```
 */
export function rekorV1Witness(rekorUrl: string, fetch?: FetchFn): Witness {
  return {
    name: `rekor v1 ${rekorUrl}`,
    tlog: true,
    async testify(c) {
      const pem = verifierPem(c.signature.key);
      const entry = c.kind === "message"
        ? await uploadHashedRekord({ rekorUrl, fetch }, c.payload, c.signature.signature, pem)
        : await uploadDsse({ rekorUrl, fetch }, JSON.stringify(c.envelope), pem);
      return { kind: "tlog-v1", entry };
    },
  };
}

/**
 * A Rekor v2 log (DSSE entries only; each entry is checked against `trustedRoot`).
 *
 * @example
 * ```ts
 * import { rekorV2Witness } from "./witness.ts";
 * declare const root: import("../verify/sigstore/trust_root.ts").TrustedRoot;
 * rekorV2Witness("https://log2025-1.rekor.sigstore.dev", root).name; // "rekor v2 https://…"
 * ```
 */
export function rekorV2Witness(
  rekorUrl: string,
  trustedRoot: TrustedRoot,
  fetch?: FetchFn,
): Witness {
  return {
    name: `rekor v2 ${rekorUrl}`,
    tlog: true,
    async testify(c) {
      if (c.kind !== "dsse") {
        throw new KarsError(
          "INPUT",
          `${rekorUrl}: Rekor v2 entries carry no signed entry timestamp, which the legacy layout needs`,
        );
      }
      const entry = await uploadDsseV2(
        { rekorUrl, trustedRoot, fetch },
        c.envelope,
        c.signature.key,
        { payload: c.payload, pae: c.pae, signature: c.signature.signature },
      );
      return { kind: "tlog-v2", entry };
    },
  };
}

/**
 * An RFC 3161 timestamp authority: timestamps the signature bytes.
 *
 * @example
 * ```ts
 * import { tsaWitness } from "./witness.ts";
 * tsaWitness("https://timestamp.sigstore.dev/api/v1/timestamp").tlog; // false
 * ```
 */
export function tsaWitness(tsaUrl: string, fetch?: FetchFn): Witness {
  return {
    name: `tsa ${tsaUrl}`,
    tlog: false,
    async testify(c) {
      return {
        kind: "timestamp",
        rfc3161: await requestTimestamp({ tsaUrl, fetch }, c.signature.signature),
      };
    },
  };
}

/** The evidence of one signature, by kind, in witness order. */
export interface Witnessed {
  /** The content signed and its signature. */
  content: SignedContent;
  /** Rekor v1 and v2 entries, in witness order. */
  tlogEntries: Array<TlogEntry | TransparencyLogEntryJson>;
  /** Rekor v1 entries only. */
  tlogEntriesV1: TlogEntry[];
  /** Rekor v2 entries only. */
  tlogEntriesV2: TransparencyLogEntryJson[];
  /** RFC 3161 timestamps, in witness order. */
  timestamps: Uint8Array[];
}

/** Options of {@link SignatureBuilder}. */
export interface SignatureBuilderOptions {
  /**
   * Called with the signature before any witness is asked (e.g. to refuse a certificate-bound
   * signature that no transparency log will record).
   */
  checkSignature?: (sig: Signature, witnesses: readonly Witness[]) => void;
}

/**
 * A {@link Signer} composed with witnesses: {@link SignatureBuilder.legacy} and
 * {@link SignatureBuilder.dsse} sign one content and collect the witnesses' evidence in order.
 *
 * @example
 * ```ts
 * import { SignatureBuilder, tsaWitness } from "./witness.ts";
 * declare const signer: import("./signer.ts").Signer;
 * const builder = new SignatureBuilder(signer, [tsaWitness("https://tsa.example/api/v1/timestamp")]);
 * // const w = await builder.dsse("r.io/a", "sha256:…"); w.timestamps.length === 1
 * ```
 */
export class SignatureBuilder {
  /** The signer. */
  readonly signer: Signer;
  /** The witnesses, asked in this order. */
  readonly witnesses: readonly Witness[];
  #options: SignatureBuilderOptions;

  /** Composes `signer` with `witnesses`. */
  constructor(
    signer: Signer,
    witnesses: readonly Witness[],
    options: SignatureBuilderOptions = {},
  ) {
    this.signer = signer;
    this.witnesses = witnesses;
    this.#options = options;
  }

  /** Signs cosign's simple-signing payload for `<dockerReference>@<digest>` and witnesses it. */
  async legacy(dockerReference: string, digest: Digest): Promise<Witnessed> {
    const payload = simpleSigningPayload(dockerReference, digest);
    const signature = await this.signer.sign(payload);
    return await this.#witness({ kind: "message", payload, signature });
  }

  /** Signs cosign's in-toto statement in a DSSE envelope and witnesses it. */
  async dsse(name: string, digest: Digest): Promise<Witnessed> {
    const payload = cosignStatement(name, digest);
    const paeBytes = pae(INTOTO_PAYLOAD_TYPE, payload);
    const signature = await this.signer.sign(paeBytes);
    const envelope = dsseEnvelope(payload, signature.signature);
    return await this.#witness({ kind: "dsse", payload, pae: paeBytes, envelope, signature });
  }

  async #witness(content: SignedContent): Promise<Witnessed> {
    this.#options.checkSignature?.(content.signature, this.witnesses);
    const out: Witnessed = {
      content,
      tlogEntries: [],
      tlogEntriesV1: [],
      tlogEntriesV2: [],
      timestamps: [],
    };
    for (const w of this.witnesses) {
      const e = await w.testify(content);
      if (e.kind === "timestamp") out.timestamps.push(e.rfc3161);
      else {
        out.tlogEntries.push(e.entry);
        if (e.kind === "tlog-v1") out.tlogEntriesV1.push(e.entry);
        else out.tlogEntriesV2.push(e.entry);
      }
    }
    return out;
  }
}
