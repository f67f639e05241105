import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import {
  checkRegistryAllowed,
  parseRegistryHost,
  unionRegistries,
} from "../../lib/oci/registry_host.ts";

Deno.test("parseRegistryHost: accepted forms, lower-cased", () => {
  const ok: [string, string][] = [
    ["myacr.azurecr.io", "myacr.azurecr.io"],
    ["MyACR.AzureCR.io", "myacr.azurecr.io"],
    ["127.0.0.1:5000", "127.0.0.1:5000"],
    ["localhost", "localhost"],
    ["localhost:65535", "localhost:65535"],
    ["ghcr.io", "ghcr.io"],
    ["docker.io", "docker.io"],
    ["a-b.c-d.example:1", "a-b.c-d.example:1"],
    ["[::1]", "[::1]"],
    ["[::1]:5000", "[::1]:5000"],
    ["[FE90::1]:443", "[fe90::1]:443"],
    ["[0:0:0:0:0:0:0:1]", "[::1]"],
    ["10.0.0.1", "10.0.0.1"],
    ["255.255.255.255:1", "255.255.255.255:1"],
  ];
  for (const [input, want] of ok) assert.equal(parseRegistryHost(input, "registry"), want, input);
});

Deno.test("parseRegistryHost: refuses userinfo, paths, queries, numeric tricks", () => {
  const bad: [string, RegExp][] = [
    ["myacr.azurecr.io:443@127.0.0.1:5101", /user information/],
    ["user:pw@r.io", /user information/],
    ["https://r.io", /scheme/],
    ["r.io/path", /path/],
    ["r.io\\path", /path/],
    ["r.io?x=1", /query/],
    ["r.io#frag", /fragment/],
    ["r.io ", /whitespace/],
    [" r.io", /whitespace/],
    ["r.io\t", /whitespace/],
    ["r.io\n", /whitespace/],
    ["r\u0000.io", /control/],
    ["r.io:", /port after ':' is empty/],
    [":5000", /host is empty/],
    ["", /empty/],
    ["r.io:0", /1 to 65535/],
    ["r.io:65536", /1 to 65535/],
    ["r.io:05000", /leading zeros/],
    ["r.io:50a", /1 to 65535/],
    ["r.io:1:2", /more than one ':'/],
    ["::1", /more than one ':'|empty/],
    ["[::1", /closing/],
    ["[::1]x", /after the IPv6/],
    ["[::1]:", /port after ':' is empty/],
    ["[zz::1]", /IPv6/],
    ["[1:2:3:4:5:6:7:8:9]", /IPv6/],
    ["r.io.", /empty label/],
    [".r.io", /empty label/],
    ["r..io", /empty label/],
    ["-r.io", /invalid host name/],
    ["r_x.io", /invalid host name/],
    ["bücher.example", /non-ASCII/],
    ["127.1", /dotted-decimal/],
    ["2130706433", /dotted-decimal/],
    ["0x7f.0.0.1", /dotted-decimal/],
    ["0x7f000001", /dotted-decimal/],
    ["127.000.000.001", /dotted-decimal/],
    ["256.0.0.1", /dotted-decimal/],
    ["1.2.3.4.5", /dotted-decimal/],
    ["a.0x10", /dotted-decimal/],
    ["a".repeat(64) + ".io", /invalid host name/],
    ["a.".repeat(130) + "io", /longer than 253|longer than 259/],
  ];
  for (const [input, re] of bad) {
    assert.throws(
      () => parseRegistryHost(input, "allowlistRef.registry"),
      (e) => {
        assert.ok(isKarsError(e, "INPUT"), `${input}: ${e}`);
        assert.match((e as Error).message, /^allowlistRef\.registry /, input);
        assert.match((e as Error).message, re, input);
        return true;
      },
      input,
    );
  }
  // Not a string at all.
  assert.throws(() => parseRegistryHost(5 as unknown as string, "x"), /not a string/);
});

Deno.test("parseRegistryHost: the message quotes at most 200 characters", () => {
  const long = "x".repeat(300) + "@evil";
  assert.throws(() => parseRegistryHost(long, "r"), (e) => {
    assert.ok((e as Error).message.length < 420, (e as Error).message);
    return true;
  });
});

Deno.test("checkRegistryAllowed: link-local and metadata are always refused", () => {
  const refused = [
    "169.254.169.254",
    "169.254.0.1:80",
    "169.254.255.255",
    "[fe80::1]",
    "[febf::1]:5000",
    "[::ffff:169.254.169.254]",
    "[::169.254.169.254]",
    "[fd00:ec2::254]",
    "100.100.100.200",
    "metadata.google.internal",
    "metadata.goog:80",
    "metadata",
    "instance-data",
  ];
  for (const h of refused) {
    const host = parseRegistryHost(h, "registry");
    const r = checkRegistryAllowed(host, undefined);
    assert.equal(r.ok, false, h);
    // Even when listed as allowed.
    assert.equal(checkRegistryAllowed(host, [host]).ok, false, h);
  }
  for (const h of ["169.253.1.1", "170.254.1.1", "[fec0::1]", "[fe7f::1]", "10.0.0.1"]) {
    assert.deepEqual(checkRegistryAllowed(parseRegistryHost(h, "r"), undefined), { ok: true }, h);
  }
});

Deno.test("checkRegistryAllowed: exact membership when a list is given", () => {
  const allowed = ["myacr.azurecr.io", "127.0.0.1:5000"];
  assert.deepEqual(checkRegistryAllowed("myacr.azurecr.io", allowed), { ok: true });
  assert.deepEqual(checkRegistryAllowed("127.0.0.1:5000", allowed), { ok: true });
  for (const h of ["evil.azurecr.io", "myacr.azurecr.io:443", "127.0.0.1:5001", "127.0.0.1"]) {
    const r = checkRegistryAllowed(h, allowed);
    assert.equal(r.ok, false, h);
    if (!r.ok) assert.match(r.why, /not among the allowed registries/);
  }
  // An empty list means no restriction (beyond the forbidden addresses).
  assert.deepEqual(checkRegistryAllowed("evil.example", []), { ok: true });
});

Deno.test("unionRegistries: parses and de-duplicates", () => {
  assert.deepEqual(
    unionRegistries([["A.example"], undefined, ["a.example", "b.example:5000"]], "x"),
    ["a.example", "b.example:5000"],
  );
  assert.throws(() => unionRegistries([["a@b"]], "allowed registry"), /^.*allowed registry/);
});
