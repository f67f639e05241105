import assert from "assert";
import {
  checkHost,
  isCanonicalHost,
  normaliseHost,
  NOT_A_URL_MESSAGE,
  parseHostPort,
  quoteForMessage,
} from "../lib/allowlist/host.ts";
import { isKarsError } from "../lib/errors.ts";

const reason = (h: string) => {
  const r = checkHost(h);
  assert.ok(!r.ok, `${JSON.stringify(h)} was accepted as ${JSON.stringify(r)}`);
  return (r as { reason: string }).reason;
};

Deno.test("host: lowercases and converts IDN to punycode like the WHATWG URL parser", () => {
  assert.equal(normaliseHost("API.GitHub.com"), "api.github.com");
  assert.equal(normaliseHost("Bücher.Example"), "xn--bcher-kva.example");
  assert.equal(normaliseHost("straße.de"), "xn--strae-oqa.de"); // UTS-46 nontransitional
  assert.equal(normaliseHost("ｅｘａｍｐｌｅ.com"), "example.com"); // fullwidth mapped
  assert.equal(normaliseHost("a\u3002b.com"), "a.b.com"); // ideographic full stop
  assert.equal(normaliseHost("xn--bcher-kva.example"), "xn--bcher-kva.example");
  for (const h of ["münchen.de", "例え.テスト", "ελλάδα.gr", "Ünïcödé.Example"]) {
    assert.equal(normaliseHost(h), new URL(`http://${h}/`).hostname);
  }
});

Deno.test("host: IPv4 only as canonical dotted quad", () => {
  assert.equal(normaliseHost("127.0.0.1"), "127.0.0.1");
  assert.equal(normaliseHost("255.255.255.255"), "255.255.255.255");
  assert.equal(normaliseHost("0.0.0.0"), "0.0.0.0");
  for (
    const h of [
      "0x7f.1",
      "1.2.3",
      "010.0.0.1",
      "2130706433",
      "256.1.1.1",
      "1.2.3.4.5",
      "0x7f000001",
      "example.123",
      "1.2.3.04",
      "1.2.3.4.",
    ]
  ) {
    assert.match(reason(h), /IPv4|trailing dot/, h);
  }
  assert.match(reason("１.２.３.４"), /ASCII digits/);
  // Digits elsewhere are fine: only a numeric *last* label makes it an address.
  assert.equal(normaliseHost("123.example"), "123.example");
  assert.equal(normaliseHost("1e5"), "1e5");
});

Deno.test("host: every rejection class names why", () => {
  assert.match(reason(""), /empty/);
  assert.match(reason("*.example.com"), /wildcards are not allowed in v1/);
  assert.match(reason("a.*.com"), /wildcards/);
  assert.match(reason("https://example.com"), /is a URL/);
  assert.match(reason("HTTP://example.com"), /is a URL/);
  assert.match(reason("example.com/path"), /URL syntax/);
  assert.match(reason("user@example.com"), /URL syntax/);
  assert.match(reason("::1"), /IPv6/);
  assert.match(reason("[::1]"), /IPv6/);
  assert.match(reason("2001:db8::1"), /IPv6/);
  assert.match(reason("example.com:443"), /port field/);
  assert.match(reason("a b.com"), /whitespace/);
  assert.match(reason(" a.com"), /whitespace/);
  assert.match(reason("a\u00a0b.com"), /whitespace/);
  assert.match(reason("a\u200bb.com"), /whitespace/);
  assert.match(reason("a\u0000b.com"), /control/);
  assert.match(reason("a\u007fb.com"), /control/);
  assert.match(reason("a\u0085b.com"), /whitespace|control/);
  assert.match(reason("a..b"), /double dot/);
  assert.match(reason(".a.b"), /leading dot/);
  assert.match(reason("a.b."), /trailing dot/);
  assert.match(reason("ü..b"), /double dot/);
  assert.match(reason("a" + "b".repeat(63) + ".com"), /64 characters, more than 63/);
  assert.match(
    reason(("a".repeat(63) + ".").repeat(4).slice(0, 254)),
    /254 characters, more than 253/,
  );
  assert.match(reason("ü" + "b".repeat(70) + ".com"), /more than 63/);
  assert.match(reason("a_b.com"), /'_'/);
  assert.match(reason("exa%6dple.com"), /'%'/);
  assert.match(reason("xn--zz.com"), /UTS-46/);
  assert.equal(normaliseHost("a".repeat(63) + ".com"), "a".repeat(63) + ".com");
});

Deno.test("host: normaliseHost throws KarsError INPUT naming the entry", () => {
  assert.throws(
    () => normaliseHost("*.x.com"),
    (e: unknown) => isKarsError(e, "INPUT") && e.message.startsWith('host "*.x.com": wildcards'),
  );
  assert.throws(
    () => normaliseHost("a\u0007b"),
    (e: unknown) => isKarsError(e, "INPUT") && e.message.includes('"a\\u0007b"'),
  );
});

Deno.test("host: isCanonicalHost is true exactly for normaliser fixed points", () => {
  for (const h of ["api.github.com", "xn--bcher-kva.example", "10.0.0.1", "1e5", "a-"]) {
    assert.ok(isCanonicalHost(h), h);
    assert.equal(normaliseHost(h), h);
  }
  for (const h of ["API.github.com", "bücher.example", "1.2.3", "a..b", "", "xn--zz.com", "a b"]) {
    assert.ok(!isCanonicalHost(h), h);
  }
});

Deno.test("host: parseHostPort for --approve", () => {
  assert.deepEqual(parseHostPort("Example.COM"), { host: "example.com", port: 443 });
  assert.deepEqual(parseHostPort("example.com:8443"), { host: "example.com", port: 8443 });
  assert.deepEqual(parseHostPort("10.0.0.1:5432"), { host: "10.0.0.1", port: 5432 });
  assert.deepEqual(parseHostPort("bücher.example:1"), { host: "xn--bcher-kva.example", port: 1 });
  for (
    const url of ["https://example.com", "http://example.com:80/x", "example.com/path", "ftp://x"]
  ) {
    assert.throws(
      () => parseHostPort(url),
      (e: unknown) => isKarsError(e, "INPUT") && e.message.startsWith(NOT_A_URL_MESSAGE),
      url,
    );
  }
  assert.equal(NOT_A_URL_MESSAGE, "domain must be a bare host[:port], not a URL");
  for (
    const bad of [
      "example.com:0",
      "example.com:65536",
      "example.com:abc",
      "example.com:",
      "example.com:0443",
      ":443",
    ]
  ) {
    assert.throws(() => parseHostPort(bad), (e: unknown) => isKarsError(e, "INPUT"), bad);
  }
  assert.throws(() => parseHostPort("[::1]:443"), /IPv6/);
  assert.throws(() => parseHostPort("*.example.com"), /wildcards/);
});

Deno.test("host: quoteForMessage escapes invisible characters", () => {
  assert.equal(quoteForMessage("a\u007f\u200b\u00a0b"), '"a\\u007f\\u200b\\u00a0b"');
  assert.equal(quoteForMessage("bücher"), '"bücher"');
});
