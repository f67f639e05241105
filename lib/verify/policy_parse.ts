/**
 * Reading the SignerPolicy (formats.md §5): the `kars-signer-policy` ConfigMap (YAML or JSON)
 * or, when there is none, the environment (`KARS_SIGNER_FULCIO_ISSUERS` /
 * `KARS_SIGNER_SAN_PATTERNS`, comma-separated). Malformed data is refused with
 * `details.reason === "SignerPolicyMalformed"`, a missing policy with `"SignerPolicyMissing"`;
 * nothing is ever guessed (security decisions fail closed).
 *
 * @module
 */
import { toHex, utf8 } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import { parseRegistryHost } from "../oci/registry_host.ts";
import { describeInput, quoteForMessage } from "../encoding/quote.ts";
import {
  compilePolicyPatterns,
  type PolicyError,
  type PolicyKey,
  policyMalformed as malformed,
  type SanPattern,
  type SignerPolicy,
} from "./policy.ts";
import { parsePublicKeys } from "./policy_keys.ts";
import { withSanRegexEngine } from "./san_match.ts";

/**
 * Name of the ConfigMap holding the policy.
 *
 * @example
 * ```ts
 * import { SIGNER_POLICY_CONFIGMAP } from "./policy_parse.ts";
 * SIGNER_POLICY_CONFIGMAP; // "kars-signer-policy"
 * ```
 */
export const SIGNER_POLICY_CONFIGMAP = "kars-signer-policy";
/**
 * Env variable holding comma-separated Fulcio issuer URLs (fallback when there is no ConfigMap).
 *
 * @example
 * ```ts
 * import { ENV_FULCIO_ISSUERS } from "./policy_parse.ts";
 * ENV_FULCIO_ISSUERS; // "KARS_SIGNER_FULCIO_ISSUERS"
 * ```
 */
export const ENV_FULCIO_ISSUERS = "KARS_SIGNER_FULCIO_ISSUERS";
/**
 * Env variable holding comma-separated SAN patterns (fallback when there is no ConfigMap).
 *
 * @example
 * ```ts
 * import { ENV_SAN_PATTERNS } from "./policy_parse.ts";
 * ENV_SAN_PATTERNS; // "KARS_SIGNER_SAN_PATTERNS"
 * ```
 */
export const ENV_SAN_PATTERNS = "KARS_SIGNER_SAN_PATTERNS";

/** Largest policy document accepted (bytes). */
const MAX_POLICY_BYTES = 1 << 20;

/**
 * Parses the `kars-signer-policy` ConfigMap (YAML or JSON; in a multi-document file the
 * ConfigMap of that name is selected). Throws `KarsError("INPUT")` with
 * `details.reason === "SignerPolicyMalformed"` and a message naming the key and line at fault.
 *
 * @example
 * ```ts
 * import { parseSignerPolicy } from "./policy_parse.ts";
 * const policy = parseSignerPolicy(`apiVersion: v1
 * kind: ConfigMap
 * metadata:
 *   name: kars-signer-policy
 * data:
 *   fulcioIssuers: |
 *     https://token.actions.githubusercontent.com
 *   sanPatterns: |
 *     https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main
 * `);
 * policy.fulcioIssuers; // ["https://token.actions.githubusercontent.com"]
 * ```
 */
export function parseSignerPolicy(input: string | Uint8Array, source = "ConfigMap"): SignerPolicy {
  const size = typeof input === "string" ? utf8(input).length : input.length;
  if (size > MAX_POLICY_BYTES) {
    throw malformed(
      source,
      `document is ${size} bytes, larger than the ${MAX_POLICY_BYTES} allowed`,
    );
  }
  let text: string;
  try {
    text = typeof input === "string"
      ? input
      : new TextDecoder("utf-8", { fatal: true }).decode(input);
  } catch {
    throw malformed(source, "not valid UTF-8");
  }
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(text, source, { maxBytes: MAX_POLICY_BYTES });
  } catch (e) {
    throw malformed(source, `not valid YAML/JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  docs = docs.filter((d) => d !== null && d !== undefined);
  if (docs.length === 0) {
    throw malformed(source, "empty document; expected ConfigMap kars-signer-policy");
  }
  const isObj = (d: unknown): d is Record<string, unknown> =>
    typeof d === "object" && d !== null && !Array.isArray(d);
  let doc: Record<string, unknown> | undefined;
  if (docs.length === 1) {
    if (!isObj(docs[0])) throw malformed(source, "expected a ConfigMap object");
    doc = docs[0];
  } else {
    doc = docs.filter(isObj).find((d) =>
      d.kind === "ConfigMap" && isObj(d.metadata) && d.metadata.name === SIGNER_POLICY_CONFIGMAP
    );
    if (!doc) {
      throw malformed(
        source,
        `no ConfigMap named ${SIGNER_POLICY_CONFIGMAP} among ${docs.length} documents`,
      );
    }
  }
  if (doc.apiVersion !== "v1") {
    throw malformed(source, `apiVersion is ${describeInput(doc.apiVersion)}, expected "v1"`);
  }
  if (doc.kind !== "ConfigMap") {
    throw malformed(source, `kind is ${describeInput(doc.kind)}, expected "ConfigMap"`);
  }
  const name = isObj(doc.metadata) ? doc.metadata.name : undefined;
  if (name !== SIGNER_POLICY_CONFIGMAP) {
    throw malformed(
      source,
      `metadata.name is ${describeInput(name)}, expected "${SIGNER_POLICY_CONFIGMAP}"`,
    );
  }
  if (!isObj(doc.data)) {
    throw malformed(source, "missing data (expected data.fulcioIssuers and data.sanPatterns)");
  }
  const data = doc.data;
  for (const key of ["fulcioIssuers", "sanPatterns", "publicKeys", "registries"]) {
    if (data[key] !== undefined && typeof data[key] !== "string") {
      throw malformed(source, `data.${key} must be a string (ConfigMap data values are strings)`);
    }
  }
  if (data.fulcioIssuers === undefined) throw malformed(source, "missing data key fulcioIssuers");
  if (data.sanPatterns === undefined) throw malformed(source, "missing data key sanPatterns");
  const issuers = listLines(data.fulcioIssuers as string).map(({ line, text }) =>
    checkIssuer(text, `${source}: data.fulcioIssuers line ${line}`)
  );
  if (issuers.length === 0) {
    throw malformed(source, "data.fulcioIssuers is empty (list at least one issuer URL)");
  }
  const patterns = compilePolicyPatterns(
    listLines(data.sanPatterns as string).map(({ line, text }) => ({
      where: `${source}: data.sanPatterns line ${line}`,
      text,
    })),
    source,
  );
  if (patterns.length === 0) {
    throw malformed(source, "data.sanPatterns is empty (list at least one SAN pattern)");
  }
  const keys = data.publicKeys === undefined
    ? []
    : parsePublicKeys(data.publicKeys as string, source);
  const registries = data.registries === undefined
    ? undefined
    : parseRegistries(data.registries as string, source);
  return makePolicy(issuers, patterns, keys, "configmap", registries);
}

function parseRegistries(value: string, source: string): string[] {
  const out = listLines(value).map(({ line, text }) => {
    try {
      return parseRegistryHost(text, `data.registries line ${line}:`);
    } catch (e) {
      throw malformed(source, (e as Error).message);
    }
  });
  if (out.length === 0) {
    throw malformed(
      source,
      "data.registries is empty (list at least one host[:port], or remove the key)",
    );
  }
  return [...new Set(out)];
}

/**
 * The policy from the environment fallback (`KARS_SIGNER_FULCIO_ISSUERS`,
 * `KARS_SIGNER_SAN_PATTERNS`, comma-separated). Throws `SignerPolicyMissing` when neither is
 * set, `SignerPolicyMalformed` when only one is set or an entry is invalid.
 *
 * @example
 * ```ts
 * import { signerPolicyFromEnv } from "./policy_parse.ts";
 * signerPolicyFromEnv({
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://accounts.google.com",
 *   KARS_SIGNER_SAN_PATTERNS: "*@acme.example",
 * }).source; // "env"
 * ```
 */
export function signerPolicyFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): SignerPolicy {
  const split = (v: string | undefined) =>
    (v ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const issuers = split(env[ENV_FULCIO_ISSUERS]);
  const pats = split(env[ENV_SAN_PATTERNS]);
  if (issuers.length === 0 && pats.length === 0) {
    throw new KarsError(
      "INPUT",
      `no SignerPolicy: no ${SIGNER_POLICY_CONFIGMAP} ConfigMap given and ${ENV_FULCIO_ISSUERS} / ${ENV_SAN_PATTERNS} are not set; give the ConfigMap or set both variables`,
      { details: { reason: "SignerPolicyMissing", fixOptions: ["signerPolicy"] } },
    );
  }
  const src = "environment";
  if (issuers.length === 0) {
    throw malformed(src, `${ENV_FULCIO_ISSUERS} is empty but ${ENV_SAN_PATTERNS} is set`);
  }
  if (pats.length === 0) {
    throw malformed(src, `${ENV_SAN_PATTERNS} is empty but ${ENV_FULCIO_ISSUERS} is set`);
  }
  return makePolicy(
    issuers.map((s, i) => checkIssuer(s, `${src}: ${ENV_FULCIO_ISSUERS} entry ${i + 1}`)),
    compilePolicyPatterns(
      pats.map((text, i) => ({ where: `${src}: ${ENV_SAN_PATTERNS} entry ${i + 1}`, text })),
      src,
    ),
    [],
    "env",
  );
}

/**
 * Loads the policy as the controller does: the ConfigMap when given (`configMap` bytes or
 * text), else the env fallback. Never throws for policy problems: returns a
 * {@link PolicyError} (`SignerPolicyMissing` / `SignerPolicyMalformed`), which the verdict
 * reports as `AllowlistVerified=False`.
 *
 * @example
 * ```ts
 * import { isPolicyError } from "./policy.ts";
 * import { loadSignerPolicy } from "./policy_parse.ts";
 * const p = loadSignerPolicy({ env: {} });
 * isPolicyError(p) && p.reason; // "SignerPolicyMissing"
 * ```
 */
export function loadSignerPolicy(
  opts: {
    configMap?: string | Uint8Array | null;
    source?: string;
    env?: Readonly<Record<string, string | undefined>>;
  },
): SignerPolicy | PolicyError {
  try {
    if (opts.configMap !== undefined && opts.configMap !== null) {
      return parseSignerPolicy(opts.configMap, opts.source);
    }
    return signerPolicyFromEnv(opts.env ?? {});
  } catch (e) {
    const reason = (e as KarsError)?.details?.reason;
    if (
      e instanceof KarsError &&
      (reason === "SignerPolicyMissing" || reason === "SignerPolicyMalformed")
    ) {
      const fix = e.details?.fixOptions;
      return { reason, message: e.message, ...(Array.isArray(fix) ? { fixOptions: fix } : {}) };
    }
    throw e;
  }
}

/**
 * {@link loadSignerPolicy}, after loading the regular-expression engine when the policy holds
 * a `re:` pattern (a policy of globs never loads it). Use this where you can await; the sync
 * functions need `loadSanRegexEngine()` awaited first for `re:` patterns.
 *
 * @example
 * ```ts
 * import { loadSignerPolicyAsync } from "./policy_parse.ts";
 * const p = await loadSignerPolicyAsync({ env: {
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://accounts.google.com",
 *   KARS_SIGNER_SAN_PATTERNS: "re:[a-z]+@acme\\.example",
 * } });
 * ```
 */
export async function loadSignerPolicyAsync(
  opts: Parameters<typeof loadSignerPolicy>[0],
): Promise<SignerPolicy | PolicyError> {
  const cm = opts.configMap;
  const text = cm === undefined || cm === null
    ? opts.env?.[ENV_SAN_PATTERNS] ?? ""
    : typeof cm === "string"
    ? cm
    : new TextDecoder().decode(cm);
  return await withSanRegexEngine(text, () => loadSignerPolicy(opts));
}

function listLines(value: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  value.split("\n").forEach((raw, i) => {
    const text = raw.replace(/\r$/, "").trim();
    if (text.length === 0 || text.startsWith("#")) return;
    out.push({ line: i + 1, text });
  });
  return out;
}

function checkIssuer(text: string, where: string): string {
  let u: URL | undefined;
  try {
    u = new URL(text);
  } catch {
    u = undefined;
  }
  if (
    !u || (u.protocol !== "https:" && u.protocol !== "http:") || u.host === "" || /\s/.test(text)
  ) {
    throw new KarsError(
      "INPUT",
      `signer policy ${where}: ${quoteForMessage(text)} is not an http(s) issuer URL`,
      { details: { reason: "SignerPolicyMalformed" } },
    );
  }
  return text;
}

function makePolicy(
  fulcioIssuers: string[],
  sanPatterns: SanPattern[],
  publicKeys: PolicyKey[],
  source: "configmap" | "env",
  registries?: string[],
): SignerPolicy {
  const canon = JSON.stringify({
    i: [...new Set(fulcioIssuers)].sort(),
    p: [...new Set(sanPatterns.map((p) => p.source))].sort(),
    k: [...new Set(publicKeys.map((k) => toHex(k.spki)))].sort(),
    ...(registries ? { r: [...registries].sort() } : {}),
  });
  return {
    fulcioIssuers,
    sanPatterns,
    publicKeys,
    ...(registries ? { registries } : {}),
    source,
    hash: `sha256:${toHex(sha256Bytes(utf8(canon)))}`,
  };
}
