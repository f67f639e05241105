/**
 * The floor of a keyless run under Node, for `bench/floor.ts`: a client that does only what
 * no implementation of the run can skip — the same registry requests (`node:http`, keep-alive,
 * as the binary's transport; the blob uploads of a fresh run in parallel), the same P-256
 * operations with noble, and the confirming read's least delay — and nothing else: no YAML,
 * no canonical form, no parsing or checks, no Sigstore services. Bundled by `bench/floor.ts`
 * (`deno bundle`) and run by the `node` that becomes the binary. Not part of the package.
 *
 * `node floor_client.cjs PLAN.json REPOSITORY`; `{repo}` in the plan's paths is replaced by
 * REPOSITORY (a fresh run needs a repository of its own each time).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import process from "node:process";
import { p256 } from "@noble/curves/nist.js";

/** One step of a {@link FloorPlan}. */
export type FloorStep =
  | {
    kind: "request";
    method: string;
    path: string;
    /** Statuses accepted (default: any below 300). */
    expect?: number[];
    /** Body, hex, sent with `contentType`. */
    body?: string;
    contentType?: string;
    /** Index of an earlier step whose response body (and content type) this one sends. */
    bodyFrom?: number;
  }
  | {
    kind: "uploads";
    blobs: Array<{ digest: string; body: string }>;
    /** Key and signatures made while the uploads run (after a macrotask, as the binary does). */
    sign?: { keys: number; signatures: number };
  }
  | { kind: "sign"; keys: number; signatures: number }
  | { kind: "verify"; verifies: Array<{ pub: string; digest: string; sig: string }> }
  | { kind: "sleep"; ms: number };

/** What the client does, in order. */
export interface FloorPlan {
  /** `127.0.0.1:PORT`. */
  host: string;
  steps: FloorStep[];
}

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

interface Got {
  status: number;
  type: string;
  location: string;
  bytes: Uint8Array;
}

function sign(s: { keys: number; signatures: number }): void {
  // The cheapest base-point window for a few multiplications, as the binary uses for a
  // one-shot run (lib/cli/short_run.ts).
  p256.Point.BASE.precompute(3);
  let n = s.signatures;
  for (let k = 0; k < s.keys; k++) {
    const key = p256.utils.randomSecretKey();
    p256.getPublicKey(key);
    for (; n > 0; n--) {
      p256.sign(new Uint8Array(32).fill(n), key, { prehash: false, format: "der" });
    }
  }
}

async function main(): Promise<void> {
  const plan = JSON.parse(readFileSync(process.argv[2], "utf8")) as FloorPlan;
  const repo = process.argv[3] ?? "";
  const [hostname, port] = plan.host.split(":");
  const agent = new Agent({ keepAlive: true });
  const send = (method: string, path: string, body?: Uint8Array, type?: string) =>
    new Promise<Got>((resolve, reject) => {
      const req = request({
        hostname,
        port: Number(port),
        path: path.replaceAll("{repo}", repo),
        method,
        agent,
        headers: {
          accept: "application/vnd.oci.image.manifest.v1+json",
          ...(body
            ? {
              "content-type": type ?? "application/octet-stream",
              "content-length": String(body.length),
            }
            : method === "POST" || method === "PUT"
            ? { "content-length": "0" }
            : {}),
        },
      }, (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"] ?? ""),
            location: String(res.headers.location ?? ""),
            bytes: new Uint8Array(Buffer.concat(chunks)),
          }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body ? Buffer.from(body) : undefined);
    });
  const check = (g: Got, what: string, ok: (s: number) => boolean) => {
    if (!ok(g.status)) throw new Error(`${what}: ${g.status}`);
    return g;
  };
  const results: Got[] = [];
  for (const step of plan.steps) {
    switch (step.kind) {
      case "request": {
        const from = step.bodyFrom === undefined ? undefined : results[step.bodyFrom];
        const g = await send(
          step.method,
          step.path,
          from?.bytes ?? (step.body ? hex(step.body) : undefined),
          from?.type ?? step.contentType,
        );
        results.push(check(
          g,
          `${step.method} ${step.path}`,
          (s) => step.expect ? step.expect.includes(s) : s < 300,
        ));
        break;
      }
      case "uploads":
        await Promise.all([
          ...(step.sign ? [new Promise((r) => setTimeout(r, 0)).then(() => sign(step.sign!))] : []),
          ...step.blobs.map(async (b) => {
            const opened = check(
              await send("POST", "/v2/{repo}/blobs/uploads/"),
              "POST",
              (s) => s === 202,
            );
            const loc = new URL(opened.location, `http://${plan.host}`);
            loc.searchParams.set("digest", b.digest);
            check(
              await send("PUT", loc.pathname + loc.search, hex(b.body)),
              "PUT",
              (s) => s === 201,
            );
          }),
        ]);
        results.push({ status: 0, type: "", location: "", bytes: new Uint8Array() });
        break;
      case "sign": {
        sign(step);
        results.push({ status: 0, type: "", location: "", bytes: new Uint8Array() });
        break;
      }
      case "verify":
        for (const v of step.verifies) {
          const ok = p256.verify(hex(v.sig), hex(v.digest), hex(v.pub), {
            prehash: false,
            format: "der",
          });
          if (!ok) throw new Error("a verification failed");
        }
        results.push({ status: 0, type: "", location: "", bytes: new Uint8Array() });
        break;
      case "sleep":
        await new Promise((r) => setTimeout(r, step.ms));
        results.push({ status: 0, type: "", location: "", bytes: new Uint8Array() });
        break;
    }
  }
  agent.destroy();
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`floor client: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
