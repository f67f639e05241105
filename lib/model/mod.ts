/**
 * The one model: the KarsSandbox (from files and from the cluster), its endpoints and
 * `allowlistRef`, the kars API constants, and the Kubernetes-name and repository-name
 * validators every part shares.
 *
 * @example
 * ```ts
 * import { isDnsSubdomain, KARS_API_VERSION } from "jsr:@kars/egress/model";
 * isDnsSubdomain("my-agent"); // true
 * KARS_API_VERSION; // "kars.azure.com/v1alpha1"
 * ```
 *
 * @module
 */
export * from "./api.ts";
export * from "./names.ts";
export * from "./sandbox.ts";
export { readNetworkPolicy, selectSandbox } from "./sandbox_read.ts";
export type { NetworkPolicy, RawEndpoint } from "./sandbox_read.ts";
export { parseYamlDocuments } from "../encoding/yaml_read.ts";
export type { YamlLimits } from "../encoding/yaml_read.ts";
export type { Digest } from "../encoding/digest.ts";
