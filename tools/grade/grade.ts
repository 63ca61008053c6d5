/**
 * `deno task grade SUBMISSIONS [--from folders|moodle|canvas] [--assignment ID] [--roster FILE]
 * [--lms moodle|canvas] [--out DIR] [--jobs N] [--timeout S] [--memory MB] [--shard K/N]
 * [--notebooks DIR]` (see `--help`).
 *
 * Which files are graded comes from `submissions.ts` (the platforms' naming, rosters, matching
 * an upload to a course notebook); each is graded by `gradeSubmission` (grader.ts) in the
 * sandbox; what is written comes from `report.ts` and `gradebook.ts`, and the feedback pages
 * from `feedback.ts`. A notebook of the assignment a student did not submit gets its rows with 0
 * points and the reason; that is a result, not an error.
 *
 * Exit code: 0 when every file was graded, 1 when some file could not be graded (not JSON, not
 * a notebook, not a course notebook: it gets a row with the reason, every other row is still
 * written), 2 for a usage or instructor-notebook error.
 *
 * @module
 */
import { instructorInLanguage, studentLanguage, submissionLanguage } from "../i18n/grade.ts";
import { SOURCE_LANG } from "../i18n/langs.ts";
import { parseArgs } from "node:util";
import { runMain } from "../cli.ts";
import { pool } from "../pool.ts";
import { processAlive } from "../proc.ts";
import { type Notebook, writeFileAtomic } from "../notebook/io.ts";
import {
  gradeSubmission,
  type Instructor,
  loadInstructors,
  type NotebookGrade,
  zeroRows,
} from "./grader.ts";
import { emptyProfile, runSandboxed, type SandboxProfile } from "./sandbox.ts";
import { closeIdleCheckers } from "./checker.ts";
import { cleanupSync, trackFile, untrackFile } from "./cleanup.ts";
import { type ResultRecord, writeReports } from "./report.ts";
import {
  type FeedbackItem,
  feedbackPage,
  gradedNotebook,
  renderNotebookPage,
  studentSlug,
  writeNotebookAssets,
} from "./feedback.ts";
import { type Assignment, exercisesOf, loadCourse, notebookVersion } from "./course.ts";
import {
  applyRoster,
  collect,
  loadRoster,
  type Picked,
  pickUploads,
  type Platform,
  PLATFORMS,
  type Roster,
  type Student,
} from "./submissions.ts";
import type { RunInfo } from "./gradebook.ts";
import { moodleFeedbackName } from "./lms/moodle.ts";

/** Options of {@link gradeAll}. */
export interface GradeAllOptions {
  /** A folder or zip of submissions, named as `from` says. */
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
  /** How the submissions are named (default "folders"). */
  from?: Platform;
  /** Grade exactly this assignment's notebooks. */
  assignment?: Assignment;
  /** A roster (the platform's export) for names, emails and ids. */
  roster?: Roster;
  /** Also write the platform's import file. */
  lms?: "moodle" | "canvas";
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

/** The rows of a notebook that was not graded for a student: 0 points and the reason. */
function zeroGrade(
  inst: Instructor,
  student: string,
  notebook: string,
  why: string,
): NotebookGrade {
  return {
    student,
    notebook,
    rows: zeroRows(inst, why),
    notes: [why],
    cells: [],
    runs: 0,
  };
}

interface Task {
  student: Student;
  notebook: string;
  /** The upload to grade, or null: not submitted. */
  pick: Picked | null;
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

/** Where a grading run's time went, in milliseconds (for `bench/class_bench.ts`). */
export interface GradeTiming {
  /** Reading the instructor notebooks and the submissions. */
  loadMs: number;
  /** Grading every submission (wall time of the pool). */
  gradeMs: number;
  /** Writing the feedback pages. */
  feedbackMs: number;
  /** Writing grades.csv, gradebook.csv, summary.md, results.json and the LMS files. */
  reportsMs: number;
  /** The sandboxed runs' profiles, summed over the submissions. */
  sandbox: SandboxProfile;
  /** How many submissions ran in a sandbox. */
  sandboxed: number;
}

/** What {@link gradeAll} returns. */
export interface GradeAllResult {
  records: ResultRecord[];
  invalid: string[];
  timing: GradeTiming;
}

/** Grades a folder or zip of submissions; returns the records written to `out`. */
export async function gradeAll(o: GradeAllOptions): Promise<GradeAllResult> {
  const lock = await lockOut(o.out);
  try {
    return await gradeAllLocked(o);
  } finally {
    closeIdleCheckers();
    await Deno.remove(lock).catch(() => {});
    untrackFile(lock);
  }
}

async function gradeAllLocked(o: GradeAllOptions): Promise<GradeAllResult> {
  const t0 = performance.now();
  const root = o.root ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const from = o.from ?? "folders";
  const say = (m: string) => o.quiet || console.error(m);
  const instructors: Map<string, Instructor> = await loadInstructors(o.notebooks);
  if (instructors.size === 0) {
    throw new Error(`grade: no notebook with check cells in ${o.notebooks}`);
  }
  if (o.assignment) {
    const missing = o.assignment.notebooks.filter((n) => !instructors.has(n));
    if (missing.length) {
      throw new Error(
        `grade: assignment ${o.assignment.id} names ${missing.join(", ")}, which ` +
          `${missing.length > 1 ? "are" : "is"} not a notebook with exercises in ${o.notebooks}`,
      );
    }
  }
  const versions = new Map<string, string>();
  const exercises = new Map<string, Record<string, string>>();
  for (const name of instructors.keys()) {
    versions.set(name, await notebookVersion(await Deno.readFile(`${o.notebooks}/${name}`)));
    exercises.set(
      name,
      Object.fromEntries([...exercisesOf(instructors.get(name)!)].map(([k, v]) => [k, v.title])),
    );
  }

  const got = await collect(o.submissions, from);
  for (const p of got.problems) say(`grade: ${p.origin}: ${p.why}`);
  if (o.roster) {
    for (const w of applyRoster(got.students, o.roster, from, true)) say(`grade: ${w}`);
  }
  const graded0 = o.assignment ? new Set(o.assignment.notebooks) : null;
  const { picked, rejected } = pickUploads(got.uploads, instructors, graded0);
  const graded = graded0 ?? new Set(picked.map((p) => p.notebook));
  const order = [...graded].sort();
  if (!o.assignment) {
    say(
      `grade: no --assignment: grading the notebooks found in the submissions: ` +
        `${order.join(", ") || "(none)"}`,
    );
  }
  for (const r of rejected.filter((r) => !r.invalid)) say(`grade: ${r.origin}: ${r.why}`);

  const keys = shardOf([...got.students.keys()].sort(), o.shard);
  const inShard = new Set(keys);
  const tasks: Task[] = [];
  for (const key of keys) {
    const student = got.students.get(key)!;
    for (const nb of order) {
      const pick = picked.find((p) => p.student === key && p.notebook === nb) ?? null;
      tasks.push({ student, notebook: nb, pick });
    }
  }
  const t1 = performance.now();
  const grades = await pool(tasks, o.jobs, async (t): Promise<NotebookGrade> => {
    const english = instructors.get(t.notebook)!;
    if (!t.pick) return zeroGrade(english, t.student.name, t.notebook, "not submitted");
    let g: NotebookGrade;
    try {
      // A submission in another language is graded against the instructor notebook in that
      // language: same cells and checks, the hidden checks' messages translated.
      const inst = await instructorInLanguage(english, submissionLanguage(t.pick.text), root);
      g = await gradeSubmission(inst, t.student.name, t.pick.file, t.pick.text, {
        root,
        timeoutSec: o.timeoutSec,
        memoryMb: o.memoryMb,
      });
    } catch (e) {
      // One submission's failure is its own row, never the run's.
      const why = `${t.student.name}/${t.pick.file}: grader problem: ${(e as Error).message}`;
      g = { ...zeroGrade(english, t.student.name, t.notebook, why), invalid: why };
    }
    const pts = g.rows.reduce((s, r) => s + r.points, 0);
    const max = g.rows.reduce((s, r) => s + r.max, 0);
    say(
      `graded ${t.student.name}/${t.pick.file}: ${pts}/${max}` +
        (g.seconds !== undefined ? ` (${g.seconds} s, peak ${g.peakMb} MB)` : "") +
        (g.invalid ? ` (INVALID: ${g.invalid})` : ""),
    );
    return g;
  });

  const t2 = performance.now();
  const penalty = o.assignment?.latePenalty ?? 0;
  const records: ResultRecord[] = tasks.map((t, i) => {
    const g = grades[i];
    const late = t.pick?.late ?? false;
    const rows = late && penalty > 0
      ? g.rows.map((r) => ({ ...r, points: Math.round(r.points * (1 - penalty) * 100) / 100 }))
      : g.rows;
    const notes = [...g.notes];
    if (late) notes.push(penalty > 0 ? `late: ${penalty * 100} % of the points deducted` : "late");
    if (t.pick && t.pick.file !== t.notebook) notes.push(`submitted as ${t.pick.file}`);
    return {
      student: t.student.name,
      notebook: t.notebook,
      rows,
      ...(g.invalid ? { invalid: g.invalid } : {}),
      notes,
      id: t.student.id,
      ...(t.student.email ? { email: t.student.email } : {}),
      ...(t.student.canvas ? { canvas: t.student.canvas } : {}),
      ...(t.pick && t.pick.file !== t.notebook ? { file: t.pick.file } : {}),
      ...(late ? { late: true } : {}),
      version: versions.get(t.notebook),
      exercises: exercises.get(t.notebook),
    };
  });
  // Files that could not be graded at all: one row each, 0 of 0, with the reason.
  for (const r of rejected.filter((r) => r.invalid && inShard.has(r.student))) {
    const s = got.students.get(r.student)!;
    records.push({
      student: s.name,
      notebook: "-",
      rows: [{ check: "-", points: 0, max: 0, hidden: false, passed: false, message: r.why }],
      invalid: `${s.name}: ${r.origin}: ${r.why}`,
      notes: [],
      id: s.id,
      ...(s.email ? { email: s.email } : {}),
      ...(s.canvas ? { canvas: s.canvas } : {}),
      file: r.file,
    });
  }

  if (!o.noFeedback) {
    const submitted = new Map<string, Notebook>();
    tasks.forEach((t, i) => {
      if (t.pick && !grades[i].invalid) {
        submitted.set(`${t.student.key}\u0000${t.notebook}`, JSON.parse(t.pick.text));
      }
    });
    // Exercise titles on a feedback page come from the instructor notebook in its language.
    const titlesIn = async (notebook: string, lang: string) =>
      lang === SOURCE_LANG ? exercises.get(notebook) : Object.fromEntries(
        [...exercisesOf(await instructorInLanguage(instructors.get(notebook)!, lang, root))]
          .map(([k, v]) => [k, v.title]),
      );
    await writeFeedback(o.out, tasks, grades, records, submitted, from === "moodle", titlesIn);
  }
  const t3 = performance.now();
  const run: RunInfo = {
    from,
    ...(o.assignment
      ? {
        assignment: {
          id: o.assignment.id,
          title: o.assignment.title,
          ...(o.assignment.canvas ? { canvasId: o.assignment.canvas.assignmentId } : {}),
          ...(o.assignment.latePenalty ? { latePenalty: o.assignment.latePenalty } : {}),
        },
      }
      : {}),
    notebooks: order,
    ...(o.lms ? { lms: o.lms } : {}),
    ...(o.roster?.worksheet ? { worksheet: o.roster.worksheet } : {}),
    gradedAt: new Date().toISOString(),
  };
  const summary = await writeReports(o.out, records, run);
  if (!o.quiet) console.log(summary);
  const sandbox = emptyProfile();
  let sandboxed = 0;
  for (const g of grades) {
    if (!g.profile) continue;
    sandboxed++;
    for (const k of Object.keys(sandbox) as (keyof SandboxProfile)[]) sandbox[k] += g.profile[k];
  }
  return {
    records,
    invalid: records.filter((r) => r.invalid).map((r) => r.invalid!),
    timing: {
      loadMs: t1 - t0,
      gradeMs: t2 - t1,
      feedbackMs: t3 - t2,
      reportsMs: performance.now() - t3,
      sandbox,
      sandboxed,
    },
  };
}

async function writeFeedback(
  out: string,
  tasks: readonly Task[],
  grades: readonly NotebookGrade[],
  records: readonly ResultRecord[],
  submitted: ReadonlyMap<string, Notebook>,
  moodle: boolean,
  titlesIn: (notebook: string, lang: string) => Promise<Record<string, string> | undefined>,
): Promise<void> {
  const fb = `${out}/feedback`;
  await writeNotebookAssets(fb);
  const byStudent = new Map<string, number[]>();
  tasks.forEach((t, i) =>
    byStudent.set(t.student.key, [...(byStudent.get(t.student.key) ?? []), i])
  );
  for (const [key, idx] of byStudent) {
    const student = tasks[idx[0]].student;
    const slug = studentSlug(key === student.name ? key : `${student.name}-${student.id}`);
    const pages = new Map<string, string>();
    const items: FeedbackItem[] = [];
    // The student's language: that of the notebooks they submitted.
    const lang = studentLanguage(
      idx.map((i) => submitted.get(`${key}\u0000${tasks[i].notebook}`)).filter((n) => !!n),
    );
    for (const i of idx) {
      const t = tasks[i], g = grades[i];
      const r = { ...records[i], exercises: (await titlesIn(tasks[i].notebook, lang)) ?? {} };
      const nb = submitted.get(`${key}\u0000${t.notebook}`);
      if (g.cells.length > 0 && nb) {
        const href = `${slug}__${t.notebook.replace(/\.ipynb$/, "")}.html`;
        const page = gradedNotebook(g, nb, `${slug}.html`, r.exercises ?? {}, lang);
        await writeFileAtomic(
          `${fb}/${href}`,
          renderNotebookPage(page, t.pick?.file ?? t.notebook, `${slug}.html`, lang),
        );
        pages.set(t.notebook, href);
      }
      items.push({ record: r, grade: g });
    }
    const extra = records.filter((r) =>
      r.notebook === "-" && r.id === student.id && r.student === student.name
    );
    for (const r of extra) items.push({ record: r, grade: null });
    await writeFileAtomic(
      `${fb}/${slug}.html`,
      feedbackPage(student.name, items, pages, "assets/", lang),
    );
    if (moodle && /^moodle:/.test(key)) {
      const name = moodleFeedbackName(student.name, student.id, "feedback.html");
      await writeFileAtomic(
        `${fb}/moodle/${name}`,
        feedbackPage(student.name, items, new Map(), null, lang),
      );
    }
  }
}

const USAGE = `usage: deno task grade SUBMISSIONS [options]

Grades the notebooks in SUBMISSIONS (a folder or a zip) in a sandbox, against the instructor
notebooks, and writes OUT/grades.csv (one row per check), OUT/gradebook.csv (one row per
student), OUT/summary.md, OUT/results.json and OUT/feedback/ (a page per student).

  --from folders|moodle|canvas  how SUBMISSIONS names files (default folders):
                       folders  <student>/<notebook>.ipynb
                       moodle   Moodle's "Download all submissions" zip (or its folder)
                       canvas   Canvas's "Download submissions" zip (or its folder)
  --assignment ID      grade exactly the notebooks of this assignment of the course file;
                       without it, the notebooks found in the submissions are graded
  --course FILE        the course file (default course.json)
  --roster FILE        names, emails and ids: Moodle's grading worksheet or participants
                       export, or Canvas's gradebook export
  --lms moodle|canvas  also write OUT/lms-moodle.csv or OUT/lms-canvas.csv to import
                       (and, from a Moodle zip, OUT/feedback-moodle.zip to upload)
  --out DIR            output folder (default dist/grades)
  --jobs N             submissions graded at once (default: the number of cores)
  --timeout S          seconds a run of one notebook may take (default 60)
  --memory MB          resident memory a run may use (default 1024)
  --shard K/N          grade every N-th student from the K-th; join with deno task grade:merge
  --notebooks DIR      the instructor notebooks (default notebooks/)
  -h, --help           this text

Exit: 0 when every file was graded (a notebook not submitted is 0 points, not an error),
1 when some file could not be graded (its row says why; every other row is written),
2 for a usage error.`;

function usage(message: string): never {
  throw new Error(`grade: ${message}\n\n${USAGE}`);
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
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        jobs: { type: "string" },
        timeout: { type: "string" },
        memory: { type: "string" },
        shard: { type: "string" },
        notebooks: { type: "string" },
        from: { type: "string" },
        assignment: { type: "string" },
        course: { type: "string" },
        roster: { type: "string" },
        lms: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) usage("give one SUBMISSIONS folder or zip");
  const from = (values.from ?? "folders") as Platform;
  if (!PLATFORMS.includes(from)) usage(`--from must be one of ${PLATFORMS.join(", ")}`);
  if (values.lms !== undefined && values.lms !== "moodle" && values.lms !== "canvas") {
    usage("--lms must be moodle or canvas");
  }
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  let assignment: Assignment | undefined;
  if (values.assignment !== undefined) {
    const course = await loadCourse(values.course ?? `${root}/course.json`);
    assignment = course.assignments.find((a) => a.id === values.assignment);
    if (!assignment) {
      usage(
        `--assignment ${values.assignment} is not in the course file; it has ` +
          (course.assignments.map((a) => a.id).join(", ") || "none"),
      );
    }
  }
  const roster = values.roster ? await loadRoster(values.roster) : undefined;
  const jobs = boundedOption("jobs", values.jobs, LIMITS.jobs, true) ??
    Math.max(1, Math.min(LIMITS.jobs[1], navigator.hardwareConcurrency ?? 1));
  const timeoutSec = boundedOption("timeout", values.timeout, LIMITS.timeoutSec, false) ?? 60;
  const memoryMb = boundedOption("memory", values.memory, LIMITS.memoryMb, false) ?? 1024;
  await probeSandbox(root, timeoutSec, memoryMb);
  const { invalid } = await gradeAll({
    submissions: positionals[0],
    notebooks: values.notebooks ?? `${root}/notebooks`,
    out: values.out ?? "dist/grades",
    jobs,
    timeoutSec,
    memoryMb,
    shard: values.shard ? parseShard(values.shard) : undefined,
    root,
    from,
    assignment,
    roster,
    lms: values.lms as "moodle" | "canvas" | undefined,
  });
  if (invalid.length) {
    console.error(`grade: ${invalid.length} file(s) could not be graded (their rows say why):`);
    for (const r of invalid) console.error(`  ${r}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) runMain(main);
