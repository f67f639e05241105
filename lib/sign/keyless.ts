/**
 * Keyless signing through Fulcio: an ephemeral ECDSA P-256 key, a short-lived certificate
 * for the OIDC identity (`POST /api/v2/signingCert`), SCT kept.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { bytesEqual, toBase64, utf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { pemDecode, pemEncode } from "../encoding/pem.ts";
import { callService, type FetchFn, parseServiceJson } from "./http.ts";
import { decodeJwtClaims, tokenSubject } from "./oidc.ts";
import { signDer, spkiFromPoint } from "./p256.ts";
import { type ExpectedSigner, normalizeIdentity, type Signature, type Signer } from "./signer.ts";
import { parseCertificate } from "./x509.ts";

const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";

/** Options of {@link KeylessSigner}. */
export interface KeylessOptions {
  /** Fulcio base URL, e.g. `https://fulcio.sigstore.dev`. */
  fulcioUrl: string;
  /** Supplies the OIDC identity token (called once, on the first sign). */
  token: () => Promise<string>;
  /** Transport. */
  fetch?: FetchFn;
}

/**
 * A {@link Signer} holding an ephemeral key certified by Fulcio. The certificate is
 * requested on the first {@link KeylessSigner.sign}; later calls reuse it.
 *
 * @example
 * ```ts
 * import { KeylessSigner } from "./keyless.ts";
 * const signer = new KeylessSigner({
 *   fulcioUrl: "https://fulcio.sigstore.dev",
 *   token: () => Promise.resolve(Deno.env.get("SIGSTORE_ID_TOKEN")!),
 * });
 * const sig = await signer.sign(new TextEncoder().encode("payload"));
 * signer.identity; // "keyless:https://github.com/acme/…"
 * ```
 */
export class KeylessSigner implements Signer {
  /** Keyless signatures carry a Fulcio certificate: they need a transparency-log entry. */
  readonly certificateBound = true;
  #opts: KeylessOptions;
  #secret = p256.utils.randomSecretKey();
  #cert?: Promise<{ chainPem: string[]; san: string; sct?: string }>;
  #identity?: string;
  /** Detached SCT from Fulcio (base64), when it returned one. */
  sct?: string;

  /**
   * Creates the signer (no network until the first sign).
   * @param opts Fulcio URL, token supplier, transport
   */
  constructor(opts: KeylessOptions) {
    this.#opts = opts;
  }

  /** See {@link Signer.identity}. */
  get identity(): string {
    if (this.#identity === undefined) {
      throw new KarsError("INTERNAL", "keyless signer identity is known only after signing");
    }
    return this.#identity;
  }

  /**
   * See {@link Signer.expectedSigner}: the SAN and issuer Fulcio will certify, from the
   * identity token's claims (no Fulcio call). Fulcio's rules: a GitHub Actions token yields
   * `https://github.com/<job_workflow_ref>`; a verified `email` claim yields the email; else
   * `sub`. A wrong prediction only means a new signature is made.
   */
  async expectedSigner(): Promise<ExpectedSigner | undefined> {
    let claims: Record<string, unknown>;
    try {
      claims = decodeJwtClaims(await this.#opts.token());
    } catch {
      return undefined;
    }
    const issuer = typeof claims.iss === "string" ? claims.iss : undefined;
    if (!issuer) return undefined;
    if (
      issuer === GITHUB_ACTIONS_ISSUER && typeof claims.job_workflow_ref === "string" &&
      claims.job_workflow_ref
    ) {
      return { kind: "keyless", san: `https://github.com/${claims.job_workflow_ref}`, issuer };
    }
    if (typeof claims.email === "string" && claims.email && claims.email_verified === true) {
      return { kind: "keyless", san: claims.email, issuer };
    }
    if (typeof claims.sub === "string" && claims.sub) {
      return { kind: "keyless", san: claims.sub, issuer };
    }
    return undefined;
  }

  /** See {@link Signer.prepare}: requests the certificate now. */
  prepare(): Promise<void> {
    this.#cert ??= this.#certify();
    return this.#cert.then(() => {}, () => {});
  }

  /** See {@link Signer.sign}. */
  async sign(data: Uint8Array): Promise<Signature> {
    this.#cert ??= this.#certify();
    let cert;
    try {
      cert = await this.#cert;
    } catch (e) {
      this.#cert = undefined;
      throw e;
    }
    this.#identity = normalizeIdentity(`keyless:${cert.san}`);
    this.sct = cert.sct;
    return {
      signature: signDer(this.#secret, data),
      key: { kind: "certificate", chainPem: cert.chainPem },
    };
  }

  async #certify(): Promise<{ chainPem: string[]; san: string; sct?: string }> {
    const token = await this.#opts.token();
    const subject = tokenSubject(token);
    const spki = spkiFromPoint(p256.getPublicKey(this.#secret, false));
    const base = this.#opts.fulcioUrl.replace(/\/+$/, "");
    const body = await callService(`${base}/api/v2/signingCert`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: {
          publicKey: { algorithm: "ECDSA", content: pemEncode("PUBLIC KEY", spki) },
          proofOfPossession: toBase64(signDer(this.#secret, utf8(subject))),
        },
      }),
    }, {
      service: "Fulcio",
      hint: "check the Fulcio URL and that the identity token is valid and unexpired, " +
        "or sign with a key",
      fixOptions: ["fulcioUrl", "key"],
      secrets: [token],
      fetch: this.#opts.fetch,
    });
    // deno-lint-ignore no-explicit-any
    const json = parseServiceJson(body, "Fulcio") as any;
    const embedded = json?.signedCertificateEmbeddedSct;
    const detached = json?.signedCertificateDetachedSct;
    const chain = (embedded ?? detached)?.chain?.certificates;
    if (!Array.isArray(chain) || chain.length === 0 || !chain.every((c) => typeof c === "string")) {
      throw new KarsError("SIGN", "Fulcio returned no certificate chain", {
        details: { service: "Fulcio" },
      });
    }
    const chainPem = chain.map((c: string) => (c.endsWith("\n") ? c : `${c}\n`));
    const leaf = pemDecode(chainPem[0]);
    if (!leaf || leaf.label !== "CERTIFICATE") {
      throw new KarsError("SIGN", "Fulcio returned a chain whose first entry is not a certificate");
    }
    let info;
    try {
      info = parseCertificate(leaf.der);
    } catch (e) {
      throw new KarsError("SIGN", "Fulcio returned a malformed certificate", { cause: e });
    }
    if (!bytesEqual(info.spkiDer, spki)) {
      throw new KarsError("SIGN", "Fulcio certified a different public key than the one sent");
    }
    const san = info.uris[0] ?? info.emails[0];
    if (!san) throw new KarsError("SIGN", "the Fulcio certificate has no URI or email SAN");
    const sct = typeof detached?.signedCertificateTimestamp === "string"
      ? detached.signedCertificateTimestamp
      : undefined;
    return { chainPem, san, sct };
  }
}
