/**
 * `deno task grade SUBMISSIONS [--out DIR] [--jobs N] [--timeout S] [--memory MB]
 * [--shard K/N] [--notebooks DIR]`
 *
 * SUBMISSIONS holds `<student>/<notebook>.ipynb`. Each submission is graded against the
 * instructor's notebook of the same name (from `--notebooks`, default `notebooks/`), in the
 * sandbox. Writes `DIR/grades.csv`, `DIR/results.json`, `DIR/summary.md` and
 * `DIR/feedback/<student>.html` (default DIR: `dist/grades`), and prints the summary.
 *
 * `--shard K/N` grades only the students at positions K-1, K-1+N, ... of the sorted student
 * list; `deno task grade:merge` combines the shards' folders.
 *
 * Exit code: 0 when every submission was graded, 1 when some were invalid (they still get a
 * row per check with 0 points and a message), 2 for a usage or instructor-notebook error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "../cli.ts";
import { type Notebook, writeFileAtomic } from "../notebook/io.ts";
import {
  gradeSubmission,
  type Instructor,
  loadInstructors,
  type NotebookGrade,
  zeroRows,
} from "./grader.ts";
import { runSandboxed } from "./sandbox.ts";
import { cleanupSync, trackFile, untrackFile } from "./cleanup.ts";
import { type ResultRecord, writeReports } from "./report.ts";
import {
  feedbackPage,
  gradedNotebook,
  renderNotebookPage,
  studentSlug,
  writeNotebookAssets,
} from "./feedback.ts";

/** Options of {@link gradeAll}. */
export interface GradeAllOptions {
  /** Folder of `<student>/<notebook>.ipynb`. */
  submissions: string;
  /** Folder of the instructor notebooks. */
  notebooks: string;
  out: string;
  jobs: number;
  timeoutSec: number;
  memoryMb: number;
  /** 1-based shard index and shard count. */
  shard?: [number, number];
  /** The kit's root; default: the folder above tools/. */
  root?: string;
  /** Print progress and the summary. */
  quiet?: boolean;
  /** Skip the feedback pages (the bench does). */
  noFeedback?: boolean;
}

interface Task {
  student: string;
  file: string;
  path: string | null;
}

/** Which students a shard grades: every N-th of the sorted list, starting at K-1. */
export function shardOf<T>(sorted: readonly T[], shard?: [number, number]): T[] {
  if (!shard) return [...sorted];
  const [k, n] = shard;
  return sorted.filter((_, i) => i % n === k - 1);
}

/** Parses "K/N" (1 <= K <= N). */
export function parseShard(s: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const k = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 1) || k > n) {
    throw new Error(`grade: --shard must be K/N with 1 <= K <= N (e.g. 2/3), got "${s}"`);
  }
  return [k, n];
}

async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function pool<T, R>(items: readonly T[], jobs: number, f: (t: T) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]);
      }
    }),
  );
  return out;
}

function unknownRecord(student: string, file: string, why: string): NotebookGrade {
  return {
    student,
    notebook: file,
    rows: [{ check: "-", points: 0, max: 0, hidden: false, passed: false, message: why }],
    invalid: why,
    notes: [],
    cells: [],
    runs: 0,
  };
}

const LOCK = ".grade.lock";

/**
 * Takes `out`'s lock: one grader at a time writes into a folder. A lock left by a process that
 * no longer runs is taken over. Throws when another grader holds it.
 */
export async function lockOut(out: string): Promise<string> {
  await Deno.mkdir(out, { recursive: true });
  const path = `${out}/${LOCK}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const f = await Deno.open(path, { write: true, createNew: true });
      await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
      f.close();
      trackFile(path);
      return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const holder = Number((await Deno.readTextFile(path).catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
      throw new Error(
        `grade: another grader (pid ${holder}) is writing to ${out}; wait until it has ` +
          `finished, or choose another --out (remove ${path} only if no grader runs)`,
      );
    }
    await Deno.remove(path).catch(() => {}); // left by a grader that no longer runs
  }
  throw new Error(`grade: cannot take the lock ${path}`);
}

function processAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Grades a folder of submissions; returns the records written to `out`. */
export async function gradeAll(o: GradeAllOptions): Promise<{ records: ResultRecord[] }> {
  const lock = await lockOut(o.out);
  try {
    return await gradeAllLocked(o);
  } finally {
    await Deno.remove(lock).catch(() => {});
    untrackFile(lock);
  }
}

async function gradeAllLocked(o: GradeAllOptions): Promise<{ records: ResultRecord[] }> {
  const root = o.root ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const instructors: Map<string, Instructor> = await loadInstructors(o.notebooks);
  if (instructors.size === 0) {
    throw new Error(`grade: no notebook with check cells in ${o.notebooks}`);
  }
  const allNames = new Set(
    (await listDir(o.notebooks)).filter((e) => e.name.endsWith(".ipynb")).map((e) => e.name),
  );
  let entries: Deno.DirEntry[];
  try {
    entries = await listDir(o.submissions);
  } catch (e) {
    throw new Error(`grade: cannot read the submissions folder ${o.submissions}: ${e}`);
  }
  const students = shardOf(entries.filter((e) => e.isDirectory).map((e) => e.name), o.shard);
  for (const e of entries) {
    if (!e.isDirectory && !o.quiet) {
      console.error(
        `grade: ${o.submissions}/${e.name} ignored: expected <student>/<notebook>.ipynb`,
      );
    }
  }
  const tasks: Task[] = [];
  for (const student of students) {
    const files = (await listDir(`${o.submissions}/${student}`))
      .filter((e) => e.isFile && e.name.endsWith(".ipynb")).map((e) => e.name);
    for (const f of files) {
      tasks.push({ student, file: f, path: `${o.submissions}/${student}/${f}` });
    }
    for (const name of instructors.keys()) {
      if (!files.includes(name)) tasks.push({ student, file: name, path: null });
    }
  }
  const submitted = new Map<string, Notebook | null>();
  const grades = await pool(tasks, o.jobs, async (t): Promise<NotebookGrade> => {
    const inst = instructors.get(t.file);
    if (!inst) {
      if (allNames.has(t.file)) return null as unknown as NotebookGrade; // not graded
      return unknownRecord(
        t.student,
        t.file,
        `${t.student}/${t.file}: not a course notebook with exercises (expected one of ${
          [...instructors.keys()].join(", ")
        })`,
      );
    }
    if (t.path === null) {
      return {
        student: t.student,
        notebook: t.file,
        rows: zeroRows(inst, "not submitted"),
        invalid: `${t.student}: ${t.file} was not submitted`,
        notes: [],
        cells: [],
        runs: 0,
      };
    }
    let text: string;
    try {
      text = await Deno.readTextFile(t.path);
    } catch (e) {
      text = `<unreadable: ${(e as Error).message}>`;
    }
    let g: NotebookGrade;
    try {
      g = await gradeSubmission(inst, t.student, t.file, text, {
        root,
        timeoutSec: o.timeoutSec,
        memoryMb: o.memoryMb,
      });
    } catch (e) {
      // One submission's failure is its own row, never the run's.
      const why = `${t.student}/${t.file}: grader problem: ${(e as Error).message}`;
      g = {
        student: t.student,
        notebook: t.file,
        rows: zeroRows(inst, why),
        invalid: why,
        notes: [],
        cells: [],
        runs: 0,
      };
    }
    try {
      submitted.set(`${t.student}/${t.file}`, g.invalid ? null : JSON.parse(text));
    } catch { /* invalid: no page */ }
    if (!o.quiet) {
      const pts = g.rows.reduce((s, r) => s + r.points, 0);
      const max = g.rows.reduce((s, r) => s + r.max, 0);
      console.error(
        `graded ${t.student}/${t.file}: ${pts}/${max}` +
          (g.seconds !== undefined ? ` (${g.seconds} s, peak ${g.peakMb} MB)` : "") +
          (g.invalid ? ` (INVALID: ${g.invalid})` : ""),
      );
    }
    return g;
  });
  const kept = grades.filter((g) => g !== null);
  if (!o.noFeedback) {
    const fb = `${o.out}/feedback`;
    await writeNotebookAssets(fb);
    const byStudent = new Map<string, NotebookGrade[]>();
    for (const g of kept) byStudent.set(g.student, [...(byStudent.get(g.student) ?? []), g]);
    for (const [student, gs] of byStudent) {
      gs.sort((a, b) => (a.notebook < b.notebook ? -1 : 1));
      const slug = studentSlug(student);
      const pages = new Map<string, string>();
      for (const g of gs) {
        if (g.cells.length === 0) continue;
        const href = `${slug}__${g.notebook.replace(/\.ipynb$/, "")}.html`;
        const nb = gradedNotebook(g, submitted.get(`${g.student}/${g.notebook}`) ?? null);
        await writeFileAtomic(`${fb}/${href}`, renderNotebookPage(nb, g.notebook));
        pages.set(g.notebook, href);
      }
      await writeFileAtomic(`${fb}/${slug}.html`, feedbackPage(student, gs, pages));
    }
  }
  const records: ResultRecord[] = kept.map((g) => ({
    student: g.student,
    notebook: g.notebook,
    rows: g.rows,
    ...(g.invalid ? { invalid: g.invalid } : {}),
    notes: g.notes,
  }));
  const summary = await writeReports(o.out, records);
  if (!o.quiet) console.log(summary);
  return { records };
}

/** Bounds of the limits (documented in the README's Grading section). */
export const LIMITS = {
  jobs: [1, 64],
  timeoutSec: [1, 3600],
  memoryMb: [64, 65536],
} as const;

/** A `--name` option that must be a number within [lo, hi] (an integer when `integer`). */
export function boundedOption(
  name: string,
  v: string | undefined,
  [lo, hi]: readonly [number, number],
  integer: boolean,
): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\s*[0-9.eE+-]+\s*$/.test(v) ? Number(v) : NaN;
  if (!(n >= lo && n <= hi) || (integer && !Number.isInteger(n))) {
    throw new Error(
      `grade: --${name} must be ${integer ? "an integer" : "a number"} from ${lo} to ${hi}, ` +
        `got "${v}"`,
    );
  }
  return n;
}

/**
 * Starts one sandbox with the given limits and an empty notebook: a limit the sandbox cannot
 * start with is the user's mistake (exit 2), not a class of zeros.
 */
export async function probeSandbox(root: string, timeoutSec: number, memoryMb: number) {
  const r = await runSandboxed([{ kind: "code", source: "" }], {
    root,
    bindings: [],
    timeoutSec,
    memoryMb,
    maxSkips: 0,
  });
  if (r.problems.length || r.cells[0].status !== "ran") {
    throw new Error(
      `grade: the sandbox cannot start with --memory ${memoryMb} and --timeout ${timeoutSec} ` +
        `(${r.problems.join("; ") || r.cells[0].reason}); raise them (an empty notebook peaked ` +
        `at ${r.peakMb} MB)`,
    );
  }
}

/** Ends the process after a signal, leaving no sandbox process and no temporary file. */
function onSignals(): void {
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  for (const [sig, code] of Object.entries(codes) as [Deno.Signal, number][]) {
    Deno.addSignalListener(sig, () => {
      cleanupSync();
      console.error(`grade: stopped by ${sig}; sandboxes killed, temporary files removed`);
      Deno.exit(code);
    });
  }
  // Deno.exit (from runMain, or when a launcher died) and crashes run these too.
  globalThis.addEventListener("unload", cleanupSync);
  globalThis.addEventListener("error", cleanupSync);
  globalThis.addEventListener("unhandledrejection", cleanupSync);
}

async function main(args: string[]): Promise<number> {
  onSignals();
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      jobs: { type: "string" },
      timeout: { type: "string" },
      memory: { type: "string" },
      shard: { type: "string" },
      notebooks: { type: "string" },
    },
  });
  if (positionals.length !== 1) {
    throw new Error(
      "usage: deno task grade SUBMISSIONS [--out DIR] [--jobs N] [--timeout S] [--memory MB] " +
        "[--shard K/N] [--notebooks DIR]  (SUBMISSIONS holds <student>/<notebook>.ipynb)",
    );
  }
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const jobs = boundedOption("jobs", values.jobs, LIMITS.jobs, true) ??
    Math.max(1, Math.min(LIMITS.jobs[1], navigator.hardwareConcurrency ?? 1));
  const timeoutSec = boundedOption("timeout", values.timeout, LIMITS.timeoutSec, false) ?? 60;
  const memoryMb = boundedOption("memory", values.memory, LIMITS.memoryMb, false) ?? 1024;
  const shard = values.shard ? parseShard(values.shard) : undefined;
  await probeSandbox(root, timeoutSec, memoryMb);
  const { records } = await gradeAll({
    submissions: positionals[0],
    notebooks: values.notebooks ?? `${root}/notebooks`,
    out: values.out ?? "dist/grades",
    jobs,
    timeoutSec,
    memoryMb,
    shard,
    root,
  });
  const invalid = records.filter((r) => r.invalid);
  if (invalid.length) {
    console.error(`grade: ${invalid.length} submission(s) invalid or missing (graded 0):`);
    for (const r of invalid) console.error(`  ${r.invalid}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) runMain(main);
