/**
 * One home per concept (issue 12 item 2–4): the named duplicates must not come back. Each rule
 * is a pattern that may match only in its home file(s) under lib/ (comments and JSDoc are
 * ignored; re-exports such as `export { keyId as keyIdOf } from …` are allowed, definitions
 * are not).
 */
import assert from "node:assert/strict";

const LIB = new URL("../lib/", import.meta.url);
/** Generated data, not code: the vendored CRD schemas (their patterns are the CRDs' own). */
const GENERATED = new Set(["kube/schema/kars_crds.ts"]);

async function* sources(dir: URL): AsyncGenerator<[string, string]> {
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* sources(url);
    else if (e.name.endsWith(".ts")) {
      const path = url.pathname.slice(LIB.pathname.length);
      if (!GENERATED.has(path)) yield [path, await Deno.readTextFile(url)];
    }
  }
}

/** Code lines only: JSDoc/block-comment lines and `//` comment lines are blanked. */
function code(text: string): string[] {
  return text.split("\n").map((l) => {
    const t = l.trim();
    return t.startsWith("*") || t.startsWith("/*") || t.startsWith("//") ? "" : l;
  });
}

interface Rule {
  what: string;
  pattern: RegExp;
  home: string[];
}

const RULES: Rule[] = [
  {
    what: "KARS_API_VERSION definition",
    pattern: /\bconst KARS_API_VERSION\b/,
    home: ["model/api.ts"],
  },
  {
    what: "kars API version literal",
    pattern: /["'`]kars\.azure\.com\/v1alpha1["'`]/,
    home: ["model/api.ts"],
  },
  {
    what: "KarsSandbox / LiveSandbox / AllowlistRef / Endpoint type definitions",
    pattern:
      /\b(interface|type)\s+(KarsSandbox|LiveSandbox|AllowlistRef|AllowlistRefInput|LiveAllowlistRef|Endpoint|EndpointEntry)\s*(=|\{|extends|<)/,
    home: ["model/sandbox.ts"],
  },
  {
    what: "as-unknown-as bridge to a sandbox type",
    pattern: /as unknown as (Kars|Live)Sandbox/,
    home: [],
  },
  {
    what: "DNS-1123 label/subdomain regex",
    pattern: /\[a-z0-9\]\(\[-a-z0-9\]\*\[a-z0-9\]\)\?/,
    home: ["model/names.ts"],
  },
  {
    what: "OCI repository-name regex",
    pattern: /\[a-z0-9\]\+\((\?:)?\((\?:)?\\\.\|_\|__\|-\+/,
    home: ["model/names.ts"],
  },
  {
    what: "SignatureFormat definition",
    pattern: /\btype\s+SignatureFormat\s*=/,
    home: ["cosign/vocabulary.ts"],
  },
  {
    what: "key id function definition",
    pattern: /\bfunction\s+(keyId|keyIdOf|keyIdentity|publicKeyHint)\s*\(/,
    home: ["cosign/key_id.ts"],
  },
  {
    what: "key id derivation (truncated SHA-256 hex)",
    pattern: /\.slice\(0,\s*16\)/,
    home: ["cosign/key_id.ts"],
  },
  {
    what: "cosign/in-toto wire strings",
    pattern:
      /["'`](application\/vnd\.in-toto\+json|https:\/\/in-toto\.io\/Statement\/v1|https:\/\/sigstore\.dev\/cosign\/sign\/v1|cosign container image signature|application\/vnd\.dev\.cosign\.simplesigning\.v1\+json|dev\.cosignproject\.cosign\/signature|dev\.sigstore\.cosign\/(certificate|chain|bundle|rfc3161timestamp))["'`]/,
    home: ["cosign/vocabulary.ts"],
  },
  {
    what: "SPKI parser",
    pattern: /\bfunction\s+(parseSpki|spkiAlgorithm|rsaKey|rsaPublicKeyOf)\s*\(/,
    home: ["encoding/spki.ts"],
  },
  {
    what: "id-ecPublicKey OID literal",
    pattern: /["'`]1\.2\.840\.10045\.2\.1["'`]/,
    home: ["encoding/spki.ts"],
  },
  { what: "PEM block regex", pattern: /-----BEGIN \(/, home: ["encoding/pem.ts"] },
  {
    what: "DER TLV writer",
    pattern: /\bfunction\s+der(TLV|Tlv|Tag)\s*\(/i,
    home: ["encoding/der.ts"],
  },
  {
    what: "hex codec",
    pattern: /\bfunction\s+(fromHex|toHex|hexToBytes|bytesToHex)\s*\(/,
    home: ["encoding/bytes.ts"],
  },
  {
    what: "DSSE pre-authentication encoding",
    pattern: /`DSSEv1 /,
    home: ["verify/sigstore/dsse.ts"],
  },
  {
    what: "DEFAULT_FULCIO_URL / DEFAULT_REKOR_URL definition",
    pattern: /\bconst\s+DEFAULT_(FULCIO|REKOR)_URL\b/,
    home: ["sign/services.ts"],
  },
];

Deno.test("architecture: each named concept is defined once under lib/", async () => {
  const found: string[] = [];
  const files = new Map<string, string[]>();
  for await (const [path, text] of sources(LIB)) files.set(path, code(text));
  assert.ok(files.size > 50, "lib/ sources were read");
  for (const rule of RULES) {
    let inHome = 0;
    for (const [path, lines] of files) {
      lines.forEach((line, i) => {
        if (!rule.pattern.test(line)) return;
        if (rule.home.includes(path)) inHome++;
        else found.push(`${rule.what}: lib/${path}:${i + 1}: ${line.trim().slice(0, 160)}`);
      });
    }
    if (rule.home.length > 0) {
      assert.ok(inHome > 0, `${rule.what}: not found in its home ${rule.home}`);
    }
  }
  assert.deepEqual(found, [], `duplicates outside their home:\n${found.join("\n")}`);
});

Deno.test("architecture: the duplicate check catches a reintroduced definition", () => {
  const sample = code([
    "/** KARS_API_VERSION = … (a comment is ignored) */",
    'export const KARS_API_VERSION = "kars.azure.com/v1alpha1";',
    "function keyIdOf(spki: Uint8Array) { return toHex(sha256(spki)).slice(0, 16); }",
    "const RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;",
    "const REPO = /^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*$/;",
  ].join("\n"));
  const hits = RULES.filter((r) => sample.some((l) => r.pattern.test(l))).map((r) => r.what);
  assert.deepEqual(hits, [
    "KARS_API_VERSION definition",
    "kars API version literal",
    "DNS-1123 label/subdomain regex",
    "OCI repository-name regex",
    "key id function definition",
    "key id derivation (truncated SHA-256 hex)",
  ]);
});

/**
 * Only lib/cli/ knows flags (issue 12): library code names the input in library terms and
 * sets `details.option` / `details.fixOptions`; `lib/cli/flag_hints.ts` adds the flag. A
 * code line (not a comment) outside lib/cli/ that mentions `--flag` is a leak, except a whole
 * command suggestion (`kars egress … --enforce`) written for a human.
 */
const FLAG_MENTION = /(^|[^-\w])--[a-z]/;

function flagLeaks(lines: string[]): number[] {
  const out: number[] = [];
  lines.forEach((l, i) => {
    const c = l.replace(/\s\/\/ .*$/, "");
    if (FLAG_MENTION.test(c) && !/\bkars [a-z]/.test(c)) out.push(i + 1);
  });
  return out;
}

Deno.test("architecture: no library message outside lib/cli/ names a flag", async () => {
  const where: string[] = [];
  let files = 0;
  for await (const [path, text] of sources(LIB)) {
    if (path.startsWith("cli/")) continue;
    files++;
    where.push(...flagLeaks(code(text)).map((n) => `lib/${path}:${n}`));
  }
  assert.ok(files > 100, "lib/ sources outside lib/cli/ were read");
  assert.deepEqual(
    where,
    [],
    `flag names in library code (use details.option):\n${where.join("\n")}`,
  );
});

Deno.test("architecture: the flag check catches a flag in a library message", () => {
  const sample = code([
    "/** `--key`: a comment may name a flag */",
    'throw new KarsError("USAGE", "--key is required");',
    "const hint = `check it, or pass -n/--namespace`;",
    'const next = "kars egress web --enforce"; // a command suggestion for a human',
  ].join("\n"));
  assert.deepEqual(flagLeaks(sample), [2, 3]);
});

/** The workflow is a library (issue 12 item 1): only lib/cli/ knows the command line. */
const CLI_IMPORT = /\bfrom\s+["'][^"']*\/cli\/[^"']*["']|\bimport\(\s*["'][^"']*\/cli\//;

Deno.test("architecture: nothing under lib/workflow/ imports from lib/cli/", async () => {
  const found: string[] = [];
  let files = 0;
  for await (const [path, text] of sources(LIB)) {
    if (!path.startsWith("workflow/")) continue;
    files++;
    text.split("\n").forEach((l, i) => {
      if (CLI_IMPORT.test(l)) found.push(`lib/${path}:${i + 1}: ${l.trim()}`);
    });
  }
  assert.ok(files >= 5, "lib/workflow/ sources were read");
  assert.deepEqual(found, [], `lib/workflow/ imports the CLI:\n${found.join("\n")}`);
});

Deno.test("architecture: the workflow import check catches a CLI import", () => {
  assert.ok(CLI_IMPORT.test('import { parseEgressOptions } from "../cli/egress_options.ts";'));
  assert.ok(CLI_IMPORT.test('const m = await import("../cli/main.ts");'));
  assert.ok(!CLI_IMPORT.test('import { egress } from "./egress.ts";'));
});
