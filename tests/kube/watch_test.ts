/**
 * lib/kube/watch.ts against the test API server: list-then-watch from the list's
 * resourceVersion, bookmarks advance the version, 410 Gone relists, a dropped connection
 * resumes without missing an update, non-transient errors end the stream.
 */
import assert from "assert";
import { startKubeApiServer } from "../support/kube_apiserver.ts";
import { loadKubeConfig } from "../../lib/kube/kubeconfig.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { listWatch, type ListWatchUpdate, type WatchRetry } from "../../lib/kube/watch.ts";
import { backoffDelay } from "../../lib/kube/backoff.ts";
import { closeTransports } from "../../lib/io/transport.ts";
import { isKarsError } from "../../lib/errors.ts";

type Sb = {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec?: unknown;
};

const sb = (name: string, namespace = "ns") => ({
  kind: "KarsSandbox",
  metadata: { name, namespace },
  spec: { networkPolicy: { egressMode: "Learn" } },
});
const PATH = "/apis/kars.azure.com/v1alpha1/namespaces/ns/karssandboxes";
const TARGET = { resource: "karssandboxes", group: "kars.azure.com", namespace: "ns" };

async function withWatch(
  opts: Parameters<typeof startKubeApiServer>[0],
  fn: (
    api: Awaited<ReturnType<typeof startKubeApiServer>>,
    next: () => Promise<ListWatchUpdate<Sb>>,
    retries: WatchRetry[],
  ) => Promise<void>,
  watchOpts: { fieldSelector?: string } = {},
) {
  const api = await startKubeApiServer(opts);
  const ac = new AbortController();
  const retries: WatchRetry[] = [];
  try {
    const client = new KubeClient(
      await loadKubeConfig({ kubeconfig: api.kubeconfigPath, env: {} }),
    );
    const it = listWatch<Sb>(client, {
      path: PATH,
      target: TARGET,
      signal: ac.signal,
      backoff: { initialMs: 10, maxMs: 50 },
      onRetry: (r) => retries.push(r),
      ...watchOpts,
    })[Symbol.asyncIterator]();
    const next = async () => {
      const t = setTimeout(() => ac.abort(new Error("test step timed out")), 10_000);
      try {
        const r = await it.next();
        assert.ok(!r.done, "the stream ended");
        return r.value as ListWatchUpdate<Sb>;
      } finally {
        clearTimeout(t);
      }
    };
    await fn(api, next, retries);
    ac.abort();
    await it.return?.(undefined);
  } finally {
    ac.abort();
    closeTransports();
    await api.stop();
  }
}

const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), "condition not reached");
};

Deno.test("listWatch: LIST, then WATCH from the list's resourceVersion with bookmarks", async () => {
  await withWatch({ objects: [sb("a"), sb("b")] }, async (api, next) => {
    const sync = await next();
    assert.equal(sync.type, "SYNC");
    if (sync.type !== "SYNC") return;
    assert.deepEqual(sync.items.map((i) => i.metadata.name), ["a", "b"]);
    const pending = next();
    await waitFor(() => api.openWatches === 1);
    const watch = api.requests.find((q) => q.path.includes("watch=1"))!;
    assert.match(watch.path, new RegExp(`resourceVersion=${sync.resourceVersion}&`));
    assert.match(watch.path, /allowWatchBookmarks=true/);
    assert.match(api.requests[0].path, /\?limit=500$/);
    api.mutate("ns", "b", (o) => ((o as { spec: unknown }).spec = { changed: true }));
    const ev = await pending;
    assert.equal(ev.type, "MODIFIED");
    if (ev.type === "SYNC") return;
    assert.equal(ev.object.metadata.name, "b");
    assert.deepEqual(ev.object.spec, { changed: true });
    assert.equal(ev.resourceVersion, api.resourceVersion);
  });
});

Deno.test("listWatch: field selector; other objects' events are not delivered", async () => {
  await withWatch({ objects: [sb("a"), sb("b")] }, async (api, next) => {
    const sync = await next();
    assert.equal(sync.type === "SYNC" && sync.items.length, 1);
    const pending = next();
    await waitFor(() => api.openWatches === 1);
    api.mutate("ns", "b", () => {});
    api.mutate("ns", "a", () => {});
    const ev = await pending;
    assert.equal(ev.type !== "SYNC" && ev.object.metadata.name, "a");
  }, { fieldSelector: "metadata.name=a" });
});

Deno.test("listWatch: bookmarks advance the resourceVersion, so a reconnect after compaction needs no relist", async () => {
  await withWatch(
    { objects: [sb("a"), sb("other", "elsewhere")], bookmarkIntervalMs: 0 },
    async (api, next, retries) => {
      await next();
      const pending = next();
      await waitFor(() => api.openWatches === 1);
      // Changes this watch does not see, then a bookmark carrying the newer version.
      for (let i = 0; i < 3; i++) api.mutate("elsewhere", "other", () => {});
      api.bookmark();
      await new Promise((r) => setTimeout(r, 100));
      api.compact();
      api.dropWatches();
      await waitFor(() => api.openWatches === 1 && retries.length > 0);
      api.mutate("ns", "a", (o) => ((o as { spec: unknown }).spec = { v: 2 }));
      const ev = await pending;
      assert.equal(ev.type, "MODIFIED");
      const lists = api.requests.filter((q) => !q.path.includes("watch="));
      assert.equal(lists.length, 1, "no relist: the bookmark's version was still in the history");
      assert.ok(retries.every((r) => r.action === "rewatch"));
    },
  );
});

Deno.test("listWatch: 410 Gone mid-watch relists and the change made meanwhile is in the SYNC", async () => {
  await withWatch({ objects: [sb("a")] }, async (api, next, retries) => {
    await next();
    const pending = next();
    await waitFor(() => api.openWatches === 1);
    // Watch expires (410 ERROR event); the change lands while the client backs off.
    api.expireWatches();
    api.mutate("ns", "a", (o) => ((o as { spec: unknown }).spec = { v: 2 }));
    let u = await pending;
    assert.equal(u.type, "SYNC", "relisted");
    if (u.type !== "SYNC") return;
    assert.deepEqual(u.items[0].spec, { v: 2 });
    assert.ok(retries.some((r) => r.action === "relist"));
    const pending2 = next();
    await waitFor(() => api.openWatches === 1);
    api.mutate("ns", "a", (o) => ((o as { spec: unknown }).spec = { v: 3 }));
    u = await pending2;
    assert.equal(u.type !== "SYNC" && JSON.stringify(u.object.spec), JSON.stringify({ v: 3 }));
  });
});

Deno.test("listWatch: a dropped connection resumes from the last resourceVersion without missing the update", async () => {
  await withWatch({ objects: [sb("a")] }, async (api, next, retries) => {
    await next();
    const pending = next();
    await waitFor(() => api.openWatches === 1);
    api.dropWatches();
    api.mutate("ns", "a", (o) => ((o as { spec: unknown }).spec = { v: 2 }));
    const u = await pending;
    assert.equal(u.type, "MODIFIED", "delivered from the history, no relist");
    assert.equal(u.type !== "SYNC" && JSON.stringify(u.object.spec), JSON.stringify({ v: 2 }));
    assert.ok(retries.some((r) => r.action === "rewatch" && r.error !== undefined));
    const watches = api.requests.filter((q) => q.path.includes("watch=1"));
    assert.equal(watches.length, 2);
    assert.equal(api.requests.filter((q) => !q.path.includes("watch=")).length, 1);
  });
});

Deno.test("listWatch: 403 on watch is not retried (AUTH names the verb)", async () => {
  await withWatch({ objects: [sb("a")], forbidden: [{ verb: "watch" }] }, async (_api, next) => {
    await next();
    await assert.rejects(next(), (e) => isKarsError(e, "AUTH") && /"watch"/.test(e.message));
  });
});

Deno.test("backoffDelay: exponential, capped, jittered within [1-j, 1]", () => {
  assert.equal(backoffDelay(0, { initialMs: 100, jitter: 0 }), 100);
  assert.equal(backoffDelay(3, { initialMs: 100, jitter: 0 }), 800);
  assert.equal(backoffDelay(50, { initialMs: 100, maxMs: 5000, jitter: 0 }), 5000);
  assert.equal(backoffDelay(2, { initialMs: 100, jitter: 0.5 }, () => 1), 200);
  assert.equal(backoffDelay(2, { initialMs: 100, jitter: 0.5 }, () => 0), 400);
});
