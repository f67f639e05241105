/**
 * cosign's vocabulary in one place, both directions: the simple-signing payload and the
 * in-toto statement (written when signing, checked when verifying), the legacy layer's
 * annotations, the `.sig` tag, and the key id signer and verifier agree on.
 *
 * @example
 * ```ts
 * import { keyIdentity, signatureTag } from "jsr:@kars/egress/cosign";
 * signatureTag(`sha256:${"ab".repeat(32)}` as const); // "sha256-abab….sig"
 * keyIdentity(new Uint8Array([1])); // "key:4bf5122f344554c5"
 * ```
 *
 * @module
 */
export * from "./vocabulary.ts";
export * from "./key_id.ts";
export * from "./simple_signing.ts";
export * from "./in_toto.ts";
export * from "./annotations.ts";
export type { Digest } from "../encoding/digest.ts";
export type { Descriptor } from "../oci/types.ts";
export type { Signature, SignatureKey } from "../sign/signer.ts";
export type { TlogEntry as RekorEntry } from "../sign/rekor.ts";
