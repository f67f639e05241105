/**
 * Kubeconfig loading as `kubectl` does it: an explicit kubeconfig file, else `KUBECONFIG`
 * (several files, merged with the first file winning per map key), else `~/.kube/config`, else
 * the in-cluster service-account config; an explicit context or `current-context`; the
 * context's namespace; the
 * server CA (`certificate-authority`, `certificate-authority-data`, `insecure-skip-tls-verify`);
 * credentials (`token`, `tokenFile`, client certificate and key as data or files, exec plugins).
 *
 * Relative paths in a file resolve against that file's directory. The environment is passed
 * in as an object; nothing here reads `Deno.*`.
 *
 * @module
 */
import { delimiter, dirname, join, resolve } from "node:path";
import { KarsError } from "../errors.ts";
import { readInputText } from "../encoding/yaml_read.ts";
import { type ExecConfig, ExecCredentialProvider } from "./exec.ts";
import {
  type KubeconfigEntry,
  type KubeconfigFile,
  mergeKubeconfigFiles,
  parseKubeconfigFile,
  pemFromEntry,
  readIfExists,
  resolveFrom,
} from "./kubeconfig_file.ts";

/** Default paths of the in-cluster service-account files. */
export const IN_CLUSTER_PATHS = {
  token: "/var/run/secrets/kubernetes.io/serviceaccount/token",
  ca: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
  namespace: "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
} as const;

/** What a request needs for authentication. Secrets: never log or print these. */
export interface KubeAuth {
  /** Bearer token. */
  token?: string;
  /** PEM client certificate. */
  clientCertPem?: string;
  /** PEM client key. */
  clientKeyPem?: string;
}

/** Supplies credentials per request (tokens from files and exec plugins may change). */
export interface KubeAuthProvider {
  /** Current credentials. */
  get(): Promise<KubeAuth>;
  /** Forget cached credentials (after a 401), so the next `get` refreshes them. */
  invalidate(): void;
}

/** A resolved connection: one cluster, one user, one namespace. */
export interface KubeConfig {
  /** API server base URL, without trailing slash. */
  server: string;
  /** Context name, or `"in-cluster"`. */
  contextName: string;
  /** Cluster entry name (empty in-cluster). */
  clusterName: string;
  /** Namespace of the context (or the service account's), if any. */
  namespace?: string;
  /** PEM CA for the server. */
  caPem?: string;
  /** `insecure-skip-tls-verify`. */
  insecureSkipTlsVerify: boolean;
  /** TLS server name override (`tls-server-name`); informational, not applied by the transport. */
  tlsServerName?: string;
  /** Credentials. */
  auth: KubeAuthProvider;
  /** Where the config came from: file paths, or `"in-cluster"`. */
  source: string[];
}

/** Inputs of {@link loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** An explicit kubeconfig file: only this file is read, and it must exist. */
  kubeconfig?: string;
  /** The context to use (default: the kubeconfig's `current-context`). */
  context?: string;
  /** The process environment (`KUBECONFIG`, `HOME`, `KUBERNETES_SERVICE_HOST`/`_PORT`, ...). */
  env: Readonly<Record<string, string | undefined>>;
  /** Working directory for relative `kubeconfig`/`KUBECONFIG` entries. */
  cwd?: string;
  /** Whether stdin is a terminal (exec plugins' `interactiveMode`). Default false. */
  stdinIsTTY?: boolean;
  /** In-cluster file paths (tests inject temp files). */
  inClusterPaths?: { token: string; ca: string; namespace: string };
  /** Reads a file as text (defaults to `node:fs/promises`). */
  readFile?: (path: string) => Promise<string>;
}

/** Bounded read (the 4 MiB input cap of the YAML reader). */
const defaultRead = (p: string) => readInputText(p);

/** Reads a token file on every call (projected service-account tokens rotate). */
function tokenFileProvider(path: string, read: (p: string) => Promise<string>): KubeAuthProvider {
  return {
    async get() {
      const t = await readIfExists(read, path);
      if (t === undefined) throw new KarsError("AUTH", `token file ${path} does not exist`);
      const token = t.trim();
      if (!token) throw new KarsError("AUTH", `token file ${path} is empty`);
      return { token };
    },
    invalidate() {},
  };
}

function staticProvider(a: KubeAuth): KubeAuthProvider {
  return { get: () => Promise.resolve({ ...a }), invalidate() {} };
}

/**
 * Loads and resolves a kubeconfig the way kubectl does.
 *
 * @throws KarsError `INPUT` (malformed file, unknown context/cluster/user), `FILE` (a referenced
 * file is missing), `KUBE` (no configuration at all).
 *
 * @example
 * ```ts
 * import { loadKubeConfig } from "./kubeconfig.ts";
 * const cfg = await loadKubeConfig({ env: { KUBECONFIG: "/tmp/a.yaml:/tmp/b.yaml" } });
 * console.log(cfg.server, cfg.namespace);
 * ```
 */
export async function loadKubeConfig(opts: LoadKubeConfigOptions): Promise<KubeConfig> {
  const read = opts.readFile ?? defaultRead;
  const cwd = opts.cwd ?? ".";
  const env = opts.env;
  let paths: string[];
  let explicit = false;
  if (opts.kubeconfig) {
    paths = [resolve(cwd, opts.kubeconfig)];
    explicit = true;
  } else if (env.KUBECONFIG) {
    paths = env.KUBECONFIG.split(delimiter).filter((p) => p.trim() !== "").map((p) =>
      resolve(cwd, p)
    );
    paths = [...new Set(paths)];
  } else if (env.HOME || env.USERPROFILE) {
    paths = [join((env.HOME ?? env.USERPROFILE)!, ".kube", "config")];
  } else {
    paths = [];
  }
  const files: KubeconfigFile[] = [];
  for (const p of paths) {
    const t = await readIfExists(read, p);
    if (t === undefined) {
      if (explicit) {
        throw new KarsError("INPUT", `kubeconfig ${p} does not exist`, {
          details: { option: "kubeconfig" },
        });
      }
      continue;
    }
    files.push(parseKubeconfigFile(t, p));
  }
  const merged = mergeKubeconfigFiles(files);
  const empty = merged.contexts.size === 0 && merged.clusters.size === 0 && !opts.context;
  if (empty && !explicit && env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    return await inCluster(opts, read);
  }
  if (files.length === 0) {
    throw new KarsError(
      "KUBE",
      `no kubeconfig found (looked at ${
        paths.length ? paths.join(", ") : "nothing: HOME unset"
      }) ` +
        "and not running in a cluster; name a kubeconfig file or set KUBECONFIG",
      { details: { fixOptions: ["kubeconfig"] } },
    );
  }
  const ctxName = opts.context ?? merged.currentContext;
  if (!ctxName) {
    throw new KarsError(
      "INPUT",
      `kubeconfig ${merged.path} has no current-context; choose a context (known: ${
        [...merged.contexts.keys()].join(", ") || "none"
      })`,
      { details: { fixOptions: ["context"] } },
    );
  }
  const ctx = merged.contexts.get(ctxName);
  if (!ctx) {
    throw new KarsError(
      "INPUT",
      `context "${ctxName}" not found in kubeconfig ${merged.path} (known: ${
        [...merged.contexts.keys()].join(", ") || "none"
      })`,
      { details: opts.context ? { option: "context" } : { fixOptions: ["context"] } },
    );
  }
  const clusterName = typeof ctx.cluster === "string" ? ctx.cluster : "";
  const cluster = merged.clusters.get(clusterName);
  if (!cluster) {
    throw new KarsError(
      "INPUT",
      `context "${ctxName}" refers to cluster "${clusterName}", which is not in kubeconfig ${merged.path}`,
    );
  }
  if (typeof cluster.server !== "string" || !/^https?:\/\//.test(cluster.server)) {
    throw new KarsError(
      "INPUT",
      `kubeconfig ${cluster.__file}: cluster "${clusterName}" has no valid server URL`,
    );
  }
  const userName = typeof ctx.user === "string" ? ctx.user : "";
  const user = userName ? merged.users.get(userName) : {};
  if (userName && !user) {
    throw new KarsError(
      "INPUT",
      `context "${ctxName}" refers to user "${userName}", which is not in kubeconfig ${merged.path}`,
    );
  }
  if (typeof cluster["proxy-url"] === "string" && cluster["proxy-url"]) {
    throw new KarsError(
      "UNAVAILABLE",
      `kubeconfig ${cluster.__file}: cluster "${clusterName}" sets proxy-url, which kars does not support; set HTTPS_PROXY in the environment instead (Deno's fetch honours it)`,
    );
  }
  const insecure = cluster["insecure-skip-tls-verify"] === true;
  const caPem = await pemFromEntry(
    cluster,
    "certificate-authority-data",
    "certificate-authority",
    read,
  );
  if (insecure && caPem) {
    throw new KarsError(
      "INPUT",
      `kubeconfig ${cluster.__file}: cluster "${clusterName}" sets both a certificate authority and insecure-skip-tls-verify (kubectl refuses this too); remove one`,
    );
  }
  const auth = await userAuth(user ?? {}, userName, {
    read,
    env,
    stdinIsTTY: opts.stdinIsTTY ?? false,
    server: cluster.server,
    caPem,
    insecure,
  });
  return {
    server: cluster.server.replace(/\/+$/, ""),
    contextName: ctxName,
    clusterName,
    namespace: typeof ctx.namespace === "string" && ctx.namespace ? ctx.namespace : undefined,
    caPem,
    insecureSkipTlsVerify: insecure,
    tlsServerName: typeof cluster["tls-server-name"] === "string"
      ? cluster["tls-server-name"]
      : undefined,
    auth,
    source: files.map((f) => f.path),
  };
}

async function userAuth(
  user: KubeconfigEntry,
  userName: string,
  o: {
    read: (p: string) => Promise<string>;
    env: Readonly<Record<string, string | undefined>>;
    stdinIsTTY: boolean;
    server: string;
    caPem?: string;
    insecure: boolean;
  },
): Promise<KubeAuthProvider> {
  const file = (user.__file as string | undefined) ?? "";
  const clientCertPem = await pemFromEntry(
    user,
    "client-certificate-data",
    "client-certificate",
    o.read,
  );
  const clientKeyPem = await pemFromEntry(user, "client-key-data", "client-key", o.read);
  if (!!clientCertPem !== !!clientKeyPem) {
    throw new KarsError(
      "INPUT",
      `kubeconfig ${file}: user "${userName}" has a client ${
        clientCertPem ? "certificate without a key" : "key without a certificate"
      }`,
    );
  }
  const cert = clientCertPem ? { clientCertPem, clientKeyPem } : {};
  // Fail closed on what this client cannot honour rather than sending requests under another
  // identity (impersonation ignored) or none (basic auth ignored).
  for (const k of ["as", "as-uid", "as-groups", "as-user-extra"]) {
    if (user[k] !== undefined && user[k] !== null && user[k] !== "") {
      throw new KarsError(
        "UNAVAILABLE",
        `kubeconfig ${file}: user "${userName}" uses impersonation (${k}), which kars does not support; use a context whose user is the identity itself`,
      );
    }
  }
  if (user.username !== undefined || user.password !== undefined) {
    throw new KarsError(
      "UNAVAILABLE",
      `kubeconfig ${file}: user "${userName}" uses basic authentication (username/password), which Kubernetes removed and kars does not support; use a token, client certificate or exec plugin`,
    );
  }
  if (user.exec) {
    if (user.token || user.tokenFile) {
      throw new KarsError(
        "INPUT",
        `kubeconfig ${file}: user "${userName}" sets both exec and a token; remove one`,
      );
    }
    const exec = new ExecCredentialProvider(user.exec as ExecConfig, {
      env: o.env,
      stdinIsTTY: o.stdinIsTTY,
      baseDir: file ? dirname(file) : ".",
      cluster: { server: o.server, caPem: o.caPem, insecureSkipTlsVerify: o.insecure },
      where: `kubeconfig ${file}: user "${userName}"`,
    });
    return {
      async get() {
        const a = await exec.get();
        return a.clientCertPem ? a : { ...cert, ...a };
      },
      invalidate: () => exec.invalidate(),
    };
  }
  if (user["auth-provider"]) {
    throw new KarsError(
      "UNAVAILABLE",
      `kubeconfig ${file}: user "${userName}" uses the removed auth-provider mechanism; convert it to an exec plugin (e.g. \`kubelogin convert-kubeconfig\`)`,
    );
  }
  if (typeof user.token === "string" && user.token) {
    return staticProvider({ ...cert, token: user.token });
  }
  if (typeof user.tokenFile === "string" && user.tokenFile) {
    const tf = tokenFileProvider(resolveFrom(file, user.tokenFile), o.read);
    return {
      get: async () => ({ ...cert, ...(await tf.get()) }),
      invalidate() {},
    };
  }
  return staticProvider(cert);
}

async function inCluster(
  opts: LoadKubeConfigOptions,
  read: (p: string) => Promise<string>,
): Promise<KubeConfig> {
  const paths = opts.inClusterPaths ?? IN_CLUSTER_PATHS;
  const host = opts.env.KUBERNETES_SERVICE_HOST!;
  const port = opts.env.KUBERNETES_SERVICE_PORT!;
  const caPem = await readIfExists(read, paths.ca);
  if (caPem === undefined) {
    throw new KarsError("FILE", `in-cluster config: CA file ${paths.ca} does not exist`);
  }
  const ns = (await readIfExists(read, paths.namespace))?.trim();
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return {
    server: `https://${h}:${port}`,
    contextName: "in-cluster",
    clusterName: "",
    namespace: ns || undefined,
    caPem,
    insecureSkipTlsVerify: false,
    auth: tokenFileProvider(paths.token, read),
    source: ["in-cluster"],
  };
}
