/**
 * What a grading run must undo however it ends: the sandbox processes it started, the temporary
 * folders it made, and its lock. `sandbox.ts` registers them while they exist;
 * {@link cleanupSync} kills and removes whatever is still registered, synchronously, so it can
 * run from a signal handler, an `unload` listener or the last line of a crashed command.
 *
 * What no handler sees (SIGKILL, a power cut) is covered elsewhere: each sandbox dies with the
 * grader (`sandbox.ts`: a parent-death signal), and a temporary folder's name carries its
 * grader's pid, so the next run removes the folders whose grader is gone
 * ({@link removeStaleFolders}).
 *
 * @module
 */
import { processAlive } from "../proc.ts";

/** The prefix of a grader's temporary folders: `kit-grade-<pid>-`. */
export const TEMP_PREFIX = "kit-grade-";

/** The prefix of the temporary folders of the grader with process id `pid`. */
export function tempPrefix(pid = Deno.pid): string {
  return `${TEMP_PREFIX}${pid}-`;
}

/**
 * Removes the grader folders in `dir` whose grader no longer runs (a grader killed by SIGKILL
 * leaves its folder); returns their names. Folders of running graders, this one's included, are
 * kept, and so is anything not named by {@link tempPrefix}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { removeStaleFolders, tempPrefix } from "./cleanup.ts";
 * const dir = await Deno.makeTempDir();
 * const gone = new Deno.Command("true").spawn();
 * await gone.status;
 * await Deno.mkdir(`${dir}/${tempPrefix(gone.pid)}abc/ctl`, { recursive: true });
 * await Deno.mkdir(`${dir}/${tempPrefix()}def`);
 * assert.deepStrictEqual(await removeStaleFolders(dir), [`${tempPrefix(gone.pid)}abc`]);
 * assert.deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), [`${tempPrefix()}def`]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeStaleFolders(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const pattern = new RegExp(`^${TEMP_PREFIX}(\\d+)-`);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return removed; // nothing to look at
  }
  for (const e of entries) {
    const m = pattern.exec(e.name);
    if (!m || !e.isDirectory) continue;
    const pid = Number(m[1]);
    if (pid === Deno.pid || processAlive(pid)) continue;
    try {
      await Deno.remove(`${dir}/${e.name}`, { recursive: true });
      removed.push(e.name);
    } catch { /* another grader removed it first, or not ours to remove */ }
  }
  return removed;
}

const pids = new Set<number>();
const dirs = new Set<string>();
const files = new Set<string>();

/** Registers a child process to kill if the run ends early. */
export function trackProcess(pid: number): void {
  pids.add(pid);
}

/** The child has ended: nothing to kill any more. */
export function untrackProcess(pid: number): void {
  pids.delete(pid);
}

/** Registers a temporary folder to remove if the run ends early. */
export function trackDir(path: string): void {
  dirs.add(path);
}

/** The folder has been removed. */
export function untrackDir(path: string): void {
  dirs.delete(path);
}

/** Registers a file (a lock) to remove if the run ends early. */
export function trackFile(path: string): void {
  files.add(path);
}

/** The file has been removed. */
export function untrackFile(path: string): void {
  files.delete(path);
}

/** How many processes and folders are registered (for tests). */
export function tracked(): { processes: number; dirs: number } {
  return { processes: pids.size, dirs: dirs.size };
}

/** Kills every registered process (SIGKILL) and removes every registered folder, now. */
export function cleanupSync(): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
  pids.clear();
  for (const d of dirs) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch { /* already gone */ }
  }
  dirs.clear();
  for (const f of files) {
    try {
      Deno.removeSync(f);
    } catch { /* already gone */ }
  }
  files.clear();
}
