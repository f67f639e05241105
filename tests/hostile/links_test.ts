/**
 * A hostile registry's pagination `Link` header: followed only on the registry's own origin.
 * Another host (a credential or SSRF target) or a `file:` URL (Deno's fetch reads files) is
 * refused, never requested.
 */
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { LIST_LIMITS, nextLink } from "../../lib/oci/endpoint.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";

Deno.test("hostile Link: tag pagination never leaves the registry's origin", async () => {
  let elsewhereHits = 0;
  const elsewhere = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    elsewhereHits++;
    return new Response("{}");
  });
  const links = [
    `<http://127.0.0.1:${elsewhere.addr.port}/v2/a/b/tags/list?last=x>; rel="next"`,
    `<file:///etc/passwd>; rel="next"`,
    `<//127.0.0.1:${elsewhere.addr.port}/v2/a/b/tags/list>; rel="next"`,
  ];
  let link = links[0];
  const reg = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(JSON.stringify({ name: "a/b", tags: ["t1"] }), {
        headers: { "content-type": "application/json", link },
      }),
  );
  try {
    const target = new RegistryTarget({
      registry: `127.0.0.1:${reg.addr.port}`,
      repository: "a/b",
      plainHttp: true,
    });
    for (const l of links) {
      link = l;
      await assert.rejects(
        target.listTags(),
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "LinkOffOrigin",
        l,
      );
    }
    assert.equal(elsewhereHits, 0);
  } finally {
    await reg.shutdown();
    await elsewhere.shutdown();
  }
});

Deno.test("nextLink: same-origin links become paths; others are refused", () => {
  const base = "https://r.example/v2/a/tags/list?n=1";
  assert.equal(
    nextLink('</v2/a/tags/list?n=1&last=b>; rel="next"', base),
    "/v2/a/tags/list?n=1&last=b",
  );
  assert.equal(
    nextLink('<https://r.example/v2/a/tags/list?last=c>; rel="next"', base),
    "/v2/a/tags/list?last=c",
  );
  assert.equal(nextLink('</x>; rel="prev"', base), undefined);
  assert.equal(nextLink(null, base), undefined);
  for (
    const l of ["<https://evil.example/v2/a>", "<http://r.example/v2/a>", "<file:///etc/passwd>"]
  ) {
    assert.throws(() => nextLink(`${l}; rel="next"`, base), (e) => isKarsError(e, "REGISTRY"));
  }
  // Without a base URL (an injected fetch), only a path is followed.
  assert.equal(nextLink('</v2/a?last=b>; rel="next"', ""), "/v2/a?last=b");
  assert.throws(
    () => nextLink('<//evil.example/v2>; rel="next"', ""),
    (e) => isKarsError(e, "REGISTRY"),
  );
});

Deno.test("hostile Link: endless same-origin pagination is refused, not returned partially", async () => {
  let hits = 0;
  const reg = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    hits++;
    const last = new URL(req.url).searchParams.get("last") ?? "0";
    return new Response(JSON.stringify({ name: "a/b", tags: [`t${last}`] }), {
      headers: {
        "content-type": "application/json",
        link: `</v2/a/b/tags/list?last=${Number(last) + 1}>; rel="next"`,
      },
    });
  });
  try {
    const target = new RegistryTarget({
      registry: `127.0.0.1:${reg.addr.port}`,
      repository: "a/b",
      plainHttp: true,
    });
    await assert.rejects(
      target.listTags(),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "ListTooLong",
    );
    assert.equal(hits, LIST_LIMITS.pages);
  } finally {
    await reg.shutdown();
  }
});

Deno.test("nextLink: a path that a resolver would read as another host is refused", () => {
  const base = "https://r.example/v2/a/tags/list?n=1";
  for (
    const l of [
      "<https://r.example//evil.com/v2/x>",
      "</\\evil.com/v2/x>",
      "<//evil.com/v2/x>",
      "<\\\\evil.com/v2/x>",
      "</.//evil.com/v2/x>",
    ]
  ) {
    for (const b of [base, ""]) {
      assert.throws(
        () => nextLink(`${l}; rel="next"`, b),
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "LinkOffOrigin",
        `${l} against ${JSON.stringify(b)}`,
      );
    }
  }
  // Relative links resolve against the request's URL.
  assert.equal(nextLink('<list?last=d>; rel="next"', base), "/v2/a/tags/list?last=d");
});

Deno.test("RegistryClient.url: a non-absolute reference never resolves to another origin", () => {
  const client = new RegistryClient({ registry: "r.example" });
  for (const p of ["//evil.com/v2/x", "/\\evil.com/v2/x", "\\\\evil.com/v2/x", "\t//evil.com/x"]) {
    assert.throws(
      () => client.url(p),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "LinkOffOrigin",
      p,
    );
  }
  assert.equal(client.url("/v2/a/tags/list?n=1").href, "https://r.example/v2/a/tags/list?n=1");
  // An absolute URL (an upload Location on a storage host) is taken as it is.
  assert.equal(client.url("https://storage.example/u?x=1").href, "https://storage.example/u?x=1");
});

/** A registry on 127.0.0.1 whose tag pages link with `link(page, origin)`; two pages at most. */
async function pagedTags(
  link: (page: number, origin: string) => string | undefined,
  body: (target: RegistryTarget) => Promise<void>,
): Promise<void> {
  const reg = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    const page = Number(u.searchParams.get("page") ?? "0");
    const headers = new Headers({ "content-type": "application/json" });
    const l = link(page, u.origin);
    if (l !== undefined) headers.set("link", l);
    return new Response(JSON.stringify({ name: "a/b", tags: [`t${page}`] }), { headers });
  });
  try {
    await body(
      new RegistryTarget({
        registry: `127.0.0.1:${reg.addr.port}`,
        repository: "a/b",
        plainHttp: true,
      }),
    );
  } finally {
    await reg.shutdown();
  }
}

Deno.test("hostile Link: a //host path or /\\host reference never reaches the other host", async () => {
  let elsewhereHits = 0;
  const elsewhere = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    elsewhereHits++;
    return new Response(JSON.stringify({ name: "a/b", tags: [] }), {
      headers: { "content-type": "application/json" },
    });
  });
  const other = `127.0.0.1:${elsewhere.addr.port}`;
  try {
    for (
      const make of [
        (origin: string) => `<${origin}//${other}/v2/a/b/tags/list>; rel="next"`,
        () => `</\\${other}/v2/a/b/tags/list>; rel="next"`,
      ]
    ) {
      await pagedTags((page, origin) => page === 0 ? make(origin) : undefined, async (target) => {
        await assert.rejects(
          target.listTags(),
          (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "LinkOffOrigin",
        );
      });
    }
    assert.equal(elsewhereHits, 0);
  } finally {
    await elsewhere.shutdown();
  }
});

Deno.test("Link: an absolute same-origin link and a relative one are followed", async () => {
  await pagedTags(
    (page, origin) => page === 0 ? `<${origin}/v2/a/b/tags/list?page=1>; rel="next"` : undefined,
    async (target) => assert.deepEqual(await target.listTags(), ["t0", "t1"]),
  );
  await pagedTags(
    (page) => page === 0 ? `<list?page=1>; rel="next"` : undefined,
    async (target) => assert.deepEqual(await target.listTags(), ["t0", "t1"]),
  );
});

/** A registry on 127.0.0.1 whose tag list answers `body` (one page, no Link). */
async function tagListBody(body: string, fn: (target: RegistryTarget) => Promise<void>) {
  const reg = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body, { headers: { "content-type": "application/json" } }),
  );
  try {
    await fn(
      new RegistryTarget({
        registry: `127.0.0.1:${reg.addr.port}`,
        repository: "a/b",
        plainHttp: true,
      }),
    );
  } finally {
    await reg.shutdown();
  }
}

Deno.test("hostile tag list: one page past the entry limit is ListTooLong, not a stack overflow", async () => {
  const tags = Array.from({ length: 2 * LIST_LIMITS.entries }, (_, i) => `t${i}`);
  await tagListBody(JSON.stringify({ name: "a/b", tags }), async (target) => {
    await assert.rejects(
      target.listTags(),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "ListTooLong",
    );
  });
  // Exactly the limit in one page is read whole.
  const full = tags.slice(0, LIST_LIMITS.entries);
  await tagListBody(JSON.stringify({ name: "a/b", tags: full }), async (target) => {
    assert.deepEqual(await target.listTags(), full);
  });
});

Deno.test("hostile tag list: tags that are not a list of strings are refused", async () => {
  for (
    const body of [
      '{"name":"a/b","tags":"abc"}',
      '{"name":"a/b","tags":["t1",2]}',
      '{"name":"a/b","tags":[{"t":1}]}',
      '{"name":"a/b","tags":{"length":1,"0":"t"}}',
      '["t1"]',
      "null",
    ]
  ) {
    await tagListBody(body, async (target) => {
      await assert.rejects(
        target.listTags(),
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "MalformedTagList",
        body,
      );
    });
  }
  // null or absent tags: no tags.
  await tagListBody(
    '{"name":"a/b","tags":null}',
    async (t) => assert.deepEqual(await t.listTags(), []),
  );
  await tagListBody('{"name":"a/b"}', async (t) => assert.deepEqual(await t.listTags(), []));
});
