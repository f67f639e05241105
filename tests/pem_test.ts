import assert from "assert";
import { pemDecode, pemDecodeAll, pemEncode } from "../lib/encoding/pem.ts";

Deno.test("pem: encode wraps at 64 columns; decode finds every block in order", () => {
  const der = new Uint8Array(100).map((_, i) => i);
  const pem = pemEncode("CERTIFICATE", der);
  const lines = pem.trimEnd().split("\n");
  assert.equal(lines[0], "-----BEGIN CERTIFICATE-----");
  assert.equal(lines[1].length, 64);
  assert.ok(pem.endsWith("-----END CERTIFICATE-----\n"));
  const two = `junk\n${pem}between\n${pemEncode("PUBLIC KEY", new Uint8Array([9]))}`;
  const blocks = pemDecodeAll(two);
  assert.deepEqual(blocks.map((b) => b.label), ["CERTIFICATE", "PUBLIC KEY"]);
  assert.deepEqual(blocks[0].der, der);
  assert.deepEqual(pemDecode(two.replace(/\n/g, "\r\n"))?.der, der, "CRLF accepted");
  assert.equal(pemDecode("no pem here"), null);
  assert.equal(
    pemDecodeAll("-----BEGIN A-----\nAA==\n-----END B-----\n").length,
    0,
    "labels must match",
  );
  assert.throws(() => pemDecodeAll("-----BEGIN A-----\n!!!\n-----END A-----\n"), TypeError);
});
