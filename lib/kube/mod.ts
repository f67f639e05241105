/**
 * The Kubernetes side, read-only unless asked: {@link loadKubeConfig} (kubeconfig files,
 * in-cluster service accounts, exec credential plugins), a {@link KubeClient} with bounded
 * reads, the KarsSandbox operations ({@link findSandbox}, {@link getSandbox},
 * {@link patchSandbox}), {@link connectCluster} which bundles them for one cluster, and
 * {@link validateKarsResource}, the kars CRDs' OpenAPI and CEL validation run offline.
 *
 * @example
 * ```ts
 * import { formatFieldErrors, validateKarsResource } from "jsr:@kars/egress/kube";
 *
 * const result = validateKarsResource({
 *   apiVersion: "kars.azure.com/v1alpha1",
 *   kind: "KarsSandbox",
 *   metadata: { name: "my-agent" },
 *   spec: {},
 * });
 * console.log(result.ok ? "valid" : formatFieldErrors(result.errors));
 * ```
 *
 * @module
 */

export { connectCluster } from "./live_cluster.ts";
export type { LiveCluster } from "./live_cluster.ts";
export { loadKubeConfig } from "./kubeconfig.ts";
export type {
  KubeAuth,
  KubeAuthProvider,
  KubeConfig,
  LoadKubeConfigOptions,
} from "./kubeconfig.ts";
export { KubeClient } from "./client.ts";
export type { KubeClientOptions, RequestTarget } from "./client.ts";
export { findSandbox, getSandbox, patchSandbox } from "./sandbox.ts";
export type { FindSandboxOptions, PatchSandboxOptions, SandboxPatch } from "./sandbox.ts";
export { formatFieldErrors, validateKarsResource } from "./schema/mod.ts";
export type { FieldError, ValidateOptions, ValidationResult } from "./schema/mod.ts";

// Types the signatures above use.
export type {
  AllowlistRefInput as LiveAllowlistRef,
  EndpointEntry,
  KarsSandbox,
  LiveSandbox,
  SandboxMetadata,
} from "../model/sandbox.ts";
