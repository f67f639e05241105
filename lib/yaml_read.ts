/**
 * Moved to `lib/encoding/yaml_read.ts` (the bounded YAML reader); re-exported here so existing
 * imports keep working.
 *
 * @module
 */
export * from "./encoding/yaml_read.ts";
