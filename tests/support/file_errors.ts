/**
 * Helpers of the file-read error tests: a sandbox file, and how often a path is named.
 */
import { join } from "node:path";

/** A KarsSandbox `web` with one endpoint. */
export const WEB_SANDBOX = `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: web
  namespace: team-a
spec:
  networkPolicy:
    allowedEndpoints:
      - host: keep.example
`;

/** A temp dir with `sandbox.yaml` (WEB_SANDBOX) and an empty directory `a-dir`. */
export async function fileErrorsDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kars-file-errors-" });
  await Deno.writeTextFile(join(dir, "sandbox.yaml"), WEB_SANDBOX);
  await Deno.mkdir(join(dir, "a-dir"));
  return dir;
}

/** How many times `needle` occurs in `text`. */
export function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}
