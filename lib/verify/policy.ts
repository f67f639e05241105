/**
 * The SignerPolicy (formats.md §5): who may sign an egress allowlist.
 *
 * Read from the `kars-signer-policy` ConfigMap (YAML or JSON) or, when there is none, from the
 * environment (`KARS_SIGNER_FULCIO_ISSUERS` / `KARS_SIGNER_SAN_PATTERNS`, comma-separated).
 * Malformed data is refused with `details.reason === "SignerPolicyMalformed"`, a missing policy
 * with `"SignerPolicyMissing"`; nothing is ever guessed (security decisions fail closed).
 *
 * SAN patterns: `re:<regex>` is an anchored regular expression in RE2 syntax (the Rust
 * `regex` crate's: no backreferences or lookaround), matched by `re2js` in linear time; any
 * other pattern is a literal in which `*` matches any run of characters (including `/`), `?`
 * exactly one character, and every other character only itself, matched without
 * backtracking. Matching lives in `san_match.ts`, with its limits (pattern and SAN length,
 * number of patterns).
 *
 * @module
 */
import { bytesEqual, toHex, utf8 } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { parseSpki, SpkiError } from "../encoding/spki.ts";
import { pemBody, pemScan } from "../encoding/pem.ts";
import { keyId } from "../cosign/key_id.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import { parseRegistryHost } from "../oci/registry_host.ts";
import { describeInput, quoteForMessage } from "../encoding/quote.ts";
import {
  compileSanPattern as compileMatcher,
  type CompileSanPatternOptions,
  compileSanPatterns,
  exactSanMatcher,
  loadSanRegexEngine,
  type SanMatcher,
} from "./san_match.ts";

/** Name of the ConfigMap holding the policy. */
export const SIGNER_POLICY_CONFIGMAP = "kars-signer-policy";
/** Env variable holding comma-separated Fulcio issuer URLs (fallback when there is no ConfigMap). */
export const ENV_FULCIO_ISSUERS = "KARS_SIGNER_FULCIO_ISSUERS";
/** Env variable holding comma-separated SAN patterns (fallback when there is no ConfigMap). */
export const ENV_SAN_PATTERNS = "KARS_SIGNER_SAN_PATTERNS";

/** Largest policy document accepted (bytes). */
const MAX_POLICY_BYTES = 1 << 20;

/** One compiled SAN pattern (whole-SAN match; see `san_match.ts`). */
export interface SanPattern extends SanMatcher {
  /**
   * The same matcher under its former name (it used to be a `RegExp`).
   *
   * @deprecated use {@link SanMatcher.test} on the pattern itself.
   */
  regex: { test(san: string): boolean };
}

/** Algorithm of a pinned public key. */
export type PublicKeyAlgorithm = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa";

/** One pinned public key from `publicKeys`. */
export interface PolicyKey {
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Key algorithm (and curve). */
  algorithm: PublicKeyAlgorithm;
  /** First 16 hex digits of SHA-256(SPKI DER): the `key:` signer id of issue 6. */
  keyId: string;
}

/** A parsed, validated SignerPolicy. */
export interface SignerPolicy {
  /** Accepted OIDC issuer URLs (exact match). */
  fulcioIssuers: string[];
  /** Accepted certificate SAN patterns. */
  sanPatterns: SanPattern[];
  /** Pinned public keys accepted for key / KMS signatures. */
  publicKeys: PolicyKey[];
  /**
   * Registries (`host[:port]`, exact) an allowlistRef may name (`data.registries`, ours; the
   * kars controller does not read it). Absent: any registry but link-local/metadata ones.
   */
  registries?: string[];
  /** Where the policy came from: the ConfigMap or the environment. */
  source: "configmap" | "env";
  /** `sha256:<hex>` over a canonical form of the policy: a cache key. */
  hash: string;
}

/** Why no usable policy is available (a verdict, not a fault). */
export interface PolicyError {
  /** `SignerPolicyMissing` or `SignerPolicyMalformed` (formats.md §6). */
  reason: "SignerPolicyMissing" | "SignerPolicyMalformed";
  /** What is wrong, naming the input and the fix. */
  message: string;
}

/** A signer identity as read from a Fulcio certificate. */
export interface CertificateIdentity {
  /** The certificate's Subject Alternative Name (URI or email). */
  san: string;
  /** The OIDC issuer recorded in the certificate. */
  issuer: string;
}

function malformed(source: string, what: string): KarsError {
  return new KarsError("INPUT", `signer policy ${source}: ${what}`, {
    details: { reason: "SignerPolicyMalformed" },
  });
}

/**
 * True when `x` is a {@link PolicyError} (rather than a {@link SignerPolicy}).
 *
 * @example
 * ```ts
 * import { isPolicyError } from "./policy.ts";
 * isPolicyError({ reason: "SignerPolicyMissing", message: "none" }); // true
 * ```
 */
export function isPolicyError(x: SignerPolicy | PolicyError): x is PolicyError {
  return (x as PolicyError).reason !== undefined && (x as SignerPolicy).fulcioIssuers === undefined;
}

/**
 * Compiles a SAN pattern as the SignerPolicy reads it: `re:<regex>` must match the whole SAN
 * (RE2 syntax, linear time); anything else is a glob where `*` is any run of characters and
 * `?` one character. The second argument is where the pattern comes from (for messages) or
 * the options of `san_match.ts`'s `compileSanPattern`. Throws `KarsError`
 * (`SignerPolicyMalformed`) on an empty, overlong or invalid pattern.
 *
 * @example
 * ```ts
 * import { compileSanPattern } from "./policy.ts";
 * const p = compileSanPattern("https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main");
 * p.test("https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main"); // true
 * p.test("https://github.com/acme/gitopsX.github/workflows/promote.yml@refs/heads/main"); // false
 * ```
 */
export function compileSanPattern(
  pattern: string,
  source: string | CompileSanPatternOptions = "pattern",
): SanPattern {
  const m = compileMatcher(pattern, typeof source === "string" ? { where: source } : source);
  return { ...m, regex: { test: m.test } };
}

/**
 * A SAN pattern that accepts exactly `san` (no wildcards; needs no regex engine).
 *
 * @example
 * ```ts
 * import { exactSanPattern } from "./policy.ts";
 * exactSanPattern("https://github.com/a/b/.github/workflows/x.yml@refs/heads/main").test(
 *   "https://github.com/a/b/.github/workflows/x.yml@refs/heads/main",
 * ); // true
 * ```
 */
export function exactSanPattern(san: string): SanPattern {
  const m = exactSanMatcher(san);
  return { ...m, regex: { test: m.test } };
}

function compilePatterns(
  list: { where: string; text: string }[],
  source: string,
): SanPattern[] {
  return compileSanPatterns(list, { where: source }).map((m) => ({
    ...m,
    regex: { test: m.test },
  }));
}

/**
 * True when the certificate identity is accepted: its issuer is one of `fulcioIssuers`
 * (exact match) and its SAN matches one of `sanPatterns`.
 *
 * @example
 * ```ts
 * import { matchIdentity, signerPolicyFromEnv } from "./policy.ts";
 * const policy = signerPolicyFromEnv({
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://token.actions.githubusercontent.com",
 *   KARS_SIGNER_SAN_PATTERNS: "https://github.com/acme/*",
 * });
 * matchIdentity(policy, { san: "https://github.com/acme/x", issuer: "https://token.actions.githubusercontent.com" }); // true
 * ```
 */
export function matchIdentity(policy: SignerPolicy, id: CertificateIdentity): boolean {
  if (typeof id.san !== "string" || typeof id.issuer !== "string") return false;
  if (!policy.fulcioIssuers.includes(id.issuer)) return false;
  return policy.sanPatterns.some((p) => p.test(id.san));
}

/**
 * The pinned key whose SPKI DER equals `spki` (byte for byte), or `undefined`.
 *
 * @example
 * ```ts
 * import { matchKey, signerPolicyFromEnv } from "./policy.ts";
 * const policy = signerPolicyFromEnv({ KARS_SIGNER_FULCIO_ISSUERS: "https://a.example", KARS_SIGNER_SAN_PATTERNS: "x" });
 * matchKey(policy, new Uint8Array([1, 2])); // undefined
 * ```
 */
export function matchKey(policy: SignerPolicy, spki: Uint8Array): PolicyKey | undefined {
  return policy.publicKeys.find((k) => bytesEqual(k.spki, spki));
}

/**
 * Parses the `kars-signer-policy` ConfigMap (YAML or JSON; in a multi-document file the
 * ConfigMap of that name is selected). Throws `KarsError("INPUT")` with
 * `details.reason === "SignerPolicyMalformed"` and a message naming the key and line at fault.
 *
 * @example
 * ```ts
 * import { parseSignerPolicy } from "./policy.ts";
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
  const patterns = compilePatterns(
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
 * import { signerPolicyFromEnv } from "./policy.ts";
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
      `no SignerPolicy: no ${SIGNER_POLICY_CONFIGMAP} ConfigMap given and ${ENV_FULCIO_ISSUERS} / ${ENV_SAN_PATTERNS} are not set; pass --signer-policy FILE or set both variables`,
      { details: { reason: "SignerPolicyMissing" } },
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
    compilePatterns(
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
 * import { isPolicyError, loadSignerPolicy } from "./policy.ts";
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
      return { reason, message: e.message };
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
 * import { loadSignerPolicyAsync } from "./policy.ts";
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
  if (text.includes("re:")) await loadSanRegexEngine();
  return loadSignerPolicy(opts);
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

// ---- PEM / SPKI ----------------------------------------------------------------------------

/**
 * Parses concatenated PEM `PUBLIC KEY` blocks (SPKI: P-256, P-384, Ed25519, RSA). Throws
 * `SignerPolicyMalformed` naming the block at fault.
 *
 * @example
 * ```ts
 * import { parsePublicKeys } from "./policy.ts";
 * parsePublicKeys("").length; // 0
 * ```
 */
export function parsePublicKeys(pem: string, source = "publicKeys"): PolicyKey[] {
  const where = (n: number) => `data.publicKeys block ${n}`;
  const keys: PolicyKey[] = [];
  const text = pem.replace(/\r\n/g, "\n");
  let last = 0;
  let n = 0;
  for (const m of pemScan(text)) {
    n++;
    if (text.slice(last, m.start).trim() !== "") {
      throw malformed(source, `${where(n)}: unexpected text before the PEM block`);
    }
    last = m.end;
    if (m.label !== "PUBLIC KEY" || m.endLabel !== "PUBLIC KEY") {
      throw malformed(source, `${where(n)}: label is "${m.label}", expected "PUBLIC KEY" (SPKI)`);
    }
    if (!m.body.startsWith("\n")) {
      throw malformed(source, `${where(n)}: the BEGIN line must end with a line break`);
    }
    let der: Uint8Array;
    try {
      der = pemBody(m.body);
    } catch {
      throw malformed(source, `${where(n)}: body is not valid base64`);
    }
    let algorithm: PublicKeyAlgorithm;
    try {
      algorithm = policyKeyAlgorithm(der);
    } catch (e) {
      throw malformed(source, `${where(n)}: ${(e as Error).message}`);
    }
    keys.push({ spki: der, algorithm, keyId: keyId(der) });
  }
  const rest = text.slice(last).trim();
  if (rest !== "") {
    throw malformed(
      source,
      n === 0 && !rest.includes("-----BEGIN")
        ? "data.publicKeys holds no PEM block"
        : `data.publicKeys: unterminated or stray text after block ${n}`,
    );
  }
  if (n === 0 && pem.trim() !== "") throw malformed(source, "data.publicKeys holds no PEM block");
  return keys;
}

/** Reads a DER SubjectPublicKeyInfo (the one parser, `parseSpki`): returns the algorithm. */
function policyKeyAlgorithm(der: Uint8Array): PublicKeyAlgorithm {
  try {
    return parseSpki(der).algorithm;
  } catch (e) {
    if (!(e instanceof SpkiError) || e.problem === "structure") {
      throw new Error("not a DER SubjectPublicKeyInfo");
    }
    const why = e.message.replace(/^SubjectPublicKeyInfo: /, "");
    if (e.problem === "unsupported") throw new Error(`${why}; use P-256, P-384, Ed25519 or RSA`);
    if (/modulus is too small/.test(why)) throw new Error("RSA key shorter than 2048 bits");
    if (why.startsWith("RSA public key")) throw new Error("malformed RSA public key");
    throw new Error(why);
  }
}
