/**
 * Attack: a signer picks its certificate SAN to make SAN matching hang (issue 10, "Hangs").
 * Before: `re:https://(a+)+` against 30 a's took 59 s; the glob
 * `https://github.com/*\/*\/*\/*\/*\/*\/*\/*.yml@refs/heads/main` against an 80-character SAN
 * took 7 s (both compiled to backtracking JS regexes). Now globs use a two-pointer matcher whose
 * step counter shows linear cost, and `re:` uses re2js; regex cost is shown as a ratio to a
 * benign pattern on the same input (never an absolute time).
 */
import assert from "assert";
import { loadSanRegexEngine } from "../../lib/verify/san_match.ts";
import {
  compileGlob,
  compileSanPattern,
  compileSanPatterns,
  globMatch,
  MAX_REGEX_PROGRAM_SIZE,
  MAX_SAN_LENGTH,
  MAX_SAN_PATTERN_LENGTH,
  MAX_SAN_PATTERNS,
  MAX_SAN_PATTERNS_TOTAL_LENGTH,
  type SanMatcher,
} from "../../lib/verify/san_match.ts";
import { matchIdentity } from "../../lib/verify/policy.ts";
import { parseSignerPolicy, signerPolicyFromEnv } from "../../lib/verify/policy_parse.ts";
import { isKarsError } from "../../lib/errors.ts";
import { prng } from "../support/prng.ts";

// `re:` patterns are compiled synchronously below: load the regex engine once.
await loadSanRegexEngine();

const GH = "https://token.actions.githubusercontent.com";
const STARRY = "https://github.com/*/*/*/*/*/*/*/*.yml@refs/heads/main";

function steps(pattern: string, san: string): { steps: number; match: boolean } {
  const stats = { steps: 0 };
  const match = globMatch(pattern, san, stats);
  return { steps: stats.steps, match };
}

/** Fastest of `reps` timed runs of `f` (ms); used only in ratios. */
function fastest(f: () => void, reps = 7): number {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** A 10,000-character SAN that nearly matches the starry glob but fails at the very end. */
function nearMiss(len: number): string {
  const head = "https://github.com/";
  const tail = ".yml@refs/heads/mainX";
  return head + "a/".repeat(Math.floor((len - head.length - tail.length) / 2)) + tail;
}

Deno.test("hostile patterns: a *-heavy glob against 10,000- and 20,000-character SANs takes linear steps", () => {
  const s10 = nearMiss(10_000);
  const s20 = nearMiss(20_000);
  assert.ok(s10.length >= 9_990 && s10.length <= 10_000, String(s10.length));
  const a = steps(STARRY, s10);
  const b = steps(STARRY, s20);
  assert.equal(a.match, false);
  assert.equal(b.match, false);
  // Each SAN character is passed at most (length of the pattern after its last `*` + 2) times.
  const tailLen = ".yml@refs/heads/main".length + 2;
  assert.ok(a.steps <= s10.length * tailLen, `${a.steps} steps for ${s10.length} characters`);
  // Doubling the SAN at most doubles the work (plus slack): linear, not polynomial.
  assert.ok(b.steps / a.steps < 2.5, `steps grew ${b.steps / a.steps}x when the SAN doubled`);
  // A benign one-star pattern on the same SAN: the starry one costs a bounded multiple.
  const benign = steps("https://github.com/acme/*", s10);
  assert.ok(a.steps <= 30 * Math.max(benign.steps, s10.length), `${a.steps} vs ${benign.steps}`);
  console.log(`  starry glob: ${a.steps} steps at 10k, ${b.steps} at 20k; benign ${benign.steps}`);

  // ... and a 10,000-character SAN that does match is accepted by the same matcher.
  const hit = "https://github.com/" + "a/".repeat(4985) + "w.yml@refs/heads/main";
  assert.ok(steps(STARRY, hit).match);
});

Deno.test("hostile patterns: worst-case globs stay within (SAN + 1) × (pattern + 1) steps", () => {
  const cases = [
    "*a*a*a*a*a*a*a*a*a*a*b",
    "*" + "a".repeat(50) + "b",
    "*?*?*?*?*?*?*?*?*?*?!",
    "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*",
  ];
  for (const p of cases) {
    for (const n of [5_000, 10_000]) {
      const san = "a".repeat(n);
      const r = steps(p, san);
      const bound = (n + 1) * (compileGlob(p).length + 1);
      assert.ok(r.steps <= bound, `${p}: ${r.steps} steps > ${bound}`);
    }
    const r1 = steps(p, "a".repeat(10_000));
    const r2 = steps(p, "a".repeat(20_000));
    assert.ok(r2.steps / r1.steps < 2.5, `${p}: steps grew ${r2.steps / r1.steps}x`);
  }
  // Semantics are those of the former regex translation: whole string, code points.
  assert.equal(steps("*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(10_000)).match, false);
  assert.equal(steps("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", "a".repeat(40)).match, true);
  assert.equal(steps("*?*?*?*?*?*?*?*?*?*?!", "a".repeat(9) + "!").match, false);
  assert.equal(steps("*?*?*?*?*?*?*?*?*?*?!", "a".repeat(10) + "!").match, true);
});

Deno.test("hostile patterns: catastrophic regexes decide 10,000-character SANs in time linear in the input (re2js)", () => {
  const unbounded = (p: string) => compileSanPattern(p, { maxSanLength: Infinity });
  const evil = [
    "re:(a+)+",
    "re:(a|a)*",
    "re:((a*)*)*b",
    "re:(a|aa)+",
    "re:https://(a+)+",
    "re:(.*a){20}",
  ];
  const benign = unbounded("re:[a-z:/!]+x");
  for (const n of [10_000]) {
    const input = "a".repeat(n) + "!";
    const web = "https://" + "a".repeat(n) + "!";
    const tb = fastest(() => benign.test(input));
    for (const p of evil) {
      const m = unbounded(p);
      const s = p.startsWith("re:https") ? web : input;
      assert.equal(m.test(s), false, p);
      const t = fastest(() => m.test(s));
      // A backtracking engine needs 2^n steps here; a linear one a small multiple of benign.
      assert.ok(t <= 50 * tb + 5, `${p}: ${t.toFixed(2)} ms vs benign ${tb.toFixed(2)} ms`);
      console.log(`  ${p} on ${s.length} chars: ${t.toFixed(2)} ms (benign ${tb.toFixed(2)} ms)`);
    }
  }
  // Doubling the input at most roughly doubles the time (ratio, generous).
  const m = unbounded("re:(a|aa)+");
  const t10 = fastest(() => m.test("a".repeat(10_000) + "!"));
  const t40 = fastest(() => m.test("a".repeat(40_000) + "!"));
  assert.ok(t40 <= 12 * t10 + 5, `40k: ${t40.toFixed(2)} ms, 10k: ${t10.toFixed(2)} ms`);
  // And they still match what they should.
  assert.ok(unbounded("re:(a+)+").test("a".repeat(10_000)));
  assert.ok(unbounded("re:https://(a+)+").test("https://" + "a".repeat(10_000)));
});

Deno.test("hostile patterns: a SAN over the limit never matches; the policy path refuses it in O(1)", () => {
  const policy = signerPolicyFromEnv({
    KARS_SIGNER_FULCIO_ISSUERS: GH,
    KARS_SIGNER_SAN_PATTERNS: `${STARRY},re:https://(a+)+`,
  });
  const ok = "https://github.com/a/b/c/d/e/f/g/w.yml@refs/heads/main";
  assert.ok(matchIdentity(policy, { san: ok, issuer: GH }));
  const long = "https://github.com/" + "a/".repeat(MAX_SAN_LENGTH) + "w.yml@refs/heads/main";
  assert.equal(matchIdentity(policy, { san: long, issuer: GH }), false);
  const exactly = "https://" + "a".repeat(MAX_SAN_LENGTH - 8);
  assert.equal(exactly.length, MAX_SAN_LENGTH);
  assert.ok(matchIdentity(policy, { san: exactly, issuer: GH }), "a SAN of exactly the limit");
  assert.equal(matchIdentity(policy, { san: exactly + "a", issuer: GH }), false);
});

function refused(f: () => unknown, part: string | RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(isKarsError(e, "INPUT"), String(e));
    assert.equal(e.details?.reason, "SignerPolicyMalformed");
    if (typeof part === "string") assert.ok(e.message.includes(part), e.message);
    else assert.match(e.message, part);
    return true;
  });
}

Deno.test("hostile patterns: backreferences and lookaround are SignerPolicyMalformed naming RE2 syntax", () => {
  for (const p of ["re:(a)\\1", "re:(?=a)a", "re:(?!a)b", "re:(?<=a)b", "re:(?<!a)b"]) {
    refused(() => compileSanPattern(p), /backreferences and lookaround are not supported/);
    refused(() => compileSanPattern(p), /RE2 syntax, as the Rust regex crate does/);
  }
  refused(
    () => compileSanPattern("re:(unclosed"),
    /invalid regular expression.*missing closing \)/,
  );
  // In a ConfigMap, the message names the line.
  const cm =
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\ndata:\n  fulcioIssuers: ${GH}\n  sanPatterns: |\n    x\n    re:(a)\\1\n`;
  refused(
    () => parseSignerPolicy(cm, "p.yaml"),
    /p\.yaml: data\.sanPatterns line 2: invalid regular/,
  );
});

Deno.test("hostile patterns: pattern length, count, total size and program size are bounded", () => {
  refused(() => compileSanPattern("a".repeat(MAX_SAN_PATTERN_LENGTH + 1)), "longer than 1024");
  compileSanPattern("a".repeat(MAX_SAN_PATTERN_LENGTH)); // exactly the limit is fine
  refused(() => compileSanPattern("re:" + ".{1000}".repeat(100)), "too large");
  refused(
    () => compileSanPattern("re:" + "\\pL{1000}".repeat(6)),
    `limit ${MAX_REGEX_PROGRAM_SIZE}`,
  );
  const items = (n: number, len: number) =>
    Array.from(
      { length: n },
      (_, i) => ({ text: `${i}`.padEnd(len, "x"), where: `line ${i + 1}` }),
    );
  refused(
    () => compileSanPatterns(items(MAX_SAN_PATTERNS + 1, 4), { where: "p" }),
    `${MAX_SAN_PATTERNS + 1} SAN patterns, more than the ${MAX_SAN_PATTERNS} allowed`,
  );
  assert.equal(compileSanPatterns(items(MAX_SAN_PATTERNS, 4), { where: "p" }).length, 1000);
  refused(
    () => compileSanPatterns(items(100, 1000), { where: "p" }),
    `more than the ${MAX_SAN_PATTERNS_TOTAL_LENGTH} allowed`,
  );
  const big = Array.from({ length: 20 }, (_, i) => ({
    text: `re:x${i}` + "a{1000}".repeat(4), // about 4,000 instructions each
    where: `line ${i + 1}`,
  }));
  refused(() => compileSanPatterns(big, { where: "p" }), "in total (limit reached at line");
  // A message quoting an overlong pattern shows a short, escaped excerpt only.
  try {
    compileSanPattern("\u001b[31m" + "a".repeat(5000));
    assert.fail("accepted");
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(m.length < 300, m);
    assert.ok(!m.includes("\u001b") && m.includes("\\u001b"), m);
  }
});

Deno.test("san_match: anchored and unanchored `re:` (the controller's email regexes are unanchored)", () => {
  const anchored: SanMatcher = compileSanPattern("re:a|ab");
  assert.ok(anchored.test("a") && anchored.test("ab"));
  assert.ok(!anchored.test("abc") && !anchored.test("xa"));
  const email = compileSanPattern("re:ci-[a-z]+@acme\\.example", { anchored: false });
  assert.ok(email.test("ci-bot@acme.example"));
  assert.ok(email.test("evil ci-bot@acme.example.attacker.test"), "unanchored finds a substring");
  assert.ok(!compileSanPattern("re:ci-[a-z]+@acme\\.example").test("x ci-bot@acme.example"));
  // RE2 semantics that differ from nothing we accepted before: `.` is one code point, no newline.
  assert.ok(compileSanPattern("re:user.@x").test("user😀@x"));
  assert.ok(!compileSanPattern("re:a.b").test("a\nb"));
  // A glob ignores `anchored` (globs always match the whole SAN).
  assert.ok(!compileSanPattern("acme*", { anchored: false }).test("x acme"));
});

/** The former glob semantics: the pattern translated to an anchored, Unicode-mode JS regex. */
function formerGlob(pattern: string): RegExp {
  let body = "";
  for (const ch of pattern) {
    if (ch === "*") body += "[\\s\\S]*";
    else if (ch === "?") body += "[\\s\\S]";
    else body += /[\\^$.*+?()[\]{}|]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`^(?:${body})$`, "u");
}

Deno.test("san_match: the glob matcher agrees with the former regex translation (20,000 generated cases)", () => {
  const r = prng(0x5a17);
  const pAlpha = ["a", "b", "*", "?", "😀", "\n", ".", "\\", "\ud800"];
  const tAlpha = ["a", "b", "😀", "\n", ".", "\\", "\ud800", "\udc00", "*", "?"];
  const word = (alpha: string[], max: number) =>
    Array.from({ length: r.int(max + 1) }, () => r.pick(alpha)).join("");
  let matches = 0;
  for (let i = 0; i < 20_000; i++) {
    const p = word(pAlpha, 7);
    const t = word(tAlpha, 9);
    if (p.length === 0) continue;
    const want = formerGlob(p).test(t);
    assert.equal(globMatch(p, t), want, `${JSON.stringify(p)} vs ${JSON.stringify(t)}`);
    if (want) matches++;
  }
  assert.ok(matches > 500, `only ${matches} matching cases generated`);
  // Code points, not UTF-16 units: `?` takes a whole astral character.
  assert.ok(globMatch("a?b", "a😀b"));
  assert.ok(!globMatch("a??b", "a😀b"));
});

Deno.test("hostile patterns: the controller prediction's unanchored email regexes run on re2js too", async () => {
  const { controllerSanMatches } = await import("../../lib/verify/controller_san.ts");
  const san = "a".repeat(3000) + "!@acme.example";
  const evil = "re:^(a+)+@acme\\.example$";
  const benign = "re:^[a-z!]+@acme\\.example$";
  assert.equal(controllerSanMatches(evil, san), false);
  const te = fastest(() => controllerSanMatches(evil, san));
  const tb = fastest(() => controllerSanMatches(benign, san));
  assert.ok(te <= 50 * tb + 5, `${te.toFixed(2)} ms vs benign ${tb.toFixed(2)} ms`);
  assert.ok(controllerSanMatches("re:@acme\\.example", "dev@acme.example.org"), "unanchored");
  assert.equal(controllerSanMatches("re:(a)\\1", "a@b"), false, "no backreferences (RE2)");
});
