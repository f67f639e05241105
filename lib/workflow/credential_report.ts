/**
 * Which registry credentials were tried, for error messages: the user name and the source
 * (explicit, environment, ACR token exchange, Docker config), never the secret. Wraps a
 * `CredentialSource` and records what it returned per registry.
 *
 * @module
 */
import type { Credential, CredentialSource } from "../oci/auth.ts";
import { ACR_REFRESH_USER } from "../oci/docker_config.ts";

/** A credential source that remembers what it handed out. */
export interface RecordingCredentials {
  /** The wrapped source (pass it to the registry client). */
  source: CredentialSource;
  /** One sentence: what was tried for `registry` (user and source; no secret). */
  describe(registry: string): string;
}

/**
 * Wraps `inner`; `describe` names the user and where the credential came from.
 *
 * @example
 * ```ts
 * import { recordingCredentials } from "./credential_report.ts";
 * const env = { KARS_REGISTRY_USERNAME: "ci", KARS_REGISTRY_PASSWORD: "p" };
 * const rec = recordingCredentials(() => Promise.resolve({ username: "ci", password: "p" }), { env });
 * await rec.source("r.example");
 * rec.describe("r.example"); // 'credentials tried for r.example: user "ci" from KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD'
 * ```
 */
export function recordingCredentials(
  inner: CredentialSource,
  opts: { env: Readonly<Record<string, string | undefined>>; explicit?: Credential },
): RecordingCredentials {
  const seen = new Map<string, Credential | null>();
  const withheld = new Map<string, Set<string>>();
  return {
    source: async (registry, ctx) => {
      // ctx carries the withheld-credentials callback: pass it on, and remember the notes.
      const c = await inner(registry, {
        ...ctx,
        withheld: (note) => {
          if (!withheld.has(registry)) withheld.set(registry, new Set());
          withheld.get(registry)!.add(note);
          ctx?.withheld?.(note);
        },
      });
      seen.set(registry, c ?? null);
      return c;
    },
    describe(registry) {
      if (!seen.has(registry)) return `no credentials were looked up for ${registry}`;
      const c = seen.get(registry);
      if (!c) {
        const notes = [...(withheld.get(registry) ?? [])];
        if (notes.length > 0) {
          return `no credentials sent to ${registry} (withheld: ${notes.join("; ")}); ` +
            `the request was anonymous`;
        }
        return `no credentials found for ${registry} (looked at: an explicit user, ` +
          `KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD, the ACR token exchange for ` +
          `*.azurecr.io, the Docker config ${
            dockerConfigPath(opts.env)
          }); the request was anonymous`;
      }
      const user = c.username !== undefined ? `user ${JSON.stringify(c.username)}` : "a token";
      return `credentials tried for ${registry}: ${user} from ${sourceOf(c, registry, opts)}`;
    },
  };
}

function dockerConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  return env.DOCKER_CONFIG ? `${env.DOCKER_CONFIG}/config.json` : "~/.docker/config.json";
}

function sourceOf(
  c: Credential,
  registry: string,
  opts: { env: Readonly<Record<string, string | undefined>>; explicit?: Credential },
): string {
  if (c.origin) return c.origin; // the source says where it came from
  const e = opts.explicit;
  if (e && c.username === e.username && c.password === e.password) {
    return "the explicit user and password given";
  }
  if (
    c.username === opts.env.KARS_REGISTRY_USERNAME && c.password !== undefined &&
    c.password === opts.env.KARS_REGISTRY_PASSWORD
  ) {
    return "KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD";
  }
  if (c.username === ACR_REFRESH_USER && c.refreshToken && /\.azurecr\.io(:\d+)?$/.test(registry)) {
    return "the ACR token exchange (Entra ID token)";
  }
  if (c.refreshToken) return `an identitytoken in the Docker config ${dockerConfigPath(opts.env)}`;
  return `the Docker config ${dockerConfigPath(opts.env)} (auths entry or credential helper)`;
}
