/**
 * Test fixtures for the verification tests: push an allowlist artifact to a Target and sign
 * it the way the signing flow does (legacy `.sig` layers and v0.3 bundle referrers), with the
 * signing building blocks of `lib/sign` against the `@sigstore/mock` services. Options let a
 * test forge the payload (another digest, another repository) for tamper tests.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { fromUtf8, toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { type Digest, digestBytes } from "../../lib/encoding/digest.ts";
import { emitCanonicalAllowlist, type Endpoint } from "../../lib/allowlist/canonical.ts";
import {
  type AllowlistArtifact,
  buildAllowlistArtifact,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
} from "../../lib/oci/artifact.ts";
import {
  type Descriptor,
  type ImageManifest,
  OCI_MANIFEST,
  type Target,
} from "../../lib/oci/types.ts";
import { KeylessSigner } from "../../lib/sign/keyless.ts";
import { KeyFileSigner } from "../../lib/sign/keyfile.ts";
import { spkiFromPoint } from "../../lib/sign/p256.ts";
import { pemEncode } from "../../lib/encoding/pem.ts";
import { type Signer, verifierPem } from "../../lib/sign/signer.ts";
import { uploadDsse, uploadHashedRekord } from "../../lib/sign/rekor.ts";
import { legacyAnnotations, legacyLayer } from "../../lib/cosign/annotations.ts";
import { simpleSigningPayload } from "../../lib/cosign/simple_signing.ts";
import { buildDsseBundle, cosignStatement, dsseEnvelope, pae } from "../../lib/sign/bundle.ts";
import type { SigstoreMock } from "../support/sigstore_mock.ts";

/** The bundle artifact / layer media type. */
export const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

/** Default endpoints of the fixture allowlist. */
export const ENDPOINTS: Endpoint[] = [
  { host: "api.github.com", port: 443 },
  { host: "xn--bcher-kva.example", port: 8443 },
];

/** Pushes the canonical allowlist artifact (or given raw layer bytes) and returns it. */
export async function pushAllowlist(
  target: Target,
  opts: { endpoints?: Endpoint[]; generation?: number; layerBytes?: Uint8Array } = {},
): Promise<AllowlistArtifact> {
  const bytes = opts.layerBytes ??
    emitCanonicalAllowlist({
      generation: opts.generation ?? 3,
      endpoints: opts.endpoints ?? ENDPOINTS,
    });
  const a = buildAllowlistArtifact(bytes);
  await target.pushBlob(EMPTY_CONFIG, EMPTY_CONFIG_BYTES);
  await target.pushBlob(a.layer, bytes);
  await target.pushManifest(a.manifestBytes, OCI_MANIFEST, "latest");
  return a;
}

/** A key-file signer over a fresh P-256 key, and its public key PEM. */
export function keySigner(): { signer: KeyFileSigner; publicPem: string; spki: Uint8Array } {
  const secret = p256.utils.randomSecretKey();
  const spki = spkiFromPoint(p256.getPublicKey(secret, false));
  return {
    signer: new KeyFileSigner({ secret, spkiDer: spki }),
    publicPem: pemEncode("PUBLIC KEY", spki),
    spki,
  };
}

/** A keyless signer against the mock Fulcio, with a token for `claims`. */
export function keylessSigner(
  mock: SigstoreMock,
  claims?: Parameters<SigstoreMock["mintToken"]>[0],
): Signer {
  return new KeylessSigner({
    fulcioUrl: mock.fulcioUrl,
    token: () => Promise.resolve(mock.mintToken(claims)),
  });
}

/** Options of the signing fixtures. */
export interface SignOptions {
  /** Registry named in the payload (`docker-reference`). */
  registry: string;
  /** Repository named in the payload. */
  repository: string;
  /** The manifest digest signed (and whose `.sig` / referrers receive it). */
  digest: Digest;
  /** Signer. */
  signer: Signer;
  /** Rekor URL; absent → no tlog entry. */
  rekorUrl?: string;
  /** Forge: sign a payload naming this digest instead. */
  payloadDigest?: Digest;
  /** Forge: sign a payload naming this `docker-reference` instead. */
  payloadReference?: string;
  /** Forge: drop the Rekor bundle annotation after signing. */
  dropRekor?: boolean;
}

/** Appends a legacy signature layer to `sha256-<hex>.sig` (as cosign v2 and the signing flow do). */
export async function signLegacy(target: Target, o: SignOptions): Promise<Record<string, string>> {
  const payload = simpleSigningPayload(
    o.payloadReference ?? `${o.registry}/${o.repository}`,
    o.payloadDigest ?? o.digest,
  );
  const sig = await o.signer.sign(payload);
  const tlog = o.rekorUrl
    ? await uploadHashedRekord(
      { rekorUrl: o.rekorUrl },
      payload,
      sig.signature,
      verifierPem(sig.key),
    )
    : undefined;
  const annotations = legacyAnnotations(sig, tlog);
  if (o.dropRekor) delete annotations["dev.sigstore.cosign/bundle"];
  await appendLegacyLayer(target, o.digest, payload, annotations);
  return annotations;
}

/** Appends a raw legacy layer (payload + annotations) to the `.sig` manifest of `digest`. */
export async function appendLegacyLayer(
  target: Target,
  digest: Digest,
  payload: Uint8Array,
  annotations: Record<string, string>,
): Promise<void> {
  const tag = `${digest.replace(":", "-")}.sig`;
  const layer = legacyLayer(payload, annotations);
  await target.pushBlob(layer, payload);
  await target.pushBlob(EMPTY_CONFIG, EMPTY_CONFIG_BYTES);
  let layers: Descriptor[] = [];
  const existing = await target.resolve(tag);
  if (existing) {
    const m = JSON.parse(
      fromUtf8((await target.fetchManifest(existing.digest)).bytes),
    ) as ImageManifest;
    layers = m.layers;
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: EMPTY_CONFIG,
    layers: [...layers, layer],
  };
  await target.pushManifest(utf8(JSON.stringify(manifest)), OCI_MANIFEST, tag);
}

/** Attaches a v0.3 DSSE bundle as a referrer of `digest`; returns the bundle JSON. */
export async function signBundle(
  target: Target,
  o: SignOptions & { subjectSize: number },
): Promise<unknown> {
  const statement = cosignStatement(
    o.payloadReference ?? `${o.registry}/${o.repository}`,
    o.payloadDigest ?? o.digest,
  );
  const sig = await o.signer.sign(pae("application/vnd.in-toto+json", statement));
  const env = dsseEnvelope(statement, sig.signature);
  const tlog = o.rekorUrl
    ? await uploadDsse({ rekorUrl: o.rekorUrl }, JSON.stringify(env), verifierPem(sig.key))
    : undefined;
  const bundle = buildDsseBundle(env, sig, tlog);
  await attachBundle(target, o.digest, o.subjectSize, bundle);
  return bundle;
}

/** Pushes a bundle JSON as a referrer manifest of `digest`. */
export async function attachBundle(
  target: Target,
  digest: Digest,
  size: number,
  bundle: unknown,
): Promise<void> {
  const bytes = utf8(JSON.stringify(bundle));
  const layer: Descriptor = {
    mediaType: BUNDLE_TYPE,
    digest: digestBytes(bytes),
    size: bytes.length,
  };
  await target.pushBlob(layer, bytes);
  await target.pushBlob(EMPTY_CONFIG, EMPTY_CONFIG_BYTES);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_TYPE,
    config: EMPTY_CONFIG,
    layers: [layer],
    subject: { mediaType: OCI_MANIFEST, digest, size },
  };
  await target.pushManifest(utf8(JSON.stringify(manifest)), OCI_MANIFEST);
}

/** A SignerPolicy ConfigMap text. */
export function policyYaml(issuers: string[], patterns: string[], publicKeysPem = ""): string {
  const block = (lines: string[]) => lines.map((l) => `    ${l}`).join("\n");
  let s = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\ndata:\n";
  s += `  fulcioIssuers: |\n${block(issuers)}\n  sanPatterns: |\n${block(patterns)}\n`;
  if (publicKeysPem) s += `  publicKeys: |\n${block(publicKeysPem.trim().split("\n"))}\n`;
  return s;
}

/** Base64 helper re-exported for tests. */
export { toBase64 };
