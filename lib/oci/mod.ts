/**
 * OCI storage for the allowlist artifact, in oras-go's shape: one {@link Target}
 * interface with three stores ({@link RegistryTarget} for a remote registry,
 * {@link LayoutTarget} for an OCI image layout on disk, {@link MemoryTarget} for tests),
 * {@link openTarget} to pick one from a registry `host[:port]`, `oci:<dir>` or a `TargetSpec`
 * and a repository, {@link pushArtifact} and {@link copy}
 * to move content, and the credential chain ({@link defaultCredentials}: environment,
 * Docker config and credential helpers, Azure Container Registry).
 *
 * @example
 * ```ts
 * import { buildAllowlistArtifact, MemoryTarget, pushArtifact } from "jsr:@kars/egress/oci";
 *
 * const bytes = new TextEncoder().encode('{"generation":1,"endpoints":[]}\n');
 * const artifact = buildAllowlistArtifact(bytes);
 * const target = new MemoryTarget();
 * await pushArtifact(target, {
 *   manifestBytes: artifact.manifestBytes,
 *   blobs: [
 *     { desc: artifact.config, data: new TextEncoder().encode("{}") },
 *     { desc: artifact.layer, data: bytes },
 *   ],
 * }, { tags: ["latest"] });
 * ```
 *
 * @module
 */

// The artifact.
export {
  ALLOWLIST_MEDIA_TYPE,
  buildAllowlistArtifact,
  parseAllowlistManifest,
} from "./artifact.ts";
export type { AllowlistArtifact, ParsedAllowlistManifest } from "./artifact.ts";

// The Target interface and its stores.
export type {
  Descriptor,
  FetchedManifest,
  ImageIndex,
  ImageManifest,
  RequestOptions,
  Target,
} from "./types.ts";
export { MemoryTarget } from "./memory.ts";
export { LayoutTarget } from "./layout.ts";
export { RegistryTarget } from "./registry.ts";
export type { RegistryTargetOptions } from "./registry.ts";
export type { BlobUploadOptions, UploadOptions } from "./blob_upload.ts";
export { openTarget, parseTargetSpec, targetHost } from "./open.ts";
export type { OpenTargetOptions, TargetSpec } from "./open.ts";
export { copy, pushArtifact } from "./copy.ts";
export type { ArtifactToPush, CopyOptions, PushArtifactOptions } from "./copy.ts";
export { formatReference, parseReference } from "./reference.ts";
export type { Reference } from "./reference.ts";

// The registry client and credentials.
export { RegistryClient } from "./client.ts";
export type { OpContext, RegistryClientOptions, RegistryRequest } from "./client.ts";
export type { RequestLogEntry } from "./request_log.ts";
export type { RetryOptions } from "./retry.ts";
export type { Credential, CredentialContext, CredentialSource } from "./auth.ts";
export { defaultCredentials } from "./credentials.ts";
export type { DefaultCredentialsOptions } from "./credentials.ts";
export type { Env } from "./docker_config.ts";
export type { HelperRunner } from "./credential_helper.ts";
export { checkRegistryAllowed, parseRegistryHost } from "./registry_host.ts";
export type { RegistryAllowed } from "./registry_host.ts";

// Types the signatures above use.
export type { Digest } from "../encoding/digest.ts";
export type { RequestDeadlines } from "../io/deadline.ts";
