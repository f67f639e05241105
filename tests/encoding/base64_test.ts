/**
 * base64 in lib/encoding/bytes.ts: `toBase64` and `fromBase64` take the runtime's native
 * `Uint8Array` base64 where there is one; they must answer exactly as the portable `btoa`/`atob`
 * forms they replaced (kept here as the oracle), for valid, URL-safe, padded, unpadded,
 * whitespace-bearing and invalid input alike.
 */
import assert from "assert";
import { fromBase64, toBase64 } from "../../lib/encoding/bytes.ts";
import { prng } from "../support/prng.ts";

/** The former portable implementations (the oracle). */
function oracleTo(b: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function oracleFrom(s: string): Uint8Array {
  const std = s.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(std) || std.replace(/=+$/, "").length % 4 === 1) {
    throw new TypeError("invalid base64 string");
  }
  const padded = std.replace(/=+$/, "");
  const bin = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function outcome(f: () => Uint8Array): string {
  try {
    return `ok ${Array.from(f()).join(",")}`;
  } catch (e) {
    return `throws ${(e as Error).constructor.name}`;
  }
}

Deno.test("toBase64 agrees with btoa for every length 0..1100 and a 100 KiB buffer", () => {
  const rnd = prng(15_2026);
  for (let n = 0; n <= 1100; n++) {
    const b = Uint8Array.from({ length: n }, () => rnd.int(256));
    assert.equal(toBase64(b), oracleTo(b), `length ${n}`);
  }
  const big = Uint8Array.from({ length: 100 * 1024 + 7 }, () => rnd.int(256));
  assert.equal(toBase64(big), oracleTo(big));
  // A view into a larger buffer encodes only its own bytes.
  assert.equal(toBase64(big.subarray(5, 17)), oracleTo(big.slice(5, 17)));
});

Deno.test("fromBase64 accepts and refuses exactly what the atob form did", () => {
  const rnd = prng(20261130);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const noise = ["=", "==", "-", "_", " ", "\n", "\t", "\u00a0", "\u2028", "*", "é", "===", "."];
  let accepted = 0, refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const n = rnd.int(24);
    let s = "";
    for (let j = 0; j < n; j++) {
      s += rnd.int(8) === 0 ? rnd.pick(noise) : alphabet[rnd.int(64)];
    }
    if (rnd.int(3) === 0) s += rnd.pick(["=", "==", "==="]);
    const want = outcome(() => oracleFrom(s));
    assert.equal(outcome(() => fromBase64(s)), want, JSON.stringify(s));
    if (want.startsWith("ok")) accepted++;
    else refused++;
  }
  // Both kinds were exercised in numbers.
  assert.ok(accepted > 2000 && refused > 2000, `accepted ${accepted}, refused ${refused}`);
  // Round trip, and the unused low bits of the last character are ignored by both forms.
  for (const [s, bytes] of [["QR==", [65]], ["QUJ=", [65, 66]], ["QQ", [65]], ["", []]] as const) {
    assert.deepEqual(Array.from(fromBase64(s)), bytes, s);
    assert.deepEqual(Array.from(oracleFrom(s)), bytes, s);
  }
  for (const s of ["Q", "Q===", "QQ=x", "Q Q = =", "QQ\u00a0=="]) {
    assert.equal(outcome(() => fromBase64(s)), outcome(() => oracleFrom(s)), JSON.stringify(s));
  }
});
