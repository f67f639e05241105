/**
 * The package version, kept equal to `deno.json`'s `version` (a test checks it).
 *
 * @module
 */

/**
 * Version of `@kars/egress`.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`kars ${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";
