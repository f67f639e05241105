/**
 * The legacy cosign signature layout (what the kars controller and cosign v2 read): the
 * simple-signing payload and the signature layer's annotations. Their one definition is in
 * `lib/cosign/`; this module re-exports the signing side.
 *
 * @module
 */
export { simpleSigningPayload } from "../cosign/simple_signing.ts";
export { legacyAnnotations, legacyLayer, rekorBundleAnnotation } from "../cosign/annotations.ts";
