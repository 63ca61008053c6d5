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
import { positiveOption, runMain } from "../cli.ts";
import { type Notebook, writeFileAtomic } from "../notebook/io.ts";
import { gradeSubmission, type Instructor, loadInstructors, type NotebookGrade } from "./grader.ts";
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

/** Grades a folder of submissions; returns the records written to `out`. */
export async function gradeAll(o: GradeAllOptions): Promise<{ records: ResultRecord[] }> {
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
      const why = `${t.student}: ${t.file} was not submitted`;
      return {
        student: t.student,
        notebook: t.file,
        rows: inst.checks.map((c) => ({
          check: c.id,
          points: 0,
          max: c.points,
          hidden: c.hidden,
          passed: false,
          message: "not submitted",
        })),
        invalid: why,
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
    const g = await gradeSubmission(inst, t.student, t.file, text, {
      root,
      timeoutSec: o.timeoutSec,
      memoryMb: o.memoryMb,
    });
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

async function main(args: string[]): Promise<number> {
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
  const jobs = positiveOption("grade", "jobs", values.jobs) ??
    Math.max(1, navigator.hardwareConcurrency ?? 1);
  const { records } = await gradeAll({
    submissions: positionals[0],
    notebooks: values.notebooks ?? `${root}/notebooks`,
    out: values.out ?? "dist/grades",
    jobs: Math.floor(jobs),
    timeoutSec: positiveOption("grade", "timeout", values.timeout) ?? 60,
    memoryMb: positiveOption("grade", "memory", values.memory) ?? 1024,
    shard: values.shard ? parseShard(values.shard) : undefined,
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
