/**
 * Starts Debian's CNCF distribution registry (`/usr/bin/docker-registry`, 2.8) for tests, on a
 * free 127.0.0.1 port with a temporary filesystem storage directory and deletes enabled.
 *
 * Returns `null` (after a visible `console.warn`) when the binary is absent, unless
 * `KARS_REQUIRE_TOOLS=1`, in which case it throws so that CI fails instead of skipping.
 *
 * @module
 */

/** Path of the Debian registry binary. */
export const DOCKER_REGISTRY_BIN = "/usr/bin/docker-registry";

/** Token-auth settings for the registry's `auth.token` section. */
export interface RegistryTokenAuth {
  /** URL of the token endpoint the registry sends clients to. */
  realm: string;
  /** Service name the registry expects in tokens (`aud`). */
  service: string;
  /** Issuer the registry expects in tokens (`iss`). */
  issuer: string;
  /** PEM of the certificate(s) whose key signs the tokens. */
  rootCertPem: string;
}

/** Options for {@link startDockerRegistry}. */
export interface DockerRegistryOptions {
  /** Enable htpasswd Basic auth with this one user (bcrypt entry made with `htpasswd -Bbn`). */
  htpasswd?: { user: string; password: string };
  /** Enable Docker token auth. */
  token?: RegistryTokenAuth;
}

/** A running registry. */
export interface DockerRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The storage root (for tests that inspect it). */
  storageDir: string;
  /** Kills the registry and removes its temporary directories. */
  stop(): Promise<void>;
}

/** True when tests must fail rather than skip for a missing tool. */
export function toolsRequired(): boolean {
  return Deno.env.get("KARS_REQUIRE_TOOLS") === "1";
}

/**
 * Checks that a tool binary exists; returns false (warning visibly) when it does not and tools
 * are not required, throws when they are.
 *
 * @example
 * ```ts
 * import { haveTool } from "./docker_registry.ts";
 * if (!haveTool("/usr/bin/skopeo", "skopeo")) { /* skip *\/ }
 * ```
 */
export function haveTool(path: string, name: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    const msg = `skipping: ${name} not installed (${path})`;
    if (toolsRequired()) throw new Error(`${msg}; KARS_REQUIRE_TOOLS=1 makes this a failure`);
    console.warn(msg);
    return false;
  }
}

/** Where the external tools the integration tests drive are installed (Debian paths, as CI installs them). */
export const TOOLS = {
  "docker-registry": DOCKER_REGISTRY_BIN,
  skopeo: "/usr/bin/skopeo",
  kubectl: "/usr/bin/kubectl",
  htpasswd: "/usr/bin/htpasswd",
} as const;

/**
 * Test options for a test that drives external tools: `{ ignore: true }` (with a visible reason on
 * stderr) when one is missing and tools are not required; `{ ignore: false }` otherwise, so under
 * `KARS_REQUIRE_TOOLS=1` (CI) a missing tool fails the test instead of skipping it.
 *
 * @example
 * ```ts
 * import { needs } from "./docker_registry.ts";
 * Deno.test("pushes to docker-registry", needs("docker-registry"), () => {});
 * ```
 */
export function needs(...tools: (keyof typeof TOOLS)[]): { ignore: boolean } {
  if (toolsRequired()) return { ignore: false };
  const missing = tools.filter((t) => {
    try {
      Deno.statSync(TOOLS[t]);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return { ignore: false };
  console.warn(`ignored: needs ${missing.join(", ")} (not installed; CI installs it)`);
  return { ignore: true };
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function htpasswdLine(user: string, password: string): Promise<string> {
  // -i reads the password from stdin so it never appears in process arguments.
  const p = new Deno.Command("htpasswd", {
    args: ["-iBn", user],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(password));
  await w.close();
  const out = await p.output();
  if (!out.success) throw new Error(`htpasswd failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim() + "\n";
}

/**
 * Starts `docker-registry serve CONFIG` on a free 127.0.0.1 port and waits until `/v2/` answers.
 *
 * @example
 * ```ts
 * import { startDockerRegistry } from "./docker_registry.ts";
 * const reg = await startDockerRegistry();
 * if (reg) {
 *   try {
 *     const r = await fetch(`${reg.url}/v2/`); await r.body?.cancel();
 *   } finally { await reg.stop(); }
 * }
 * ```
 */
export async function startDockerRegistry(
  opts: DockerRegistryOptions = {},
): Promise<DockerRegistry> {
  if (!haveTool(DOCKER_REGISTRY_BIN, "docker-registry")) {
    throw new Error(
      'docker-registry is not installed: mark the test with needs("docker-registry")',
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "kars-registry-" });
  const storageDir = `${dir}/storage`;
  await Deno.mkdir(storageDir);
  let auth = "";
  if (opts.htpasswd) {
    await Deno.writeTextFile(
      `${dir}/htpasswd`,
      await htpasswdLine(opts.htpasswd.user, opts.htpasswd.password),
    );
    auth = `auth:\n  htpasswd:\n    realm: kars-test\n    path: ${dir}/htpasswd\n`;
  } else if (opts.token) {
    await Deno.writeTextFile(`${dir}/token-root.pem`, opts.token.rootCertPem);
    auth = `auth:\n  token:\n    realm: ${JSON.stringify(opts.token.realm)}\n` +
      `    service: ${JSON.stringify(opts.token.service)}\n` +
      `    issuer: ${JSON.stringify(opts.token.issuer)}\n` +
      `    rootcertbundle: ${dir}/token-root.pem\n`;
  }
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: kars-test-secret
${auth}`;
    await Deno.writeTextFile(`${dir}/config.yml`, config);
    const child = new Deno.Command(DOCKER_REGISTRY_BIN, {
      args: ["serve", `${dir}/config.yml`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderrText = new Response(child.stderr).text();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      await status;
      await stderrText;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !exited) {
      try {
        const r = await fetch(`${url}/v2/`);
        await r.body?.cancel();
        if (r.status === 200 || r.status === 401) {
          return { host: `127.0.0.1:${port}`, url, storageDir, stop };
        }
      } catch { /* not listening yet */ }
      await new Promise((res) => setTimeout(res, 50));
    }
    if (!exited) child.kill("SIGKILL");
    await status;
    lastErr = new Error(`docker-registry did not start: ${(await stderrText).slice(-2000)}`);
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastErr;
}
