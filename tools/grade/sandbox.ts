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
import { trackDir, trackProcess, untrackDir, untrackProcess } from "./cleanup.ts";

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

/** Resident memory of a process in MB (from /proc), or null when it is gone. */
async function residentMb(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
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
}

/** `--eval-file=` arguments for `files`, a bounded number of paths in each. */
function evalFileArgs(files: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < files.length; i += FILES_PER_ARG) {
    out.push(`--eval-file=${files.slice(i, i + FILES_PER_ARG).join(",")}`);
  }
  return out;
}

async function runOnce(
  cells: readonly SandboxCell[],
  skip: ReadonlyMap<number, string>,
  opts: SandboxOptions,
  tmp: string,
): Promise<Attempt> {
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const name = `__kit_grade_${nonce}`;
  const mark = `\u001e#kit-grade:${nonce}#`;
  const ctl = await Deno.makeTempDir({ dir: tmp, prefix: "ctl-" });
  const work = await Deno.makeTempDir({ dir: tmp, prefix: "work-" });
  const files: string[] = [];
  const add = async (file: string, text: string) => {
    await Deno.writeTextFile(`${ctl}/${file}`, text);
    files.push(`${ctl}/${file}`);
  };
  await add("prelude.ts", preludeSource(name, mark, opts.bindings));
  const hidden: HiddenCheck[] = [];
  for (let i = 0; i < cells.length; i++) {
    if (skip.has(i)) continue;
    const c = cells[i];
    await add(`m${i}.ts`, `${name}.cell(${i});\n`);
    let text = c.source;
    if (c.kind === "check" && c.hidden) {
      hidden.push({ cell: i, id: c.checkId!, source: c.source });
      text = `await ${name}.serve(${i});\n`;
    } else if (c.kind === "check") {
      text = checkSource(name, c.checkId!, c.source, opts.bindings);
    }
    await add(`cell${i + 1}.ts`, text);
  }
  await add("end.ts", `${name}.end();\n`);

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
  };
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(opts.deno ?? Deno.execPath(), {
      args: [
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
        ...evalFileArgs(files),
      ],
      cwd,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    await Deno.remove(ctl, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
    att.stopReason = `the sandbox could not be started: ${(e as Error).message}`;
    return att;
  }
  trackProcess(child.pid);

  // Requests of the checker go to the sandbox's stdin, one line each, in order.
  const stdin = child.stdin.getWriter();
  const enc = new TextEncoder();
  let stdinChain = Promise.resolve();
  const send = (line: string) => {
    stdinChain = stdinChain.then(() => stdin.write(enc.encode(line))).catch(() => {});
  };
  const checker = hidden.length
    ? new Checker({
      checks: hidden,
      bindings: opts.bindings,
      root,
      exerciseNames: opts.exerciseNames ?? null,
      send,
    })
    : null;

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
      await checker.ready;
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
    if (msg.ready) att.ready = true;
    else if (typeof msg.cell === "number") current = msg.cell;
    else if (msg.end) {
      ended = true;
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
  untrackProcess(child.pid);
  clearTimeout(timer);
  watching = false;
  checker?.sandboxGone(killedFor || "it ended");
  await Promise.all([readOut, readErr, watchdog]);
  checker?.terminate();
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
  const tmp = await Deno.makeTempDir({ prefix: "kit-grade-" });
  trackDir(tmp);
  const skip = new Map<number, string>();
  const problems: string[] = [];
  let last: Attempt | null = null, runs = 0, peakMb = 0, extended = false;
  let runOpts = opts;
  const notes: string[] = [];
  try {
    for (;;) {
      runs++;
      last = await runOnce(cells, skip, runOpts, tmp);
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
  return { cells: cellsOut, runs, peakMb: Math.round(peakMb), problems, notes };
}
