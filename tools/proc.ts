/**
 * What the kit's commands need to know about other processes: whether one still runs (a zombie,
 * exited but not yet reaped by its parent, does not), its parent, name and command line, its
 * children, and its resident memory.
 *
 * Linux answers from `/proc`. Where there is no `/proc` (macOS, the BSDs, a container without
 * it) the answers come from `ps` (POSIX options only: `-o`, `-p`, `-A`), and on Windows from
 * `tasklist` and PowerShell. When a question cannot be asked at all (no `/proc`, no `ps`), a
 * process counts as running and its details as unknown: callers that stop something when a
 * process dies then do not stop it on a guess.
 *
 * `KIT_PROC_DIR` in the environment replaces `/proc`; tests point it at a missing folder to
 * run the fallback path on Linux.
 *
 * @module
 */

/** One process as {@link processInfo} sees it. */
export interface ProcessInfo {
  pid: number;
  /** Parent process id (NaN when unknown). */
  ppid: number;
  /** One-letter state as `ps` shows it ("R", "S", "Z" for a zombie, ...; "?" when unknown). */
  state: string;
  /** Executable name (`/proc/PID/comm`, or the last path part of `ps`'s `comm`). */
  name: string;
}

/** Where the answers come from: a `/proc` folder (default `KIT_PROC_DIR` or `/proc`). */
export interface ProcOptions {
  procDir?: string;
}

const decoder = new TextDecoder();
const hasProcCache = new Map<string, boolean>();

function procDir(opts: ProcOptions | undefined): string | null {
  let dir = opts?.procDir;
  if (dir === undefined) {
    try {
      dir = Deno.env.get("KIT_PROC_DIR") || "/proc";
    } catch {
      dir = "/proc"; // no --allow-env: the default
    }
  }
  let has = hasProcCache.get(dir);
  if (has === undefined) {
    try {
      has = Deno.statSync(`${dir}/self/stat`).isFile;
    } catch {
      has = false;
    }
    hasProcCache.set(dir, has);
  }
  return has ? dir : null;
}

/** Runs a command synchronously; its stdout, or null when it could not run or failed. */
function run(cmd: string, args: string[]): string | null {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null", stdin: "null" })
      .outputSync();
    return out.success ? decoder.decode(out.stdout) : null;
  } catch {
    return null; // no such command, or no --allow-run
  }
}

async function runAsync(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
    return out.success ? decoder.decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** `/proc/PID/stat`: "pid (comm) S ppid ..."; comm may contain spaces and parentheses. */
function parseStat(pid: number, stat: string): ProcessInfo {
  const open = stat.indexOf("("), close = stat.lastIndexOf(")");
  const [state, ppid] = stat.slice(close + 2).split(" ");
  return { pid, ppid: Number(ppid), state, name: stat.slice(open + 1, close) };
}

const windows = Deno.build.os === "windows";

/** PowerShell one-liner output, for the Windows branch. */
function powershell(script: string): string | null {
  return run("powershell", ["-NoProfile", "-NonInteractive", "-Command", script]);
}

/**
 * The process `pid`, or null when there is none; `undefined` when it cannot be found out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { processInfo } from "./proc.ts";
 * const me = processInfo(Deno.pid);
 * assert.ok(me && me.pid === Deno.pid && me.ppid === Deno.ppid);
 * // Without /proc (macOS, or a folder that is not there) the same answer comes from `ps`.
 * const viaPs = processInfo(Deno.pid, { procDir: "/no/such/proc" });
 * assert.ok(viaPs === undefined || viaPs?.ppid === Deno.ppid);
 * ```
 */
export function processInfo(pid: number, opts?: ProcOptions): ProcessInfo | null | undefined {
  if (!(pid > 0)) return null;
  const dir = procDir(opts);
  if (dir) {
    try {
      return parseStat(pid, Deno.readTextFileSync(`${dir}/${pid}/stat`));
    } catch {
      return null;
    }
  }
  if (windows) {
    const out = powershell(
      `Get-CimInstance Win32_Process -Filter "ProcessId=${pid}" | ` +
        `ForEach-Object { "$($_.ParentProcessId) $($_.Name)" }`,
    );
    if (out === null) return undefined;
    const line = out.trim();
    if (!line) return null;
    const sp = line.indexOf(" ");
    return { pid, ppid: Number(line.slice(0, sp)), state: "?", name: line.slice(sp + 1) };
  }
  // `ps -p` exits 1 when there is no such process; an empty output means the same.
  const out = run("ps", ["-o", "ppid=,stat=,comm=", "-p", String(pid)]);
  if (out === null) return run("ps", ["-o", "pid=", "-p", "1"]) === null ? undefined : null;
  const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(out.trim());
  if (!m) return null;
  const name = m[3].trim();
  return { pid, ppid: Number(m[1]), state: m[2][0], name: name.slice(name.lastIndexOf("/") + 1) };
}

/**
 * True while the process `pid` runs; a zombie (exited, not yet reaped) does not. A process that
 * cannot be asked about counts as running (see the module notes).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { processAlive } from "./proc.ts";
 * assert.equal(processAlive(Deno.pid), true);
 * const child = new Deno.Command(Deno.execPath(), { args: ["eval", ""] }).spawn();
 * await child.status;
 * assert.equal(processAlive(child.pid), false);
 * ```
 */
export function processAlive(pid: number, opts?: ProcOptions): boolean {
  if (windows && !procDir(opts)) {
    const out = run("tasklist", ["/FI", `PID eq ${pid}`, "/FO", "CSV", "/NH"]);
    return out === null ? true : out.includes(`"${pid}"`);
  }
  const info = processInfo(pid, opts);
  if (info === undefined) return true;
  return info !== null && info.state !== "Z";
}

/**
 * The ids of the processes whose parent is `pid` (zombies included: check them with
 * {@link processAlive}); [] when that cannot be found out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { childrenOf } from "./proc.ts";
 * const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
 * assert.ok(childrenOf(Deno.pid).includes(child.pid));
 * child.kill("SIGKILL");
 * await child.status;
 * ```
 */
export function childrenOf(pid: number, opts?: ProcOptions): number[] {
  const dir = procDir(opts);
  if (dir) {
    const out: number[] = [];
    for (const e of Deno.readDirSync(dir)) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        if (
          parseStat(Number(e.name), Deno.readTextFileSync(`${dir}/${e.name}/stat`)).ppid === pid
        ) {
          out.push(Number(e.name));
        }
      } catch { /* ended while we looked */ }
    }
    return out;
  }
  const out = windows
    ? powershell(
      `Get-CimInstance Win32_Process -Filter "ParentProcessId=${pid}" | ` +
        `ForEach-Object { "$($_.ProcessId) ${pid}" }`,
    )
    : run("ps", ["-A", "-o", "pid=,ppid="]);
  if (out === null) return [];
  return out.split("\n").map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([child, parent]) => parent === pid && child > 0).map(([child]) => child);
}

/**
 * The command line of `pid` (arguments joined by spaces), or null when it is gone or unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { commandLine } from "./proc.ts";
 * assert.ok(commandLine(Deno.pid)?.includes("deno"));
 * ```
 */
export function commandLine(pid: number, opts?: ProcOptions): string | null {
  const dir = procDir(opts);
  if (dir) {
    try {
      return Deno.readTextFileSync(`${dir}/${pid}/cmdline`).split("\0").join(" ").trim();
    } catch {
      return null;
    }
  }
  const out = windows
    ? powershell(
      `Get-CimInstance Win32_Process -Filter "ProcessId=${pid}" | ForEach-Object CommandLine`,
    )
    : run("ps", ["-o", "args=", "-p", String(pid)]);
  return out?.trim() || null;
}

/**
 * Resident memory of `pid` in MB, or null when it is gone or unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { residentMb } from "./proc.ts";
 * const mb = await residentMb(Deno.pid);
 * assert.ok(mb !== null && mb > 1 && mb < 100_000);
 * ```
 */
export async function residentMb(pid: number, opts?: ProcOptions): Promise<number | null> {
  const dir = procDir(opts);
  if (dir) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(await Deno.readTextFile(`${dir}/${pid}/status`));
      return m ? Number(m[1]) / 1024 : null;
    } catch {
      return null;
    }
  }
  if (windows) {
    // "deno.exe","1234","Console","1","12,345 K"
    const out = await runAsync("tasklist", ["/FI", `PID eq ${pid}`, "/FO", "CSV", "/NH"]);
    const m = out && /"([\d.,\s]+) K"\s*$/m.exec(out);
    return m ? Number(m[1].replace(/\D/g, "")) / 1024 : null;
  }
  // Kilobytes; a zombie shows 0 where /proc shows no VmRSS line: both are "no memory".
  const m = /^\s*(\S)\S*\s+(\d+)\s*$/.exec(
    await runAsync("ps", ["-o", "stat=,rss=", "-p", String(pid)]) ?? "",
  );
  return m && m[1] !== "Z" ? Number(m[2]) / 1024 : null;
}
