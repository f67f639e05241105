import assert from "assert";
import {
  describeInput,
  MAX_QUOTED_CHARS,
  quoteForMessage,
  sanitizeMessage,
} from "../../lib/encoding/quote.ts";
import { quoteForMessage as fromHost } from "../../lib/allowlist/host.ts";

Deno.test("quote: escapes control, format and invisible characters; JSON string syntax", () => {
  assert.equal(quoteForMessage("a\u007fb"), '"a\\u007fb"');
  assert.equal(quoteForMessage("\u001b[31mred"), '"\\u001b[31mred"');
  assert.equal(quoteForMessage("zero\u200bwidth\u2028line"), '"zero\\u200bwidth\\u2028line"');
  assert.equal(quoteForMessage("bidi\u202eevil"), '"bidi\\u202eevil"');
  assert.equal(quoteForMessage('q"b\\'), '"q\\"b\\\\"');
  assert.equal(fromHost, quoteForMessage, "host.ts re-exports the one helper");
});

Deno.test("quote: at most MAX_QUOTED_CHARS code points, never a split surrogate pair", () => {
  const long = "x".repeat(10_000);
  const q = quoteForMessage(long);
  assert.equal(q, `"${"x".repeat(MAX_QUOTED_CHARS)}"… (10000 characters)`);
  assert.equal(quoteForMessage("x".repeat(MAX_QUOTED_CHARS)), `"${"x".repeat(MAX_QUOTED_CHARS)}"`);
  const emoji = "😀".repeat(300);
  const e = quoteForMessage(emoji, 3);
  assert.equal(e, '"😀😀😀"… (600 characters)');
  // 4 MiB of control characters: bounded output, quickly.
  const ctl = "\u0001".repeat(4 * 1024 * 1024);
  const c = quoteForMessage(ctl);
  assert.ok(c.length < 6 * MAX_QUOTED_CHARS + 40, String(c.length));
});

Deno.test("quote: sanitizeMessage and describeInput", () => {
  assert.equal(sanitizeMessage("bad \u001b[2J token"), "bad \\u001b[2J token");
  assert.equal(sanitizeMessage('say "hi" \\ ok'), 'say "hi" \\ ok');
  assert.ok(sanitizeMessage("y".repeat(5000)).length < 600);
  assert.equal(describeInput("v2"), '"v2"');
  assert.equal(describeInput(3), "3");
  assert.equal(describeInput(null), "null");
  assert.equal(describeInput(undefined), "nothing");
  assert.equal(describeInput(new Array(1e6).fill(1)), "a list");
  assert.equal(describeInput({ a: 1 }), "a mapping");
});
