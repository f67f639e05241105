/**
 * The allowlist bytes as the kars controller checks them (formats.md §8): the structure, but
 * not the indentation; `endpoints: []` is a deny-all allowlist.
 *
 * @module
 */
import { fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import type { Endpoint } from "../allowlist/canonical.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";

/**
 * Checks allowlist bytes the way the controller does (formats.md §8): no `\r`, final `\n`,
 * no comment lines, keys apiVersion/kind/metadata/spec in order, `metadata.generation` an
 * integer > 0 (`metadata.name` ignored), endpoints `{host, port}` exactly, host
 * `[a-z0-9.-]` without a trailing dot, port 1–65535, strictly sorted, `[]` accepted;
 * indentation is not checked. Throws `KarsError("VERIFY")` with `details.reason`
 * `CanonicalFormViolation`.
 *
 * @example
 * ```ts
 * import { controllerCanonicalAllowlist } from "./controller_canonical.ts";
 * const text = "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: 1\nspec:\n  endpoints: []\n";
 * controllerCanonicalAllowlist(new TextEncoder().encode(text)).endpoints.length; // 0
 * ```
 */
export function controllerCanonicalAllowlist(
  bytes: Uint8Array,
): { generation: number; endpoints: Endpoint[] } {
  const fail = (why: string): never => {
    throw new KarsError(
      "VERIFY",
      `allowlist is not in the form the kars controller accepts: ${why}`,
      {
        details: { reason: "CanonicalFormViolation", problem: why },
      },
    );
  };
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    return fail("not valid UTF-8");
  }
  if (text.includes("\r")) fail("contains a carriage return");
  if (!text.endsWith("\n")) fail("does not end with a newline");
  if (text.split("\n").some((l) => l.trimStart().startsWith("#"))) fail("has a comment line");
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(text, "allowlist");
  } catch (e) {
    return fail(`not YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (docs.length !== 1) fail(`expected one YAML document, found ${docs.length}`);
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const doc = docs[0];
  if (!isObj(doc)) return fail("not a mapping");
  const keys = Object.keys(doc).join(",");
  if (keys !== "apiVersion,kind,metadata,spec") {
    fail(`top-level keys are ${keys}, expected apiVersion,kind,metadata,spec in this order`);
  }
  if (doc.apiVersion !== "kars.dev/v1alpha1") fail("apiVersion is not kars.dev/v1alpha1");
  if (doc.kind !== "EgressAllowlist") fail("kind is not EgressAllowlist");
  const meta = doc.metadata;
  if (!isObj(meta)) return fail("metadata is not a mapping");
  const generation = meta.generation;
  if (typeof generation !== "number" || !Number.isSafeInteger(generation) || generation < 1) {
    fail("metadata.generation is not an integer > 0");
  }
  const spec = doc.spec;
  if (!isObj(spec) || !Array.isArray(spec.endpoints)) return fail("spec.endpoints is not a list");
  const endpoints: Endpoint[] = [];
  (spec.endpoints as unknown[]).forEach((e, i) => {
    const where = `spec.endpoints[${i}]`;
    if (!isObj(e) || Object.keys(e).join(",") !== "host,port") {
      fail(`${where} must have exactly host then port`);
    }
    const { host, port } = e as { host: unknown; port: unknown };
    if (
      typeof host !== "string" || host === "" || !/^[a-z0-9.-]+$/.test(host) || host.endsWith(".")
    ) {
      fail(`${where}.host ${JSON.stringify(host)} is not [a-z0-9.-] without a trailing dot`);
    }
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      fail(`${where}.port is not an integer 1-65535`);
    }
    const ep = { host: host as string, port: port as number };
    const prev = endpoints[endpoints.length - 1];
    if (prev && (prev.host > ep.host || (prev.host === ep.host && prev.port >= ep.port))) {
      fail(`${where} is not strictly after the previous entry (sorted by host, port)`);
    }
    endpoints.push(ep);
  });
  return { generation: generation as number, endpoints };
}
