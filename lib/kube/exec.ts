/**
 * Kubernetes exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1`), as used
 * by `kubelogin` on AKS: the plugin runs via `node:child_process`, prints an `ExecCredential`
 * on stdout, and the credential is cached in memory until its `expirationTimestamp`.
 *
 * The credential never goes into process arguments, errors or logs: only the plugin's command
 * name and exit status are reported.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { isAbsolute, join } from "node:path";
import { KarsError } from "../errors.ts";
import { concatBytes, toBase64, utf8 } from "../encoding/bytes.ts";
import type { KubeAuth } from "./kubeconfig.ts";

/** The `users[].user.exec` block of a kubeconfig. */
export interface ExecConfig {
  /** `client.authentication.k8s.io/v1` or `client.authentication.k8s.io/v1beta1`. */
  apiVersion: string;
  /** Program to run (a relative path with a slash resolves against the kubeconfig's directory). */
  command: string;
  /** Arguments. */
  args?: string[];
  /** Extra environment variables. */
  env?: Array<{ name: string; value: string }> | null;
  /** Shown when the command cannot be found. */
  installHint?: string;
  /** Pass the cluster (server, CA) in `KUBERNETES_EXEC_INFO`. */
  provideClusterInfo?: boolean;
  /** `Never`, `IfAvailable` or `Always` (required for v1, defaults to `IfAvailable` for v1beta1). */
  interactiveMode?: "Never" | "IfAvailable" | "Always";
}

/** Options of {@link ExecCredentialProvider}. */
export interface ExecProviderOptions {
  /** Environment the plugin inherits (plus its own `env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stdin is a terminal. */
  stdinIsTTY: boolean;
  /** Directory of the kubeconfig that declared the plugin. */
  baseDir: string;
  /** Cluster info for `provideClusterInfo`. */
  cluster: { server: string; caPem?: string; insecureSkipTlsVerify: boolean };
  /** Names the kubeconfig entry in errors. */
  where: string;
}

const API_VERSIONS = new Set([
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
]);

/**
 * Runs an exec plugin on demand and caches its credential until it expires.
 *
 * @example
 * ```ts
 * import { ExecCredentialProvider } from "./exec.ts";
 * const p = new ExecCredentialProvider(
 *   { apiVersion: "client.authentication.k8s.io/v1", command: "kubelogin", args: ["get-token"], interactiveMode: "Never" },
 *   { env: {}, stdinIsTTY: false, baseDir: ".", cluster: { server: "https://k", insecureSkipTlsVerify: false }, where: "user x" },
 * );
 * // const { token } = await p.get();
 * ```
 */
export class ExecCredentialProvider {
  #cfg: ExecConfig;
  #o: ExecProviderOptions;
  #cached?: { auth: KubeAuth; expires?: number };
  #inflight?: Promise<KubeAuth>;
  /** How many times the plugin has been run (for diagnostics and tests). */
  runs = 0;

  /**
   * Validates the `exec` block; the plugin itself runs on the first {@link get}.
   *
   * @param cfg the kubeconfig `exec` block
   * @param o environment, terminal and cluster facts
   * @throws KarsError `INPUT` when the block is malformed
   */
  constructor(cfg: ExecConfig, o: ExecProviderOptions) {
    if (!cfg || typeof cfg.command !== "string" || !cfg.command) {
      throw new KarsError("INPUT", `${o.where}: exec.command is missing`);
    }
    if (!API_VERSIONS.has(cfg.apiVersion)) {
      throw new KarsError(
        "INPUT",
        `${o.where}: exec.apiVersion "${cfg.apiVersion}" is not supported (use client.authentication.k8s.io/v1 or v1beta1)`,
      );
    }
    const mode = cfg.interactiveMode;
    if (mode !== undefined && !["Never", "IfAvailable", "Always"].includes(mode)) {
      throw new KarsError(
        "INPUT",
        `${o.where}: exec.interactiveMode "${mode}" must be Never, IfAvailable or Always`,
      );
    }
    if (mode === undefined && cfg.apiVersion.endsWith("/v1")) {
      throw new KarsError(
        "INPUT",
        `${o.where}: exec.interactiveMode is required for client.authentication.k8s.io/v1`,
      );
    }
    this.#cfg = cfg;
    this.#o = o;
  }

  /** Returns the cached credential, or runs the plugin when there is none or it expired. */
  get(): Promise<KubeAuth> {
    const c = this.#cached;
    if (c && (c.expires === undefined || Date.now() < c.expires)) return Promise.resolve(c.auth);
    this.#inflight ??= this.#run().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  /** Drops the cached credential (the server answered 401). */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #run(): Promise<KubeAuth> {
    const cfg = this.#cfg;
    const mode = cfg.interactiveMode ?? "IfAvailable";
    const interactive = mode === "Always" || (mode === "IfAvailable" && this.#o.stdinIsTTY);
    if (mode === "Always" && !this.#o.stdinIsTTY) {
      throw new KarsError(
        "AUTH",
        `${this.#o.where}: exec plugin "${cfg.command}" needs an interactive terminal (interactiveMode: Always) but stdin is not a terminal`,
      );
    }
    const spec: Record<string, unknown> = { interactive };
    if (cfg.provideClusterInfo) {
      const cl = this.#o.cluster;
      spec.cluster = {
        server: cl.server,
        ...(cl.caPem ? { "certificate-authority-data": toBase64(utf8(cl.caPem)) } : {}),
        ...(cl.insecureSkipTlsVerify ? { "insecure-skip-tls-verify": true } : {}),
      };
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.#o.env)) if (v !== undefined) env[k] = v;
    for (const e of cfg.env ?? []) {
      if (e && typeof e.name === "string") env[e.name] = String(e.value ?? "");
    }
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion: cfg.apiVersion,
      kind: "ExecCredential",
      spec,
    });
    const command = cfg.command.includes("/") && !isAbsolute(cfg.command)
      ? join(this.#o.baseDir, cfg.command)
      : cfg.command;
    this.runs++;
    const out = await new Promise<string>((resolve, reject) => {
      let child;
      try {
        child = spawn(command, (cfg.args ?? []).map(String), {
          env,
          stdio: [interactive ? "inherit" : "ignore", "pipe", "inherit"],
        });
      } catch (e) {
        reject(e);
        return;
      }
      const chunks: Uint8Array[] = [];
      child.stdout!.on("data", (c: Uint8Array) => chunks.push(c));
      child.on("error", (e: Error & { code?: string }) => {
        const hint = cfg.installHint ? `\n${cfg.installHint}` : "";
        reject(
          new KarsError(
            "AUTH",
            e.code === "ENOENT"
              ? `${this.#o.where}: exec plugin "${cfg.command}" not found${hint}`
              : `${this.#o.where}: exec plugin "${cfg.command}" could not start: ${e.message}`,
            { cause: e },
          ),
        );
      });
      child.on("close", (code: number | null, signal: string | null) => {
        if (code !== 0) {
          reject(
            new KarsError(
              "AUTH",
              `${this.#o.where}: exec plugin "${cfg.command}" failed (${
                signal ? `signal ${signal}` : `exit status ${code}`
              }); run it by hand to see why`,
            ),
          );
          return;
        }
        resolve(new TextDecoder().decode(concatBytes(...chunks)));
      });
    });
    const auth = this.#parse(out);
    this.#cached = auth;
    return auth.auth;
  }

  #parse(out: string): { auth: KubeAuth; expires?: number } {
    const where = `${this.#o.where}: exec plugin "${this.#cfg.command}"`;
    // deno-lint-ignore no-explicit-any
    let cred: any;
    try {
      cred = JSON.parse(out);
    } catch {
      // Never echo the output: it may hold a credential.
      throw new KarsError("AUTH", `${where} did not print a JSON ExecCredential`);
    }
    if (cred?.kind !== "ExecCredential") {
      throw new KarsError("AUTH", `${where} printed kind "${cred?.kind}", not ExecCredential`);
    }
    if (cred.apiVersion !== this.#cfg.apiVersion) {
      throw new KarsError(
        "AUTH",
        `${where} answered with apiVersion "${cred.apiVersion}", but ${this.#cfg.apiVersion} was requested`,
      );
    }
    const st = cred.status ?? {};
    const auth: KubeAuth = {};
    if (typeof st.token === "string" && st.token) auth.token = st.token;
    if (st.clientCertificateData || st.clientKeyData) {
      if (typeof st.clientCertificateData !== "string" || typeof st.clientKeyData !== "string") {
        throw new KarsError(
          "AUTH",
          `${where} returned a client certificate without its key (or a key without its certificate)`,
        );
      }
      auth.clientCertPem = st.clientCertificateData;
      auth.clientKeyPem = st.clientKeyData;
    }
    if (!auth.token && !auth.clientCertPem) {
      throw new KarsError("AUTH", `${where} returned neither a token nor a client certificate`);
    }
    let expires: number | undefined;
    if (st.expirationTimestamp !== undefined && st.expirationTimestamp !== null) {
      expires = Date.parse(String(st.expirationTimestamp));
      if (!Number.isFinite(expires)) {
        throw new KarsError(
          "AUTH",
          `${where} returned an invalid expirationTimestamp (expected RFC 3339)`,
        );
      }
    }
    return { auth, expires };
  }
}
