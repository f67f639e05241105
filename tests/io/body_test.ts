/**
 * Bounded body reads: the cap holds for announced and for streamed sizes, and a body is
 * never pulled further than cap + 1 bytes.
 */
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { readBody, readBodyPrefix, readBodyText } from "../../lib/io/body.ts";

/** An endless stream that counts the bytes pulled from it and whether it was cancelled. */
function endless(chunk = 1000) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      state.pulled += chunk;
      c.enqueue(new Uint8Array(chunk));
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

Deno.test("readBody: within the cap the bytes are returned whole", async () => {
  assert.equal(await readBodyText(new Response("hello"), { maxBytes: 5, what: "w" }), "hello");
  assert.equal((await readBody(new Response(null), { maxBytes: 0, what: "w" })).length, 0);
});

Deno.test("readBody: a Content-Length above the cap fails before reading", async () => {
  const { stream, state } = endless();
  const res = new Response(stream, { headers: { "content-length": String(10 * 1024 ** 3) } });
  await assert.rejects(
    () => readBody(res, { maxBytes: 4096, what: "r/a: fetch manifest x" }),
    (e) =>
      isKarsError(e, "REGISTRY") && e.details?.reason === "TooLarge" &&
      /^r\/a: fetch manifest x: .*larger than the limit of 4096 bytes \(Content-Length 10737418240\)/
        .test(e.message),
  );
  assert.equal(state.pulled, 0);
  assert.ok(state.cancelled);
});

Deno.test("readBody: an endless body is cancelled just past the cap; code and details as given", async () => {
  const { stream, state } = endless(1000);
  await assert.rejects(
    () =>
      readBody(new Response(stream), {
        maxBytes: 4500,
        what: "blob",
        details: { reason: "DigestMismatch" },
      }),
    (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
  );
  assert.equal(state.pulled, 5000);
  assert.ok(state.cancelled);
  const t = endless(10);
  await assert.rejects(
    () => readBody(new Response(t.stream), { maxBytes: 100, what: "token", code: "AUTH" }),
    (e) => isKarsError(e, "AUTH"),
  );
  assert.equal(t.state.pulled, 110);
});

Deno.test("readBody: a broken body is TRANSIENT naming what was read", async () => {
  const broken = new ReadableStream<Uint8Array>({
    pull(c) {
      c.error(new Error("connection reset"));
    },
  });
  await assert.rejects(
    () => readBody(new Response(broken), { maxBytes: 100, what: "r/a: fetch blob" }),
    (e) => isKarsError(e, "TRANSIENT") && /^r\/a: fetch blob: .*connection reset/.test(e.message),
  );
});

Deno.test("readBodyPrefix: takes at most maxBytes and cancels the rest", async () => {
  const { stream, state } = endless(300);
  const head = await readBodyPrefix(new Response(stream), 1000);
  assert.equal(head.length, 1000);
  assert.equal(state.pulled, 1200);
  assert.ok(state.cancelled);
  assert.equal(new TextDecoder().decode(await readBodyPrefix(new Response("abc"), 10)), "abc");
});

Deno.test("readBody: with an expected size the bytes land in one buffer; shorter and longer bodies too", async () => {
  const parts = (...xs: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const x of xs) c.enqueue(new TextEncoder().encode(x));
        c.close();
      },
    });
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  const exact = await readBody(new Response(parts("ab", "cd")), {
    maxBytes: 4,
    expectedBytes: 4,
    what: "w",
  });
  assert.equal(dec(exact), "abcd");
  assert.equal(exact.buffer.byteLength, 4);
  assert.equal(
    dec(await readBody(new Response(parts("ab")), { maxBytes: 4, expectedBytes: 4, what: "w" })),
    "ab",
  );
  assert.equal(
    dec(
      await readBody(new Response(parts("ab", "cd", "ef")), {
        maxBytes: 8,
        expectedBytes: 3,
        what: "w",
      }),
    ),
    "abcdef",
  );
  await assert.rejects(() =>
    readBody(new Response(parts("ab", "cd", "e")), { maxBytes: 4, expectedBytes: 4, what: "w" })
  );
});
