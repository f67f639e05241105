/**
 * Structured concurrency: sibling requests of one operation are aborted on the first failure
 * and awaited before the operation reports (the cause of the once-flaky token-auth test: an
 * anonymous push's second upload kept running, and its token request reached the token
 * server after the push had already failed).
 */
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { parallel, parallelMap } from "../../lib/io/concurrency.ts";
import { copy, pushArtifact } from "../../lib/oci/copy.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { allowlistArtifact } from "../support/oci_fixtures.ts";

Deno.test("parallelMap: the first failure aborts the siblings and awaits them before throwing", async () => {
  const settled: string[] = [];
  const err = new Error("first");
  await assert.rejects(
    () =>
      parallelMap(["fail", "slow", "slow2"], 3, async (kind, signal) => {
        try {
          if (kind === "fail") {
            await Promise.resolve();
            throw err;
          }
          await new Promise<void>((_, reject) => {
            if (signal.aborted) reject(signal.reason);
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
        } finally {
          settled.push(kind);
        }
      }),
    (e) => e === err,
  );
  // Every task had settled before the rejection was seen.
  assert.deepEqual([...settled].sort(), ["fail", "slow", "slow2"]);
});

Deno.test("parallelMap: bounded concurrency, results in order, no task started after a failure", async () => {
  let running = 0, peak = 0;
  const out = await parallelMap([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 1));
    running--;
    return n * 2;
  });
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12, 14]);
  assert.equal(peak, 3);

  const started: number[] = [];
  await assert.rejects(() =>
    parallelMap([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await Promise.resolve();
      if (n === 1) throw new Error("boom");
    })
  );
  assert.ok(started.length <= 3, `started after the failure: ${started.join(",")}`);
});

Deno.test("parallelMap: a parent signal stops it; parallel runs all at once", async () => {
  const ac = new AbortController();
  ac.abort(new Error("parent gone"));
  let ran = 0;
  await assert.rejects(
    () => parallelMap([1, 2], 2, () => Promise.resolve(ran++), { signal: ac.signal }),
    (e) => e instanceof Error && e.message === "parent gone",
  );
  assert.equal(ran, 0);
  assert.deepEqual(await parallel([() => Promise.resolve("a"), () => Promise.resolve("b")]), [
    "a",
    "b",
  ]);
  assert.deepEqual(await parallelMap([], 4, () => Promise.resolve(1)), []);
});

/**
 * A registry `fetch` whose first blob upload is refused (403) once the second has started,
 * and whose second upload hangs until its request is aborted. Counts requests in flight.
 */
function refusingRegistry() {
  const state = { inFlight: 0, calls: [] as string[], siblingAborted: false };
  const done = new AbortController();
  let secondStarted!: () => void;
  const started = new Promise<void>((r) => (secondStarted = r));
  let posts = 0;
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? "GET";
    state.calls.push(`${method} ${url.pathname}`);
    state.inFlight++;
    try {
      if (method === "HEAD") return new Response(null, { status: 404 });
      if (method === "POST" && url.pathname.endsWith("/blobs/uploads/")) {
        const n = ++posts;
        if (n === 1) {
          await started;
          return new Response(
            JSON.stringify({ errors: [{ code: "DENIED", message: "push refused" }] }),
            { status: 403, headers: { "content-type": "application/json" } },
          );
        }
        secondStarted();
        return await new Promise<Response>((_, reject) => {
          const sig = init?.signal;
          const abort = () => {
            state.siblingAborted = true;
            reject(sig?.reason ?? new Error("aborted"));
          };
          if (sig?.aborted) return abort();
          sig?.addEventListener("abort", abort, { once: true });
          done.signal.addEventListener("abort", () => reject(new Error("test over")), {
            once: true,
          });
        });
      }
      return new Response(null, { status: 500 });
    } finally {
      state.inFlight--;
    }
  }) as typeof fetch;
  return { fetch: f, state, close: () => done.abort() };
}

Deno.test("pushArtifact: a refused upload aborts the sibling upload and awaits it before throwing", async () => {
  const reg = refusingRegistry();
  try {
    const t = new RegistryTarget({
      registry: "127.0.0.1:9",
      repository: "policy/egress-allowlist/sc",
      fetch: reg.fetch,
    });
    await assert.rejects(
      () => pushArtifact(t, allowlistArtifact("sc\n"), { tags: ["latest"] }),
      (e) => isKarsError(e, "AUTH") && /push refused/.test(e.message),
    );
    assert.equal(reg.state.inFlight, 0, "a sibling request was still running");
    assert.ok(reg.state.siblingAborted, "the sibling upload was not aborted");
    const calls = reg.state.calls.length;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(reg.state.calls.length, calls, "a request was made after the push failed");
  } finally {
    reg.close();
  }
});

Deno.test("copy: a refused upload aborts the sibling transfer and awaits it before throwing", async () => {
  const reg = refusingRegistry();
  try {
    const src = new MemoryTarget();
    const a = allowlistArtifact("copy sc\n");
    await pushArtifact(src, a, { tags: ["latest"] });
    const dst = new RegistryTarget({
      registry: "127.0.0.1:9",
      repository: "policy/egress-allowlist/sc",
      fetch: reg.fetch,
    });
    await assert.rejects(
      () => copy(src, dst, "latest"),
      (e) => isKarsError(e, "AUTH"),
    );
    assert.equal(reg.state.inFlight, 0, "a sibling request was still running");
    assert.ok(reg.state.siblingAborted, "the sibling upload was not aborted");
  } finally {
    reg.close();
  }
});

Deno.test("sibling uploads whose token is refused share one token refresh", async () => {
  let tokens = 0;
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? "GET";
    if (url.pathname === "/token") {
      tokens++;
      await new Promise((r) => setTimeout(r, 5));
      return Response.json({ token: `T${tokens}`, expires_in: 300 });
    }
    const auth = new Headers(init?.headers).get("authorization") ?? "";
    // The first token only reads: uploads with it are refused, as a registry does when the
    // token lacks the push scope.
    const ok = auth.startsWith("Bearer T") && !(method === "POST" && auth === "Bearer T1");
    if (!ok) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="http://127.0.0.1:9/token",service="s"' },
      });
    }
    if (method === "HEAD") return new Response(null, { status: 404 });
    if (method === "POST") {
      return new Response(null, {
        status: 202,
        headers: { location: `/v2/a/b/blobs/uploads/${crypto.randomUUID()}` },
      });
    }
    if (method === "PUT") {
      const d = url.searchParams.get("digest");
      return new Response(null, {
        status: 201,
        headers: d ? { "docker-content-digest": d } : {},
      });
    }
    return new Response(null, { status: 500 });
  }) as typeof fetch;
  const t = new RegistryTarget({ registry: "127.0.0.1:9", repository: "a/b", fetch: f });
  const a = allowlistArtifact("token refresh\n");
  assert.equal((await pushArtifact(t, a, { tags: ["latest"] })).digest, a.digest);
  // T1 (for the HEAD of the tag), then one shared refresh for both refused uploads.
  assert.equal(tokens, 2);
});
