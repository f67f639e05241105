import assert from "assert";
import { loadSanRegexEngine } from "../../lib/verify/san_match.ts";
import {
  compileSanPattern,
  isPolicyError,
  matchIdentity,
  matchKey,
  type SignerPolicy,
} from "../../lib/verify/policy.ts";
import {
  loadSignerPolicy,
  loadSignerPolicyAsync,
  parseSignerPolicy,
  signerPolicyFromEnv,
} from "../../lib/verify/policy_parse.ts";
import { parsePublicKeys } from "../../lib/verify/policy_keys.ts";
import { isKarsError } from "../../lib/errors.ts";
import { fromBase64 } from "../../lib/encoding/bytes.ts";

// `re:` patterns are compiled synchronously below: load the regex engine once.
await loadSanRegexEngine();

const dir = new URL("../../testdata/policy/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, dir));
const GH = "https://token.actions.githubusercontent.com";
const WORKFLOW = "https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main";

function configMap(data: Record<string, string | undefined>, head?: string): string {
  let s = head ?? "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\n";
  s += "data:\n";
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined) continue;
    s += `  ${k}: |\n${v.split("\n").map((l) => `    ${l}`).join("\n")}\n`;
  }
  return s;
}

function malformed(input: string, messagePart: string | RegExp): void {
  assert.throws(() => parseSignerPolicy(input, "policy.yaml"), (e: unknown) => {
    assert.ok(isKarsError(e, "INPUT"), String(e));
    assert.equal(e.details?.reason, "SignerPolicyMalformed");
    if (typeof messagePart === "string") assert.ok(e.message.includes(messagePart), e.message);
    else assert.match(e.message, messagePart);
    return true;
  });
}

function pemDer(pem: string): Uint8Array {
  return fromBase64(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
}

Deno.test("policy: parses the testdata ConfigMap (comments, blank lines, glob and regex)", () => {
  const p = parseSignerPolicy(read("signer-policy.yaml"), "signer-policy.yaml");
  assert.deepEqual(p.fulcioIssuers, [GH, "https://accounts.google.com"]);
  assert.deepEqual(p.sanPatterns.map((s) => s.source), [WORKFLOW, "re:[a-z]+@acme\\.example"]);
  assert.equal(p.publicKeys.length, 0);
  assert.equal(p.source, "configmap");
  assert.match(p.hash, /^sha256:[0-9a-f]{64}$/);
});

Deno.test("policy: GitHub Actions workflow identity pattern", () => {
  const p = parseSignerPolicy(read("signer-policy.yaml"));
  const ok = (san: string, issuer = GH) => matchIdentity(p, { san, issuer });
  assert.ok(ok("https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main"));
  // `*` spans `/`: nested workflow paths match too
  assert.ok(ok("https://github.com/acme/gitops/.github/workflows/sub/dir/x.yml@refs/heads/main"));
  // other branch, other repo, other org, suffix/prefix: refused
  assert.ok(!ok("https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/dev"));
  assert.ok(!ok("https://github.com/acme/gitops2/.github/workflows/promote.yml@refs/heads/main"));
  assert.ok(!ok("https://github.com/evil/gitops/.github/workflows/promote.yml@refs/heads/main"));
  assert.ok(!ok("https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main2"));
  assert.ok(!ok("xhttps://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main"));
  // `.` in the literal is a dot, not "any character"
  assert.ok(!ok("https://github.com/acme/gitops/.github/workflows/promoteXyml@refs/heads/main"));
  assert.ok(!ok("https://githubXcom/acme/gitops/.github/workflows/promote.yml@refs/heads/main"));
  // right SAN, issuer not in fulcioIssuers
  assert.ok(
    !ok(
      "https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main",
      "https://evil.example",
    ),
  );
  // any issuer × any pattern: the regex pattern with the GitHub issuer
  assert.ok(ok("alice@acme.example"));
  assert.ok(ok("alice@acme.example", "https://accounts.google.com"));
});

Deno.test("policy: regex patterns are anchored", () => {
  const p = parseSignerPolicy(read("signer-policy.yaml"));
  const ok = (san: string) => matchIdentity(p, { san, issuer: GH });
  assert.ok(ok("bob@acme.example"));
  assert.ok(!ok("bob@acme.example.evil.com"));
  assert.ok(!ok("evil bob@acme.example"));
  assert.ok(!ok("Bob@acme.example"));
  assert.ok(!ok("bob@acmeXexample"));
  // alternation inside the regex stays anchored as a whole (^(?:a|b)$)
  const alt = compileSanPattern("re:a|b");
  assert.ok(alt.regex.test("a") && alt.regex.test("b"));
  assert.ok(!alt.regex.test("ab") && !alt.regex.test("xa") && !alt.regex.test("bx"));
});

Deno.test("policy: glob `?` is exactly one character; metacharacters in literals are literal", () => {
  const q = compileSanPattern("user?@acme.example");
  assert.ok(q.regex.test("user1@acme.example"));
  assert.ok(q.regex.test("useré@acme.example"), "one code point, even non-ASCII");
  assert.ok(!q.regex.test("user@acme.example"));
  assert.ok(!q.regex.test("user12@acme.example"));
  const meta = compileSanPattern("a+b(c)[d]{2}|e^$\\.x-/y");
  assert.ok(meta.regex.test("a+b(c)[d]{2}|e^$\\.x-/y"));
  assert.ok(!meta.regex.test("aab(c)[d]{2}|e^$\\.x-/y"));
  assert.ok(
    compileSanPattern("https://github.com/my-org/*").regex.test("https://github.com/my-org/a"),
  );
  assert.ok(!meta.regex.test("e^$\\.x"));
  assert.ok(!meta.regex.test("abc"));
  const star = compileSanPattern("*");
  assert.ok(star.regex.test("") && star.regex.test("anything/at all\nnewline"));
  const mid = compileSanPattern("a*z");
  assert.ok(mid.regex.test("az") && mid.regex.test("a/b/c/z"));
  assert.ok(!mid.regex.test("a/b/c/zz/"));
  // no injection: a literal containing "re:" elsewhere is still a literal
  assert.ok(compileSanPattern("x re:.*").regex.test("x re:.*"));
  assert.ok(!compileSanPattern("x re:.*").regex.test("x re:abc"));
});

Deno.test("policy: invalid regex and empty patterns are refused", () => {
  malformed(
    configMap({ fulcioIssuers: GH, sanPatterns: "re:(unclosed" }),
    /sanPatterns line 1: invalid regular expression/,
  );
  malformed(configMap({ fulcioIssuers: GH, sanPatterns: "ok\nre:[z-a]" }), /sanPatterns line 2/);
  malformed(configMap({ fulcioIssuers: GH, sanPatterns: "re:" }), "empty regular expression");
  assert.throws(() => compileSanPattern(""), (e) => isKarsError(e, "INPUT"));
});

Deno.test("policy: exact errors for malformed ConfigMaps (SignerPolicyMalformed)", () => {
  malformed("a: [", "not valid YAML/JSON");
  malformed("", "empty document");
  malformed("- 1\n- 2\n", "expected a ConfigMap object");
  malformed(
    configMap(
      { fulcioIssuers: GH, sanPatterns: "x" },
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kars-signer-policy\n",
    ),
    'kind is "Secret", expected "ConfigMap"',
  );
  malformed(
    configMap(
      { fulcioIssuers: GH, sanPatterns: "x" },
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
    ),
    'metadata.name is "other", expected "kars-signer-policy"',
  );
  malformed(
    configMap(
      { fulcioIssuers: GH, sanPatterns: "x" },
      "apiVersion: v2\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\n",
    ),
    'apiVersion is "v2"',
  );
  malformed(
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\n",
    "missing data",
  );
  malformed(configMap({ sanPatterns: "x" }), "missing data key fulcioIssuers");
  malformed(configMap({ fulcioIssuers: GH }), "missing data key sanPatterns");
  malformed(
    configMap({ fulcioIssuers: "# only a comment\n\n", sanPatterns: "x" }),
    "data.fulcioIssuers is empty",
  );
  malformed(
    configMap({ fulcioIssuers: GH, sanPatterns: "\n# none\n" }),
    "data.sanPatterns is empty",
  );
  malformed(
    configMap({ fulcioIssuers: `${GH}\nnot a url`, sanPatterns: "x" }),
    'fulcioIssuers line 2: "not a url" is not an http(s) issuer URL',
  );
  malformed(
    configMap({ fulcioIssuers: "ftp://issuer.example", sanPatterns: "x" }),
    "is not an http(s) issuer URL",
  );
  malformed(
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\ndata:\n  fulcioIssuers: 3\n  sanPatterns: x\n",
    "data.fulcioIssuers must be a string",
  );
  malformed(
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\ndata:\n  fulcioIssuers: a\n  fulcioIssuers: b\n  sanPatterns: x\n",
    "not valid YAML/JSON",
  );
  malformed("just a string\n", "expected a ConfigMap object");
});

Deno.test("policy: multi-document file selects kars-signer-policy; JSON works", () => {
  const two = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata: {}\n---\n" +
    configMap({ fulcioIssuers: GH, sanPatterns: "x" });
  assert.deepEqual(parseSignerPolicy(two).fulcioIssuers, [GH]);
  malformed(
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: X\n",
    "no ConfigMap named kars-signer-policy among 2 documents",
  );
  const json = JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "kars-signer-policy" },
    data: { fulcioIssuers: GH, sanPatterns: "a\nb" },
  });
  assert.equal(parseSignerPolicy(json).sanPatterns.length, 2);
});

Deno.test("policy: publicKeys P-256, P-384, Ed25519, RSA; matchKey byte-exact", () => {
  const p = parseSignerPolicy(read("signer-policy-keys.yaml"));
  assert.deepEqual(p.publicKeys.map((k) => k.algorithm), [
    "ecdsa-p256",
    "ecdsa-p384",
    "ed25519",
    "rsa",
  ]);
  for (
    const [file, i] of [["p256.pub", 0], ["p384.pub", 1], ["ed25519.pub", 2], [
      "rsa2048.pub",
      3,
    ]] as const
  ) {
    const der = pemDer(read(file));
    assert.equal(matchKey(p, der), p.publicKeys[i], file);
    assert.match(p.publicKeys[i].keyId, /^[0-9a-f]{16}$/);
  }
  const other = pemDer(read("p256.pub"));
  other[other.length - 1] ^= 1;
  assert.equal(matchKey(p, other), undefined);
  // the policy hash changes with the keys
  const noKeys = parseSignerPolicy(
    configMap({
      fulcioIssuers: GH,
      sanPatterns: "https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main",
    }),
  );
  assert.notEqual(p.hash, noKeys.hash);
});

Deno.test("policy: bad publicKeys are refused with the block named", () => {
  const cm = (pk: string) => configMap({ fulcioIssuers: GH, sanPatterns: "x", publicKeys: pk });
  malformed(cm("not pem"), "data.publicKeys holds no PEM block");
  malformed(cm(read("rsa1024.pub")), "block 1: RSA key shorter than 2048 bits");
  malformed(cm(read("p256.pub") + read("secp256k1.pub")), "block 2: unsupported EC curve");
  malformed(
    cm("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
    'label is "CERTIFICATE", expected "PUBLIC KEY"',
  );
  malformed(cm("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"), "not valid base64");
  malformed(cm("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "block 1: ");
  malformed(cm(read("p256.pub") + "trailing junk"), "stray text after block 1");
  // a P-256 key whose point is not on the curve
  const der = pemDer(read("p256.pub"));
  der[der.length - 5] ^= 0xff;
  const b64 = btoa(String.fromCharCode(...der));
  malformed(cm(`-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----`), "block 1");
  assert.equal(parsePublicKeys("").length, 0);
});

Deno.test("policy: env fallback, SignerPolicyMissing, and loadSignerPolicy", () => {
  const env = {
    KARS_SIGNER_FULCIO_ISSUERS: ` ${GH} , https://accounts.google.com`,
    KARS_SIGNER_SAN_PATTERNS: `${WORKFLOW},re:.*@acme\\.example`,
  };
  const p = signerPolicyFromEnv(env);
  assert.equal(p.source, "env");
  assert.deepEqual(p.fulcioIssuers, [GH, "https://accounts.google.com"]);
  assert.ok(matchIdentity(p, { san: "x@acme.example", issuer: "https://accounts.google.com" }));
  const missing = loadSignerPolicy({ env: {} });
  assert.ok(isPolicyError(missing));
  assert.equal(missing.reason, "SignerPolicyMissing");
  assert.doesNotMatch(missing.message, /--/);
  assert.match(missing.message, /give the ConfigMap or set both variables/);
  assert.deepEqual(missing.fixOptions, ["signerPolicy"]);
  const half = loadSignerPolicy({ env: { KARS_SIGNER_FULCIO_ISSUERS: GH } });
  assert.ok(isPolicyError(half) && half.reason === "SignerPolicyMalformed");
  const badEnv = loadSignerPolicy({
    env: { KARS_SIGNER_FULCIO_ISSUERS: "nope", KARS_SIGNER_SAN_PATTERNS: "x" },
  });
  assert.ok(isPolicyError(badEnv) && badEnv.reason === "SignerPolicyMalformed");
  // the ConfigMap wins over env
  const cm = loadSignerPolicy({ configMap: read("signer-policy.yaml"), env });
  assert.ok(!isPolicyError(cm) && (cm as SignerPolicy).source === "configmap");
  const bad = loadSignerPolicy({ configMap: "kind: Secret", env });
  assert.ok(isPolicyError(bad) && bad.reason === "SignerPolicyMalformed");
  // the same policy written twice hashes the same; a different one differently
  assert.equal(signerPolicyFromEnv(env).hash, p.hash);
  assert.notEqual(signerPolicyFromEnv({ ...env, KARS_SIGNER_SAN_PATTERNS: "x" }).hash, p.hash);
});

Deno.test("policy: the shipped examples/gitops/signer-policy.yaml parses and admits the promote workflow only", () => {
  const text = Deno.readTextFileSync(
    new URL("../../examples/gitops/signer-policy.yaml", import.meta.url),
  );
  const p = parseSignerPolicy(text, "examples/gitops/signer-policy.yaml");
  const wf = "https://github.com/acme/gitops/.github/workflows/promote-egress.yml@refs/heads/main";
  assert.ok(matchIdentity(p, { san: wf, issuer: GH }));
  assert.ok(!matchIdentity(p, { san: wf.replace("main", "dev"), issuer: GH }));
});

Deno.test("loadSignerPolicyAsync: a re: pattern spelled with an escape (YAML \\x72, JSON \\u0072) loads the engine and compiles", async () => {
  const head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\ndata:\n";
  for (
    const text of [
      `${head}  fulcioIssuers: ${GH}\n  sanPatterns: "\\x72e:ci-[a-z]+@acme\\\\.example"\n`,
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "kars-signer-policy" },
        data: { fulcioIssuers: GH, sanPatterns: "re:ci-[a-z]+@acme\\.example" },
      }).replace('"re:', '"\\u0072e:'),
    ]
  ) {
    assert.ok(!text.includes("re:"), text);
    const p = await loadSignerPolicyAsync({ configMap: text });
    assert.ok(!isPolicyError(p), JSON.stringify(p));
    assert.equal(p.sanPatterns[0].kind, "regex");
    assert.ok(p.sanPatterns[0].test("ci-bot@acme.example"));
    assert.ok(!p.sanPatterns[0].test("ci-bot@acme.examples"));
  }
});
