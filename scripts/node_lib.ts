/**
 * The entry of the Node library bundle (`deno task build:lib`, `deno task check:node`): every
 * export path of the package except `./cli`, flattened into one module, so a Node project
 * gets the root names and the subpaths' names from one self-contained file.
 * tests/surface_test.ts checks this list against deno.json "exports".
 *
 * @module
 */
export * from "../mod.ts";
export * from "../lib/allowlist/mod.ts";
export * from "../lib/cluster/mod.ts";
export * from "../lib/cosign/mod.ts";
export * from "../lib/io/mod.ts";
export * from "../lib/kube/mod.ts";
export * from "../lib/migrate/mod.ts";
export * from "../lib/model/mod.ts";
export * from "../lib/oci/mod.ts";
export * from "../lib/sign/mod.ts";
export * from "../lib/verify/mod.ts";
