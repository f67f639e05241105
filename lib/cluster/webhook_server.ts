/**
 * The admission webhook's HTTPS server (`POST /validate`, AdmissionReview v1) and its plain-HTTP
 * probe server (`/healthz`, `/readyz`, Prometheus `/metrics`) on a separate port. Built on
 * `node:https` / `node:http`, which Node and Deno both provide. The serving certificate is
 * re-read when its files change (polled) and swapped with `setSecureContext` without a
 * restart; a bad pair keeps the old one. {@link WebhookServer.close} shuts down gracefully:
 * `/readyz` turns 503, no new connections, in-flight reviews finish (bounded).
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import http from "node:http";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { stat } from "node:fs/promises";
import { KarsError } from "../errors.ts";
import type { AdmissionController } from "./admission.ts";
import type { WebhookMetrics } from "./metrics.ts";

/** A listen address. */
export interface ListenAddress {
  /** Host or IP to bind (`0.0.0.0` in a pod, `127.0.0.1` in tests). */
  host: string;
  /** Port (0: a free one). */
  port: number;
}

/** A structured log line (the caller serialises it as JSON). */
export type LogFn = (
  level: "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** Options of {@link startWebhookServer}. */
export interface WebhookServerOptions {
  /** Decides reviews. */
  controller: AdmissionController;
  /** Metrics. */
  metrics: WebhookMetrics;
  /** HTTPS address of `/validate`. */
  listen: ListenAddress;
  /** HTTP address of `/healthz`, `/readyz`, `/metrics` (absent: not served). */
  metricsListen?: ListenAddress;
  /** PEM files of the serving certificate (chain) and key. */
  tls: { certFile: string; keyFile: string; reloadIntervalMs?: number };
  /** Structured logs. */
  log: LogFn;
  /** Readiness beyond the server's own (e.g. the SignerPolicy has been read). */
  ready?: () => boolean;
  /** Largest request body (default 3 MiB, as the API server's limit). */
  maxBodyBytes?: number;
}

/** A running webhook. */
export interface WebhookServer {
  /** `https://host:port`. */
  url: string;
  /** `http://host:port` of the probe server, when there is one. */
  metricsUrl?: string;
  /** Checks the certificate files now; true when a new pair was loaded. */
  reloadTls(): Promise<boolean>;
  /** Graceful shutdown: in-flight reviews get up to `graceMs` (default 10 000). */
  close(graceMs?: number): Promise<void>;
}

async function readPair(o: WebhookServerOptions["tls"]) {
  let cert: Buffer;
  let key: Buffer;
  try {
    // PEM files of a serving certificate and key: bounded.
    [cert, key] = (await Promise.all([
      readFileBounded(o.certFile, { maxBytes: 1024 * 1024 }),
      readFileBounded(o.keyFile, { maxBytes: 1024 * 1024 }),
    ])).map((b) => Buffer.from(b));
  } catch (e) {
    throw new KarsError("INPUT", `TLS certificate or key cannot be read: ${(e as Error).message}`, {
      cause: e,
    });
  }
  // Checked here: a TLS stack may accept a broken pair and fail only at the next handshake.
  let matches = false;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw new KarsError(
      "INPUT",
      `TLS certificate ${o.certFile} or key ${o.keyFile} is not valid PEM: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (!matches) {
    throw new KarsError(
      "INPUT",
      `TLS key ${o.keyFile} does not belong to the certificate ${o.certFile}`,
    );
  }
  return { cert, key };
}

async function fingerprint(o: WebhookServerOptions["tls"]): Promise<string> {
  const [a, b] = await Promise.all([stat(o.certFile), stat(o.keyFile)]);
  return `${a.mtimeMs}:${a.size}:${a.ino}|${b.mtimeMs}:${b.size}:${b.ino}`;
}

function listenOn(server: http.Server, a: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(a.port, a.host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function hostForUrl(h: string): string {
  return h.includes(":") ? `[${h}]` : h;
}

/**
 * Starts the webhook (and its probe server).
 *
 * @example
 * ```ts
 * import { startWebhookServer } from "./webhook_server.ts";
 * // const srv = await startWebhookServer({ controller, metrics, listen: { host: "127.0.0.1", port: 0 },
 * //   tls: { certFile, keyFile }, log: () => {} });
 * // await srv.close();
 * ```
 */
export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const pair = await readPair(o.tls);
  let lastPrint = await fingerprint(o.tls);
  let closing = false;
  let inflight = 0;
  const maxBody = o.maxBodyBytes ?? 3 << 20;

  const send = (res: ServerResponse, code: number, body: string, type = "application/json") => {
    res.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/validate") return send(res, 404, JSON.stringify({ error: "not found" }));
    if (req.method !== "POST") return send(res, 405, JSON.stringify({ error: "use POST" }));
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of req) {
      n += (c as Uint8Array).length;
      if (n > maxBody) {
        o.metrics.admissions.inc({ result: "error", reason: "BodyTooLarge" });
        o.log("warn", "admission request too large", { bytes: n });
        return send(res, 413, JSON.stringify({ error: `body larger than ${maxBody} bytes` }));
      }
      chunks.push(c as Uint8Array);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      o.metrics.admissions.inc({ result: "error", reason: "BadRequest" });
      o.log("warn", "admission request is not JSON", {});
      return send(res, 400, JSON.stringify({ error: "the body is not JSON" }));
    }
    const out = await o.controller.review(body);
    o.metrics.admissions.inc({ result: out.result, reason: out.reason });
    if (out.cached) o.metrics.cacheHits.inc();
    if (out.verified && !out.cached) {
      o.metrics.cacheMisses.inc();
      if (out.verifyMs !== undefined) o.metrics.verifySeconds.observe(out.verifyMs / 1000);
    }
    o.log(out.result === "allowed" ? "info" : "warn", "admission", {
      uid: out.review?.response.uid,
      operation: out.operation,
      object: out.object,
      result: out.result,
      reason: out.reason,
      message: out.message,
      cached: out.cached,
      ...(out.verifyMs !== undefined ? { verifyMs: out.verifyMs } : {}),
    });
    if (!out.review) return send(res, 400, JSON.stringify({ error: out.message }));
    return send(res, 200, JSON.stringify(out.review));
  };

  const server = https.createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    inflight++;
    handle(req, res).catch((e) => {
      o.log("error", "admission handler failed", { error: String((e as Error)?.message ?? e) });
      try {
        send(res, 500, JSON.stringify({ error: "internal error" }));
      } catch { /* gone */ }
    }).finally(() => inflight--);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 30_000;
  const addr = await listenOn(server, o.listen);

  let probe: http.Server | undefined;
  let probeAddr: AddressInfo | undefined;
  if (o.metricsListen) {
    probe = http.createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/healthz") return send(res, 200, "ok\n", "text/plain");
      if (path === "/readyz") {
        const ok = !closing && (o.ready?.() ?? true);
        return send(res, ok ? 200 : 503, ok ? "ok\n" : "not ready\n", "text/plain");
      }
      if (path === "/metrics") {
        return send(res, 200, o.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
      }
      send(res, 404, "not found\n", "text/plain");
    });
    probe.headersTimeout = 10_000;
    probe.requestTimeout = 10_000;
    probeAddr = await listenOn(probe, o.metricsListen);
  }

  const reloadTls = async (): Promise<boolean> => {
    let print: string;
    try {
      print = await fingerprint(o.tls);
    } catch (e) {
      o.metrics.tlsReloads.inc({ outcome: "error" });
      o.log("error", "TLS files cannot be read; keeping the current certificate", {
        error: (e as Error).message,
      });
      return false;
    }
    if (print === lastPrint) return false;
    try {
      const p = await readPair(o.tls);
      server.setSecureContext({ cert: p.cert, key: p.key });
      lastPrint = print;
      o.metrics.tlsReloads.inc({ outcome: "ok" });
      o.log("info", "TLS certificate reloaded", {});
      return true;
    } catch (e) {
      o.metrics.tlsReloads.inc({ outcome: "error" });
      o.log("error", "TLS certificate reload failed; keeping the current one", {
        error: (e as Error).message,
      });
      return false;
    }
  };
  const every = o.tls.reloadIntervalMs ?? 10_000;
  let reloading = false;
  const timer = setInterval(() => {
    if (reloading) return;
    reloading = true;
    reloadTls().finally(() => (reloading = false));
  }, every);

  const close = async (graceMs = 10_000) => {
    if (closing) return;
    closing = true;
    clearInterval(timer);
    o.log("info", "shutting down", { inflight });
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections?.();
    const end = Date.now() + graceMs;
    while (inflight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    server.closeAllConnections?.();
    await closed;
    if (probe) {
      await new Promise<void>((resolve) => {
        probe!.close(() => resolve());
        probe!.closeAllConnections?.();
      });
    }
    o.log("info", "stopped", {});
  };

  return {
    url: `https://${hostForUrl(addr.address)}:${addr.port}`,
    ...(probeAddr
      ? { metricsUrl: `http://${hostForUrl(probeAddr.address)}:${probeAddr.port}` }
      : {}),
    reloadTls,
    close,
  };
}
