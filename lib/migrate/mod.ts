/**
 * Migrating kagent agents to kars: {@link migrateFromKagent} reads kagent YAML (Agent,
 * ModelConfig, MCP servers) and returns the KarsSandbox and companion resources, with
 * {@link Finding}s for everything that could not be carried over exactly (a lossy migration
 * is reported, never silent).
 *
 * @example
 * ```ts
 * import { translateKagent } from "jsr:@kars/egress/migrate";
 *
 * const result = translateKagent([{
 *   apiVersion: "kagent.dev/v1alpha2",
 *   kind: "Agent",
 *   metadata: { name: "a" },
 *   spec: {
 *     type: "BYO",
 *     byo: { deployment: { image: "ghcr.io/x/a:1" } },
 *     sandbox: { network: { allowedDomains: ["api.github.com"] } },
 *   },
 * }]);
 * console.log(result.sandboxes[0].allowlist); // [{ host: "api.github.com", port: 443 }]
 * ```
 *
 * @module
 */

export { ISOLATION_LEVELS, migrateFromKagent, translateKagent } from "./from_kagent.ts";
export type {
  Finding,
  Isolation,
  KarsKind,
  KarsResource,
  MigrateOptions,
  MigrationResult,
  TranslatedSandbox,
} from "./from_kagent.ts";
export type { Json } from "./emit.ts";
export type { Endpoint } from "../model/sandbox.ts";
