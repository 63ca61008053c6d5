/**
 * What a grading run must undo however it ends: the sandbox processes it started and the
 * temporary folders it made (they hold the per-run prelude with its nonce), and its lock. `sandbox.ts`
 * registers both while they exist; {@link cleanupSync} kills and removes whatever is still
 * registered, synchronously, so it can run from a signal handler, an `unload` listener or the
 * last line of a crashed command.
 *
 * @module
 */

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
