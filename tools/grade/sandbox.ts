/**
 * Runs untrusted notebook cells in a separate `deno repl` process with least permissions, and
 * runs the hidden checks in the checker realm (`checker.ts`), which the cells never reach.
 *
 * Why `deno repl --eval-file`: it evaluates each file as one REPL input, exactly as the Deno
 * Jupyter kernel evaluates a cell (TypeScript, top-level await, a later input may re-declare a
 * `const`, an input that throws does not stop the next one), but with the permission flags of
 * `deno run` instead of the kernel's `--allow-all`. The eval files live in a folder the cells
 * cannot read (they hold the per-run nonce), and the hidden checks are not among them.
 *
 * The protocol: a trusted prelude (`prelude.ts`, first eval file) captures what it needs before
 * any student code runs and binds its reporting object to a global lexical name that contains a
 * random nonce. A hidden check's place in the run is an input that asks the prelude to serve:
 * the grader then runs the check in the checker realm, whose calls of the student's functions
 * come to the sandbox on stdin and go back as data on stdout. Visible checks (no points) run in
 * place. Reports are stdout lines carrying the nonce; the cells can print, but they never see the
 * nonce, so they cannot print a report, and whatever they do, the checker receives only data.
 *
 * A cell that stops the run (endless loop, memory, process exit) is skipped on a re-run, so
 * the checks after it still run.
 *
 * @module
 */
import type { ImportBinding } from "../notebook/exercises.ts";
import { Checker, type HiddenCheck, withoutImports } from "./checker.ts";
import { INTRINSIC_NAMES } from "./prelude.ts";
import {
  removeStaleFolders,
  tempPrefix,
  trackDir,
  trackProcess,
  untrackDir,
  untrackProcess,
} from "./cleanup.ts";
import { residentMb } from "../proc.ts";

/** One cell to run. */
export interface SandboxCell {
  kind: "code" | "check";
  source: string;
  /** Check id (for `kind: "check"`). */
  checkId?: string;
  /** A hidden check: it runs in the checker realm, not beside the student's code. */
  hidden?: boolean;
  /**
   * The instructor's own cell, unchanged (not student code). When it is the one that runs out of
   * time, the machine is slow rather than the submission hostile: the run is repeated once with
   * twice the time before the cell is skipped.
   */
  trusted?: boolean;
}

/** What happened to one cell. */
export interface CellResult {
  /** "ran", or why it did not: skipped after it stopped an earlier run, or never reached. */
  status: "ran" | "skipped" | "not-reached";
  /** Why the cell was skipped ("timeout after 10 s", "memory above 512 MB", ...). */
  reason?: string;
  /** What the cell printed (capped), REPL error reports included. */
  output: string;
  /** For a check: whether its body finished without throwing, and the error message. */
  passed?: boolean;
  message?: string;
}

/** Limits and locations of a sandboxed run. */
export interface SandboxOptions {
  /** The kit's root (holding `deno.json`, `lib/`, `data/`). */
  root: string;
  /** The notebook's imports (the checks' bindings). */
  bindings: readonly ImportBinding[];
  /**
   * The names a hidden check may take from the submission (those the exercise cells declare);
   * null or absent: any name.
   */
  exerciseNames?: readonly string[] | null;
  /** Wall-clock limit of one run of the notebook, in seconds. */
  timeoutSec: number;
  /** Resident-memory cap in MB. */
  memoryMb: number;
  /** How many cells may be skipped after they stop a run (each costs a re-run). */
  maxSkips?: number;
  /** The `deno` executable. */
  deno?: string;
  /** Where the run's temporary folder goes (default: the system's, `TMPDIR` or /tmp). */
  tmpDir?: string;
}

/** The result of running a notebook's cells in the sandbox. */
export interface SandboxResult {
  cells: CellResult[];
  /** Runs it took (1 + skipped cells). */
  runs: number;
  /** Largest resident memory seen in any run, in MB (sampled every 25 ms). */
  peakMb: number;
  /** Problems of the sandbox itself (the prelude failed, ...), for the report. */
  problems: string[];
  /** Things the instructor should know (a run repeated with more time, ...). */
  notes: string[];
  /** Where the time went, summed over the runs. */
  profile: SandboxProfile;
}

const OUTPUT_CAP = 20_000;
/** Longest report line (an answer to the checker with a large value). */
const REPORT_CAP = 64 * 1024 * 1024;
/** Eval-file paths per `--eval-file` argument (one argument may hold at most 128 KiB). */
const FILES_PER_ARG = 500;
const TIMEOUT_REASON = "the run took longer than";

function jsString(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * How a sandbox dies with its grader, even when the grader is killed by SIGKILL: util-linux's
 * `setpriv --pdeathsig KILL` (Linux asks the kernel to SIGKILL the sandbox when the thread that
 * spawned it, the grader's main thread, ends), or where there is no `setpriv`, a shell beside the
 * sandbox that blocks reading a pipe from the grader and kills the sandbox at end of file.
 * `KIT_GRADE_WATCHDOG=sh` chooses the shell (the tests run both).
 */
function parentDeathMethod(): "setpriv" | "sh" {
  let forced: string | undefined;
  try {
    forced = Deno.env.get("KIT_GRADE_WATCHDOG");
  } catch { /* no --allow-env */ }
  if (forced === "sh") return "sh";
  try {
    return Deno.statSync(SETPRIV).isFile ? "setpriv" : "sh";
  } catch {
    return "sh";
  }
}
const SETPRIV = "/usr/bin/setpriv";

/** Makes named pipes (FIFOs) readable and writable by this user only. */
async function makeFifos(paths: readonly string[]): Promise<void> {
  for (let i = 0; i < paths.length; i += FILES_PER_ARG) {
    const out = await new Deno.Command("mkfifo", {
      args: ["-m", "600", "--", ...paths.slice(i, i + FILES_PER_ARG)],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`mkfifo failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
  }
}

/**
 * Writes the eval files' texts into their named pipes as the sandbox opens them, in order: the
 * texts (the prelude and the markers carry the per-run nonce) pass through the kernel's pipe
 * buffers and are never on disk. A few writes wait ahead of the sandbox, each one
 * `Deno.writeFile` (open, which returns when the sandbox opens that pipe, write and close, all on
 * a thread of Deno's pool), so the sandbox never waits for the grader's busy main thread between
 * two files. {@link PipeFeeder.stop} releases the writes whose reader will never come.
 * (Linux: named pipes, and an open for reading and writing that does not wait.)
 */
class PipeFeeder {
  #stopped = false;
  /** Pipes whose write waits for the sandbox to open them. */
  readonly #waiting = new Set<string>();
  readonly done: Promise<void>;

  constructor(files: readonly { path: string; text: string }[], ahead = 8) {
    this.done = this.#run(files, ahead);
  }

  async #run(files: readonly { path: string; text: string }[], ahead: number): Promise<void> {
    const enc = new TextEncoder();
    const running = new Set<Promise<void>>();
    let next = 0;
    const launch = (f: { path: string; text: string }) => {
      this.#waiting.add(f.path);
      const p: Promise<void> = Deno.writeFile(f.path, enc.encode(f.text))
        .catch(() => {/* the sandbox is gone */})
        .finally(() => {
          this.#waiting.delete(f.path);
          running.delete(p);
        });
      running.add(p);
    };
    while (next < files.length && !this.#stopped) {
      while (running.size < ahead && next < files.length && !this.#stopped) launch(files[next++]);
      await Promise.race(running);
    }
    await Promise.all(running);
  }

  /**
   * The sandbox ended: no more files; the writes still waiting for their reader are released.
   * A pipe opened for reading and writing (Linux never blocks that open) counts as the reader a
   * waiting write needs; closed at once, it leaves that write an EPIPE error. A write that had
   * not reached its open yet is released on a later pass.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    let settled = false;
    const done = this.done.then(() => settled = true);
    while (!settled) {
      for (const path of [...this.#waiting]) {
        try {
          (await Deno.open(path, { read: true, write: true })).close();
        } catch { /* already released */ }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([done, new Promise((r) => timer = setTimeout(r, 20))]);
      clearTimeout(timer);
    }
  }
}

/** The folders whose stale grader folders this process has removed (once each). */
const swept = new Set<string>();

let preludeBody: string | null = null;
/** `codec.ts` and `prelude.ts` as one block of statements (imports and `export` removed). */
function preludeText(): string {
  if (preludeBody === null) {
    const read = (f: string) => Deno.readTextFileSync(new URL(f, import.meta.url));
    preludeBody = [read("./codec.ts"), read("./prelude.ts")].map((t) =>
      t.replace(/^import [^;]*;\n/gm, "").replace(/^export /gm, "")
    ).join("\n");
  }
  return preludeBody;
}

/**
 * The trusted first eval file: the fixed prelude with its per-run header. `name` is the
 * nonce-bearing global lexical name, `mark` the marker of report lines.
 */
export function preludeSource(name: string, mark: string, bindings: readonly ImportBinding[]) {
  const specs = [...new Set(bindings.map((b) => b.spec))];
  const config = {
    mark,
    bindings: bindings.map((b) => [b.local, specs.indexOf(b.spec), b.name]),
  };
  return `const ${name} = await (async () => {
${preludeText()}
const modules = [${specs.map((s) => `await import(${jsString(s)})`).join(", ")}];
return await sandboxPrelude({ ...${JSON.stringify(config)}, modules });
})();
`;
}

/** A visible check cell wrapped so that it uses the captured bindings and reports its outcome. */
export function checkSource(
  name: string,
  id: string,
  source: string,
  bindings: readonly ImportBinding[],
): string {
  const locals = [...new Set(bindings.map((b) => b.local))];
  const names = INTRINSIC_NAMES.filter((k) => !locals.includes(k));
  // One line of prefix keeps the error line numbers of the check's own lines off by one only.
  return `await ${name}.check(${jsString(id)}, async () => { "use strict"; const { ${
    names.join(", ")
  } } = ${name}.intrinsics; const { ${
    locals.map((l) => jsString(l) + ": " + l).join(", ")
  } } = ${name}.imports; {\n${withoutImports(source)}\n} });\n`;
}

interface Attempt {
  peakMb: number;
  outputs: string[];
  checks: Map<number, { passed: boolean; message: string }>;
  /** Index of the cell running when the run stopped early; null when the run finished. */
  stoppedAt: number | null;
  stopReason: string;
  ready: boolean;
  stderr: string;
  /** What was printed before the first cell (the prelude's errors). */
  preamble: string;
  /** When things happened (`performance.now()`), for the profile. */
  times: {
    begin: number;
    spawn: number;
    ready: number;
    end: number;
    exit: number;
    /** When each cell started (NaN: not reached). */
    cellStart: number[];
    /** Time spent waiting for the checker realm to be ready. */
    checkerWaitMs: number;
  };
}

/** Where a sandboxed notebook's time went, in milliseconds, summed over its runs. */
export interface SandboxProfile {
  /** Making the temporary folders and named pipes, and spawning the process. */
  setupMs: number;
  /** From the spawn to the prelude's "ready" (Deno's start, the prelude, the kit's import). */
  startMs: number;
  /** The student's and the lecture's code cells. */
  codeMs: number;
  /** Visible checks (in place, in the sandbox). */
  visibleChecksMs: number;
  /** Hidden checks (in the checker realm, calls crossing to the sandbox), waits included. */
  hiddenChecksMs: number;
  /** Of which: waiting for the checker realm to import the kit and compile the checks. */
  checkerWaitMs: number;
  /** From the end of the last cell to the process's exit, and the clean-up after it. */
  exitMs: number;
  totalMs: number;
}

/** A profile with nothing spent yet. */
export function emptyProfile(): SandboxProfile {
  return {
    setupMs: 0,
    startMs: 0,
    codeMs: 0,
    visibleChecksMs: 0,
    hiddenChecksMs: 0,
    checkerWaitMs: 0,
    exitMs: 0,
    totalMs: 0,
  };
}

/** `--eval-file=` arguments for `files`, a bounded number of paths in each. */
function evalFileArgs(files: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < files.length; i += FILES_PER_ARG) {
    out.push(`--eval-file=${files.slice(i, i + FILES_PER_ARG).join(",")}`);
  }
  return out;
}

/**
 * The fallback parent-death guard: `sh` reads a pipe from this process (the builtin `read`, so no
 * child of its own) and SIGKILLs the sandbox at end of file, which comes when this process ends
 * in any way. `disarm()` ends the shell once the sandbox has exited.
 */
function shWatchdog(pid: number): { disarm(): void } | null {
  let sh: Deno.ChildProcess;
  try {
    sh = new Deno.Command("sh", {
      args: ["-c", 'read -r _; kill -KILL "$1" 2>/dev/null', "kit-grade-watchdog", String(pid)],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return null; // no sh: the sandbox still dies on every end of the grader but SIGKILL
  }
  sh.unref();
  sh.status.catch(() => {});
  trackProcess(sh.pid);
  return {
    disarm() {
      untrackProcess(sh.pid);
      try {
        sh.kill("SIGKILL");
      } catch { /* gone */ }
      sh.stdin.close().catch(() => {});
    },
  };
}

async function runOnce(
  cells: readonly SandboxCell[],
  skip: ReadonlyMap<number, string>,
  opts: SandboxOptions,
  tmp: string,
): Promise<Attempt> {
  const begin = performance.now();
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const name = `__kit_grade_${nonce}`;
  const mark = `\u001e#kit-grade:${nonce}#`;
  const ctl = await Deno.makeTempDir({ dir: tmp, prefix: "ctl-" });
  const work = await Deno.makeTempDir({ dir: tmp, prefix: "work-" });
  // The eval files are named pipes: their texts never touch the disk (see PipeFeeder).
  const evals: { path: string; text: string }[] = [];
  const add = (file: string, text: string) => evals.push({ path: `${ctl}/${file}`, text });
  const files = () => evals.map((e) => e.path);
  add("prelude.ts", preludeSource(name, mark, opts.bindings));
  const hidden: HiddenCheck[] = [];
  for (let i = 0; i < cells.length; i++) {
    if (skip.has(i)) continue;
    const c = cells[i];
    add(`m${i}.ts`, `${name}.cell(${i});\n`);
    let text = c.source;
    if (c.kind === "check" && c.hidden) {
      hidden.push({ cell: i, id: c.checkId!, source: c.source });
      text = `await ${name}.serve(${i});\n`;
    } else if (c.kind === "check") {
      text = checkSource(name, c.checkId!, c.source, opts.bindings);
    }
    add(`cell${i + 1}.ts`, text);
  }
  add("end.ts", `${name}.end();\n`);

  const root = opts.root;
  const env: Record<string, string> = {
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    PATH: "/usr/bin:/bin",
  };
  for (const k of ["HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  let cwd = `${root}/notebooks`;
  try {
    if (!(await Deno.stat(cwd)).isDirectory) cwd = work;
  } catch {
    cwd = work;
  }
  const att: Attempt = {
    outputs: cells.map(() => ""),
    checks: new Map(),
    stoppedAt: null,
    stopReason: "",
    ready: false,
    stderr: "",
    preamble: "",
    peakMb: 0,
    times: {
      begin,
      spawn: NaN,
      ready: NaN,
      end: NaN,
      exit: NaN,
      cellStart: cells.map(() => NaN),
      checkerWaitMs: 0,
    },
  };
  const deno = opts.deno ?? Deno.execPath();
  const method = parentDeathMethod();
  // The checker realm is bound before the sandbox starts (a new worker stalls this thread for a
  // moment, which would hold up the sandbox's first files); its requests go to the sandbox's
  // stdin once there is one, one line each, in order.
  let send: (line: string) => void = () => {};
  const checker = hidden.length
    ? new Checker({
      checks: hidden,
      bindings: opts.bindings,
      root,
      exerciseNames: opts.exerciseNames ?? null,
      send: (line) => send(line),
    })
    : null;
  let child: Deno.ChildProcess;
  try {
    await makeFifos(files());
    const args = [
      "repl",
      "--no-prompt",
      `--config=${root}/deno.json`,
      "--node-modules-dir=manual",
      "--cached-only",
      "--no-lock",
      "--no-remote",
      `--allow-read=${root}/lib,${root}/data,${work}`,
      `--allow-write=${work}`,
      `--v8-flags=--max-old-space-size=${Math.max(64, Math.round(opts.memoryMb * 0.75))}`,
      ...evalFileArgs(files()),
    ];
    child = new Deno.Command(method === "setpriv" ? SETPRIV : deno, {
      args: method === "setpriv" ? ["--pdeathsig", "KILL", "--", deno, ...args] : args,
      cwd,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    checker?.terminate("the sandbox could not be started");
    await Deno.remove(ctl, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
    att.stopReason = `the sandbox could not be started: ${(e as Error).message}`;
    return att;
  }
  att.times.spawn = performance.now();
  trackProcess(child.pid);
  const guard = method === "sh" ? shWatchdog(child.pid) : null;
  const feeder = new PipeFeeder(evals);

  const stdin = child.stdin.getWriter();
  const enc = new TextEncoder();
  let stdinChain = Promise.resolve();
  send = (line: string) => {
    stdinChain = stdinChain.then(() => stdin.write(enc.encode(line))).catch(() => {});
  };

  let current = -1, ended = false, killedFor = "";
  const served = new Set<number>();
  const append = (raw: string, at = current) => {
    if (at < 0 && !ended && att.preamble.length < OUTPUT_CAP) att.preamble += raw;
    if (at < 0 || ended || !raw) return;
    const text = raw.replace(
      /Error in --eval-file file "[^"]*\/cell(\d+)\.ts": /g,
      "Error in cell $1: ",
    );
    const o = att.outputs[at];
    if (o.length < OUTPUT_CAP) {
      att.outputs[at] = (o + text).slice(0, OUTPUT_CAP);
      if (att.outputs[at].length === OUTPUT_CAP) att.outputs[at] += "\n[output cut]\n";
    }
  };
  const serve = async (i: number) => {
    if (!checker || served.has(i) || cells[i]?.kind !== "check" || !cells[i].hidden) return;
    served.add(i);
    let outcome;
    try {
      const t0 = performance.now();
      await checker.ready;
      att.times.checkerWaitMs += performance.now() - t0;
      outcome = await checker.run(i);
    } catch (e) {
      outcome = { passed: false, message: `not graded: the checker did not start: ${e}` };
    }
    att.checks.set(i, { passed: outcome.passed, message: outcome.message });
    send('{"op":"done"}\n');
  };
  const handleLine = (line: string, newline: boolean) => {
    const at = line.indexOf(mark);
    if (at < 0) {
      append(line + (newline ? "\n" : ""));
      return;
    }
    append(line.slice(0, at));
    const json = line.slice(at + mark.length);
    if (json.startsWith('{"r":')) {
      checker?.deliver(json);
      return;
    }
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(json);
    } catch {
      return;
    }
    if (msg.ready) {
      att.ready = true;
      att.times.ready = performance.now();
    } else if (typeof msg.cell === "number") {
      current = msg.cell;
      if (current >= 0 && current < cells.length) att.times.cellStart[current] = performance.now();
    } else if (msg.end) {
      ended = true;
      att.times.end = performance.now();
      stdin.close().catch(() => {}); // the REPL then reads end-of-file and exits
    } else if (typeof msg.serve === "number" && msg.serve === current) serve(msg.serve);
    else if (typeof msg.async === "string") {
      // An error nobody caught (a rejection, a timer): under the running cell, as in Jupyter,
      // unless that is a hidden check, whose output the student never sees.
      let at = current;
      while (at > 0 && cells[at]?.kind === "check" && cells[at].hidden) at--;
      append(msg.async, at);
    } else if (typeof msg.check === "string" && current >= 0 && !cells[current]?.hidden) {
      if (msg.event === "pass") att.checks.set(current, { passed: true, message: "" });
      if (msg.event === "fail") {
        att.checks.set(current, { passed: false, message: String(msg.message ?? "") });
      }
    }
  };
  const readOut = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of child.stdout) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        handleLine(buf.slice(0, nl), true);
        buf = buf.slice(nl + 1);
      }
      // A line without end: a report still arriving (only the prelude writes the marker) is kept
      // whole up to REPORT_CAP; anything else (a student printing megabytes without "\n") is
      // flushed but for a tail long enough to hold the start of a report.
      if (buf.startsWith(mark)) {
        if (buf.length > REPORT_CAP) buf = "";
      } else if (buf.length > 65536) {
        handleLine(buf.slice(0, buf.length - 4096), false);
        buf = buf.slice(buf.length - 4096);
      }
    }
    if (buf) handleLine(buf, false);
  })();
  const readErr = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      const text = dec.decode(chunk, { stream: true });
      if (att.stderr.length < OUTPUT_CAP) att.stderr += text;
      append(text); // uncaught async errors of the cell that is running
    }
  })();
  const kill = (why: string) => {
    if (killedFor) return;
    killedFor = why;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    checker?.terminate(`the run stopped: ${why}`);
  };
  const timer = setTimeout(
    () => kill(`${TIMEOUT_REASON} ${opts.timeoutSec} s`),
    opts.timeoutSec * 1000,
  );
  let watching = true;
  const watchdog = (async () => {
    while (watching) {
      const mb = await residentMb(child.pid);
      if (mb === null) break;
      if (mb > att.peakMb) att.peakMb = mb;
      if (mb > opts.memoryMb) {
        kill(`it used more than ${opts.memoryMb} MB of memory`);
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const status = await child.status;
  att.times.exit = performance.now();
  untrackProcess(child.pid);
  guard?.disarm();
  clearTimeout(timer);
  watching = false;
  checker?.sandboxGone(killedFor || "it ended");
  await Promise.all([readOut, readErr, watchdog, feeder.stop()]);
  checker?.release();
  await stdinChain;
  await stdin.close().catch(() => {});
  await Deno.remove(ctl, { recursive: true }).catch(() => {});
  await Deno.remove(work, { recursive: true }).catch(() => {});
  if (!ended) {
    att.stoppedAt = current;
    att.stopReason = killedFor ||
      (status.signal
        ? `the process was killed by ${status.signal}`
        : `the process ended (exit code ${status.code})`);
    if (/out of memory|heap limit/i.test(att.stderr) && !killedFor) {
      att.stopReason = `it ran out of memory (${att.stopReason})`;
    }
  }
  return att;
}

/** Where an attempt's time went (see {@link SandboxProfile}). */
function profileOf(att: Attempt, cells: readonly SandboxCell[], now: number): SandboxProfile {
  const t = att.times;
  const p: SandboxProfile = {
    setupMs: (Number.isNaN(t.spawn) ? now : t.spawn) - t.begin,
    startMs: 0,
    codeMs: 0,
    visibleChecksMs: 0,
    hiddenChecksMs: 0,
    checkerWaitMs: t.checkerWaitMs,
    exitMs: 0,
    totalMs: now - t.begin,
  };
  if (Number.isNaN(t.spawn)) return p;
  const exit = Number.isNaN(t.exit) ? now : t.exit;
  p.startMs = (Number.isNaN(t.ready) ? exit : t.ready) - t.spawn;
  let next = Number.isNaN(t.end) ? exit : t.end;
  for (let i = cells.length - 1; i >= 0; i--) {
    const start = t.cellStart[i];
    if (Number.isNaN(start)) continue;
    const ms = next - start;
    next = start;
    if (cells[i].kind === "code") p.codeMs += ms;
    else if (cells[i].hidden) p.hiddenChecksMs += ms;
    else p.visibleChecksMs += ms;
  }
  p.exitMs = Number.isNaN(t.end) ? now - exit : now - t.end;
  return p;
}

/**
 * Runs `cells` in order in a fresh sandboxed process and reports each cell's output and each
 * check's outcome. When a cell stops the run early, the notebook is run again without it (at
 * most `maxSkips` times), so later checks are still graded. Temporary files go under a folder
 * made for this run and removed before returning.
 */
export async function runSandboxed(
  cells: readonly SandboxCell[],
  opts: SandboxOptions,
): Promise<SandboxResult> {
  // The folder's name carries this grader's pid: a later run removes it if this grader dies
  // before it can (SIGKILL); this one removes such folders of graders that did (once per
  // process and folder).
  const tmp = await Deno.makeTempDir({ dir: opts.tmpDir, prefix: tempPrefix() });
  trackDir(tmp);
  const parent = tmp.slice(0, tmp.lastIndexOf("/"));
  if (!swept.has(parent)) {
    swept.add(parent);
    await removeStaleFolders(parent);
  }
  const profile = emptyProfile();
  const skip = new Map<number, string>();
  const problems: string[] = [];
  let last: Attempt | null = null, runs = 0, peakMb = 0, extended = false;
  let runOpts = opts;
  const notes: string[] = [];
  try {
    for (;;) {
      runs++;
      last = await runOnce(cells, skip, runOpts, tmp);
      const p = profileOf(last, cells, performance.now());
      for (const k of Object.keys(profile) as (keyof SandboxProfile)[]) profile[k] += p[k];
      peakMb = Math.max(peakMb, last.peakMb);
      if (!last.ready) {
        problems.push(
          `the sandbox did not start (${last.stopReason || "no prelude"}): ${
            (last.preamble + last.stderr).slice(0, 2000)
          }`,
        );
        break;
      }
      if (last.stoppedAt === null) break;
      if (last.stoppedAt < 0) break;
      if (
        cells[last.stoppedAt].trusted && !extended && last.stopReason.startsWith(TIMEOUT_REASON)
      ) {
        extended = true;
        notes.push(
          `the instructor's cell ${
            last.stoppedAt + 1
          } did not finish within ${runOpts.timeoutSec}` +
            ` s; the notebook ran again with ${
              runOpts.timeoutSec * 2
            } s (consider a larger --timeout)`,
        );
        runOpts = { ...runOpts, timeoutSec: runOpts.timeoutSec * 2 };
        continue;
      }
      if (skip.size >= (opts.maxSkips ?? 2)) break;
      skip.set(last.stoppedAt, last.stopReason);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    untrackDir(tmp);
  }
  const a = last!;
  const cellsOut: CellResult[] = cells.map((c, i) => {
    if (skip.has(i)) {
      return {
        status: "skipped",
        reason: skip.get(i),
        output: "",
        ...(c.kind === "check"
          ? { passed: false, message: `not graded: this check stopped the run: ${skip.get(i)}` }
          : {}),
      };
    }
    const reached = a.ready && (a.stoppedAt === null || i <= a.stoppedAt);
    const r: CellResult = { status: reached ? "ran" : "not-reached", output: a.outputs[i] };
    if (a.stoppedAt === i) r.reason = a.stopReason;
    if (c.kind === "check") {
      const got = a.checks.get(i);
      r.passed = got?.passed ?? false;
      r.message = got
        ? got.message
        : a.stoppedAt === i
        ? `the run stopped in this check: ${a.stopReason}`
        : !reached
        ? "not run: an earlier cell stopped the run" +
          (a.stoppedAt !== null ? ` (cell ${a.stoppedAt + 1}: ${a.stopReason})` : "")
        : "the check did not run (it could not be compiled; see the output)";
    }
    return r;
  });
  return { cells: cellsOut, runs, peakMb: Math.round(peakMb), problems, notes, profile };
}
