/**
 * The kars API: group, version, kinds and resource names (formats.md §1).
 *
 * @module
 */

/** API group of the kars CRDs. */
export const KARS_GROUP = "kars.azure.com";
/** API version served by the kars CRDs this tool writes and reads. */
export const KARS_VERSION = "v1alpha1";
/**
 * The only apiVersion accepted for kars objects.
 *
 * @example
 * ```ts
 * import { KARS_API_VERSION } from "./api.ts";
 * KARS_API_VERSION; // "kars.azure.com/v1alpha1"
 * ```
 */
export const KARS_API_VERSION = "kars.azure.com/v1alpha1";
/** Resource plural of KarsSandbox. */
export const KARSSANDBOXES = "karssandboxes";
