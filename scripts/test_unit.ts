/**
 * `deno task test:unit`: the fast inner loop — every test file whose test-side module graph
 * starts no external process (no `Deno.Command`, no `Deno.execPath()` in the test file or the
 * test/script helpers it imports, transitively). Tests that drive docker-registry, skopeo,
 * kubectl, Node or a `kars` subprocess run in `deno task test` (everything, what CI runs).
 * Library code is not scanned: it may spawn (exec plugins, credential helpers) only when a test
 * asks it to, and such tests import a process helper anyway.
 *
 * Usage: `deno task test:unit [--list] [deno test flags…]`
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SPAWNS = /\bDeno\.Command\b|\bDeno\.execPath\(\)|node:child_process/;
const IMPORT =
  /(?:import|export)\s[^"'`]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

async function walk(dir: string, out: string[]): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) await walk(p, out);
    else if (e.name.endsWith("_test.ts")) out.push(p);
  }
  return out;
}

const cache = new Map<string, boolean>();

/** True when `file`, or a test/script helper it imports (transitively), starts a process. */
async function spawnsProcesses(file: string, seen = new Set<string>()): Promise<boolean> {
  if (cache.has(file)) return cache.get(file)!;
  if (seen.has(file)) return false;
  seen.add(file);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    return false;
  }
  let spawns = SPAWNS.test(text);
  for (const m of text.matchAll(IMPORT)) {
    if (spawns) break;
    const dep = resolve(dirname(file), m[1] ?? m[2]);
    const rel = relative(ROOT, dep);
    if (!(rel.startsWith("tests/") || rel.startsWith("scripts/") || rel.startsWith("bench/"))) {
      continue;
    }
    spawns = await spawnsProcesses(dep, seen);
  }
  cache.set(file, spawns);
  return spawns;
}

const all = (await walk(join(ROOT, "tests"), [])).sort();
const unit: string[] = [];
for (const f of all) if (!(await spawnsProcesses(f))) unit.push(relative(ROOT, f));
const args = Deno.args.filter((a) => a !== "--list");
if (Deno.args.includes("--list")) {
  console.log(unit.join("\n"));
  console.error(`${unit.length} of ${all.length} test files are in-process`);
  Deno.exit(0);
}
console.error(`test:unit: ${unit.length} of ${all.length} test files (in-process only)`);
const p = new Deno.Command(Deno.execPath(), {
  // In-process files share nothing, so they run in parallel (one worker per core).
  args: ["test", "--allow-all", "--frozen", "--parallel", ...args, ...unit],
  cwd: ROOT,
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
Deno.exit((await p.status).code);
