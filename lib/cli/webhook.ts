/**
 * `kars webhook`: the validating admission webhook for KarsSandbox (lib/cluster/admission.ts
 * behind lib/cluster/webhook_server.ts), its SignerPolicy kept current (file re-read on change,
 * or the cluster's kars-signer-policy ConfigMap watched), JSON logs on stderr, graceful shutdown
 * on SIGTERM/SIGINT (through `node:process`, which Node and Deno both provide).
 *
 * @module
 */
import process from "node:process";
import { stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { KarsError } from "../errors.ts";
import { unionRegistries } from "../oci/registry_host.ts";
import { VerdictCache } from "../verify/cache.ts";
import { isPolicyError, type PolicyError, type SignerPolicy } from "../verify/policy.ts";
import { loadSignerPolicyAsync } from "../verify/policy_parse.ts";
import { resolveTrustedRoot } from "../verify/trust_source.ts";
import type { VerifyResult } from "../verify/result.ts";
import { AdmissionController } from "../cluster/admission.ts";
import { WebhookMetrics } from "../cluster/metrics.ts";
import { DEFAULT_POLICY_NAMESPACE, watchClusterSignerPolicy } from "../cluster/policy_source.ts";
import { TrustRootKeeper } from "../cluster/trust_refresh.ts";
import type { ListenAddress, LogFn } from "../cluster/webhook_server.ts";
import { backoffDelay, sleep } from "../kube/backoff.ts";
import { type CliContext, type Command, EXIT, type OptionValues } from "./command.ts";
import { kubeClientFromFlags, parseDuration } from "./cluster_common.ts";
import { allowlistTargets } from "./allowlist_targets.ts";
import { readFlagFile } from "./flag_file.ts";

const HELP = `kars webhook --listen ADDR --tls-cert FILE --tls-key FILE [flags]

A validating admission webhook for KarsSandbox CREATE/UPDATE (AdmissionReview v1 over HTTPS,
path /validate). It verifies spec.networkPolicy.allowlistRef with the same verifier as
kars egress verify and denies with the reason and the fix. UPDATEs that do not change the
ref are allowed without a registry round trip. The kars controller's predicted refusal is
added as a warning. Stateless: scale it by replicas.

  --listen ADDR            HTTPS address, host:port (":8443" binds every interface)
  --tls-cert FILE          serving certificate (PEM chain); re-read when it changes
  --tls-key FILE           its private key (PEM)
  --metrics-listen ADDR    HTTP address of /healthz, /readyz and /metrics (Prometheus)
  --signer-policy FILE     the SignerPolicy ConfigMap file (re-read on change); else the
                           cluster's kars-signer-policy ConfigMap in --policy-namespace,
                           watched, else the env fallback
  --policy-namespace NS    namespace of kars-signer-policy (default kars-system)
  --allowed-registry HOST  a registry allowlistRefs may name (repeatable; united with the
                           SignerPolicy's registries); others are denied (InvalidRef) with
                           no request. In-cluster an empty list is a start-up error.
  --require-ref            authoritative mode: deny a sandbox without allowlistRef once a
                           SignerPolicy is installed (one that predates it may be updated,
                           but not have its inline allowlist changed)
  --allow-on-error         allow (with a warning) when verification fails transiently;
                           default: deny (fail closed)
  --deadline T             answer within T (default 8s; keep it below the webhook's
                           timeoutSeconds, 10s in deploy/webhook)
  --trusted-root FILE      Sigstore trusted_root.json (default: embedded public-good root)
  --refresh-trusted-root   fetch the trusted root through TUF at start and every
                           --refresh-interval (default 24h); a failed refresh keeps the
                           current root
  --tuf-mirror URL         TUF mirror for --refresh-trusted-root
  --plain-http             talk HTTP to registries (automatic for localhost/127.0.0.1)
  --ca-file PATH           extra CA certificates (PEM) for registries
  --kubeconfig PATH, --context NAME   (default: in-cluster config)

Registry credentials: a mounted docker config ($DOCKER_CONFIG/config.json, from a
.dockerconfigjson Secret) and ACR workload identity, host-bound as everywhere else.
Logs: one JSON object per line on stderr. SIGTERM/SIGINT: graceful shutdown.
Exit codes: 0 after a graceful shutdown; 2 usage or start-up configuration error; 1 failure.
`;

/**
 * Parses `host:port`, `:port` (every interface) or `[v6]:port`.
 *
 * @example
 * ```ts
 * import { parseListenAddress } from "./webhook.ts";
 * parseListenAddress(":8443", "--listen"); // { host: "0.0.0.0", port: 8443 }
 * ```
 */
export function parseListenAddress(s: string, flag: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new KarsError(
      "USAGE",
      `${flag} ${JSON.stringify(s)} is not host:port (examples: :8443, 127.0.0.1:8443)`,
    );
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

function jsonLogger(ctx: CliContext): LogFn {
  return (level, msg, fields = {}) => {
    ctx.stderr(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n");
  };
}

/**
 * The `kars webhook` command.
 *
 * @example
 * ```ts
 * import { webhookCommand } from "./webhook.ts";
 * webhookCommand.path; // ["webhook"]
 * ```
 */
export const webhookCommand: Command = {
  path: ["webhook"],
  summary: "validating admission webhook for KarsSandbox (verifies allowlistRef)",
  help: HELP,
  options: {
    listen: { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "metrics-listen": { type: "string" },
    "signer-policy": { type: "string" },
    "policy-namespace": { type: "string" },
    "allowed-registry": { type: "string", multiple: true },
    "require-ref": { type: "boolean" },
    "allow-on-error": { type: "boolean" },
    deadline: { type: "string" },
    "trusted-root": { type: "string" },
    "refresh-trusted-root": { type: "boolean" },
    "tuf-mirror": { type: "string" },
    "refresh-interval": { type: "string" },
    "plain-http": { type: "boolean" },
    "ca-file": { type: "string" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
  },
  async run(values: OptionValues, positionals: string[], ctx: CliContext): Promise<number> {
    if (positionals.length > 0) {
      throw new KarsError("USAGE", `unexpected argument ${JSON.stringify(positionals[0])}`);
    }
    for (const f of ["listen", "tls-cert", "tls-key"]) {
      if (values[f] === undefined) throw new KarsError("USAGE", `missing --${f}`);
    }
    const listen = parseListenAddress(values.listen as string, "--listen");
    const metricsListen = values["metrics-listen"] === undefined
      ? undefined
      : parseListenAddress(values["metrics-listen"] as string, "--metrics-listen");
    const deadlineMs = values.deadline === undefined
      ? 8000
      : parseDuration(values.deadline as string, "--deadline");
    const abs = (p: string) => isAbsolute(p) ? p : join(ctx.cwd, p);
    const log = jsonLogger(ctx);
    const allowedFlag = unionRegistries(
      [(values["allowed-registry"] as string[] | undefined) ?? []],
      "--allowed-registry",
    );
    const refreshRoot = values["refresh-trusted-root"] === true;
    const trustSource = {
      file: values["trusted-root"] as string | undefined,
      refresh: refreshRoot,
      mirrorURL: values["tuf-mirror"] as string | undefined,
      cwd: ctx.cwd,
    };
    const refreshEvery = values["refresh-interval"] === undefined
      ? 86_400_000
      : parseDuration(values["refresh-interval"] as string, "--refresh-interval");
    if (values["refresh-interval"] !== undefined && !refreshRoot) {
      throw new KarsError("USAGE", "--refresh-interval only applies with --refresh-trusted-root");
    }
    const trust = new TrustRootKeeper(await resolveTrustedRoot(trustSource));
    const metrics = new WebhookMetrics();
    const stop = new AbortController();

    // The SignerPolicy, kept current.
    let policy: SignerPolicy | PolicyError | undefined;
    const setPolicy = (p: SignerPolicy | PolicyError, source: string) => {
      const changed = !policy || JSON.stringify(hashOf(policy)) !== JSON.stringify(hashOf(p));
      policy = p;
      metrics.policyReloads.inc({ source: source.split(" ")[0], outcome: "ok" });
      if (changed) {
        log("info", "SignerPolicy loaded", {
          source,
          ...(isPolicyError(p) ? { problem: p.reason } : { hash: p.hash }),
        });
      }
    };
    const policyFile = values["signer-policy"] as string | undefined;
    const background: Promise<void>[] = [];
    if (policyFile !== undefined) {
      const load = async () =>
        setPolicy(
          await loadSignerPolicyAsync({
            configMap: await readFlagFile(ctx, policyFile, "--signer-policy"),
            source: policyFile,
            env: ctx.env,
          }),
          `file ${policyFile}`,
        );
      await load();
      let print = await statPrint(abs(policyFile));
      background.push((async () => {
        while (!stop.signal.aborted) {
          await sleep(5000, stop.signal).catch(() => {});
          if (stop.signal.aborted) break;
          const now = await statPrint(abs(policyFile));
          if (now !== print) {
            print = now;
            await load().catch((e) =>
              log("error", "SignerPolicy reload failed", { error: e.message })
            );
          }
        }
      })());
    } else {
      const ns = (values["policy-namespace"] as string | undefined) ?? DEFAULT_POLICY_NAMESPACE;
      const { client } = await kubeClientFromFlags(values, ctx);
      let first: () => void = () => {};
      const loaded = new Promise<void>((r) => (first = r));
      background.push((async () => {
        for (let failures = 0; !stop.signal.aborted; failures++) {
          try {
            await watchClusterSignerPolicy(client, ns, ctx.env, (p) => {
              setPolicy(p.policy, p.source);
              first();
            }, { signal: stop.signal });
          } catch (e) {
            log("error", "watching the SignerPolicy ConfigMap failed", {
              namespace: ns,
              error: (e as Error).message,
            });
          }
          await sleep(backoffDelay(failures, { initialMs: 1000 }), stop.signal).catch(() => {});
        }
      })());
      const t = setTimeout(() => first(), 30_000);
      await loaded;
      clearTimeout(t);
      if (!policy) {
        stop.abort();
        throw new KarsError(
          "TRANSIENT",
          `the SignerPolicy ConfigMap ${ns}/kars-signer-policy could not be read within 30s`,
        );
      }
    }
    const current = () => policy!;
    const allowedNow = unionRegistries(
      [allowedFlag, isPolicyError(current()) ? undefined : (current() as SignerPolicy).registries],
      "allowed registry",
    );
    if (allowedNow.length === 0 && ctx.env.KUBERNETES_SERVICE_HOST) {
      stop.abort();
      throw new KarsError(
        "USAGE",
        "running in a cluster with no allowed registries: pass --allowed-registry HOST (or set registries in the SignerPolicy); an empty list is not 'allow all' here",
      );
    }
    // Host-bound credentials: the ACR token exchange only for the allowed registries.
    const openTarget = await allowlistTargets(ctx, {
      caFile: values["ca-file"] as string | undefined,
      plainHttp: values["plain-http"] === true,
      acrRegistries: allowedNow,
      // A verification that outlives the answer's deadline goes on to fill the cache, bounded.
      perTarget: () => ({ deadlineMs: 20_000, signal: AbortSignal.timeout(60_000) }),
    });
    const cache = new VerdictCache<VerifyResult>({ ttlMs: 600_000, maxEntries: 10_000 });
    if (refreshRoot) {
      background.push(trust.run({
        refresh: () => resolveTrustedRoot(trustSource),
        intervalMs: refreshEvery,
        signal: stop.signal,
        onChange: () => {
          cache.clear(); // frees the old root's entries (keys name the root, so none could answer)
          log("info", "trusted root refreshed", {});
        },
        onError: (e) =>
          log("warn", "trusted root refresh failed; keeping the current root", {
            error: (e as Error).message,
          }),
      }));
    }
    const controller = new AdmissionController({
      policy: current,
      trustedRoot: () => trust.current(),
      allowedRegistries: allowedFlag,
      openTarget,
      cache,
      requireRef: values["require-ref"] === true,
      allowOnError: values["allow-on-error"] === true,
      deadlineMs,
    });
    // Loaded on use: the HTTPS server stack stays out of every other command's start-up.
    const { startWebhookServer } = await import("../cluster/webhook_server.ts");
    const server = await startWebhookServer({
      controller,
      metrics,
      listen,
      ...(metricsListen ? { metricsListen } : {}),
      tls: {
        certFile: abs(values["tls-cert"] as string),
        keyFile: abs(values["tls-key"] as string),
      },
      log,
      ready: () => policy !== undefined,
    });
    log("info", "listening", {
      url: server.url,
      ...(server.metricsUrl ? { metrics: server.metricsUrl } : {}),
      requireRef: values["require-ref"] === true,
      allowOnError: values["allow-on-error"] === true,
      allowedRegistries: allowedNow,
      deadlineMs,
    });
    await new Promise<void>((resolve) => {
      const onSignal = (sig: string) => {
        log("info", "signal received", { signal: sig });
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        resolve();
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    });
    stop.abort();
    await server.close();
    await Promise.allSettled(background);
    return EXIT.OK;
  },
};

function hashOf(p: SignerPolicy | PolicyError): string {
  return isPolicyError(p) ? `${p.reason}:${p.message}` : p.hash;
}

async function statPrint(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return "absent";
  }
}
