/**
 * Grades back to the gradebook: `gradebook.csv` (wide, one row per student) and the platforms'
 * import files (`lms-moodle.csv`, `lms-canvas.csv`), all through {@link toCsv}, plus the feedback
 * zip Moodle takes back. Everything is computed from the records and the run's description
 * (`run.json`), so `grade:merge` writes the same bytes from shards.
 *
 * @module
 */
import { join } from "node:path";
import { toCsv } from "./csv.ts";
import type { ResultRecord } from "./report.ts";
import { canvasImport } from "./lms/canvas.ts";
import { moodleWorksheet, type Worksheet } from "./lms/moodle.ts";
import { writeZip, type ZipEntry } from "./zip.ts";

/** What a grading run was asked to do, kept in `run.json` for `grade:merge`. */
export interface RunInfo {
  from: "folders" | "moodle" | "canvas";
  /** The assignment graded, when one was named. */
  assignment?: { id: string; title: string; canvasId?: number; latePenalty?: number };
  /** The notebooks graded, in order. */
  notebooks: string[];
  lms?: "moodle" | "canvas";
  /** The Moodle worksheet given as a roster (filled in for the upload). */
  worksheet?: Worksheet;
  /** When grading finished (ISO); the Moodle worksheet's "Last modified (grade)". */
  gradedAt: string;
}

/** A student's totals over the graded notebooks. */
export interface StudentTotal {
  student: string;
  id: string;
  email?: string;
  canvas?: ResultRecord["canvas"];
  points: number;
  max: number;
  late: string[];
  byNotebook: Map<string, number>;
  byExercise: Map<string, number>;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Per-student totals, in the records' order (sorted by student). */
export function totals(records: readonly ResultRecord[]): StudentTotal[] {
  const out = new Map<string, StudentTotal>();
  for (const r of records) {
    const key = `${r.student}\u0000${r.id ?? r.student}`;
    const t: StudentTotal = out.get(key) ?? {
      student: r.student,
      id: r.id ?? r.student,
      ...(r.email ? { email: r.email } : {}),
      ...(r.canvas ? { canvas: r.canvas } : {}),
      points: 0,
      max: 0,
      late: [],
      byNotebook: new Map(),
      byExercise: new Map(),
    };
    t.email ??= r.email;
    t.canvas ??= r.canvas;
    if (r.notebook === "-") {
      out.set(key, t); // a file that is no course notebook: the student is listed, nothing counts
      continue;
    }
    const pts = r.rows.reduce((s, x) => s + x.points, 0);
    t.points = round(t.points + pts);
    t.max = round(t.max + r.rows.reduce((s, x) => s + x.max, 0));
    t.byNotebook.set(r.notebook, round((t.byNotebook.get(r.notebook) ?? 0) + pts));
    for (const row of r.rows) {
      const col = exerciseColumn(r.notebook, r.exercises?.[row.check] ?? row.check);
      t.byExercise.set(col, round((t.byExercise.get(col) ?? 0) + row.points));
    }
    if (r.late) t.late.push(r.notebook);
    out.set(key, t);
  }
  return [...out.values()];
}

/** A gradebook column for an exercise: the notebook's number and the exercise's title. */
export function exerciseColumn(notebook: string, title: string): string {
  const num = /^(\d+)_/.exec(notebook)?.[1];
  return `${num ?? notebook.replace(/\.ipynb$/, "")} ${title}`;
}

/**
 * `gradebook.csv`: `student,id,total,max,late`, a column per notebook, then a column per
 * exercise (titled by the exercise), one row per student.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gradebookCsv } from "./gradebook.ts";
 * const rows = [
 *   { check: "90-ex1-visible", points: 0, max: 0, hidden: false, passed: true, message: "" },
 *   { check: "90-ex1", points: 3, max: 3, hidden: true, passed: true, message: "" },
 * ];
 * const csv = gradebookCsv([{ student: "Ana", id: "7", notebook: "90_f.ipynb", notes: [], rows,
 *   exercises: { "90-ex1": "Exercise 1: shrink", "90-ex1-visible": "Exercise 1: shrink" } }]);
 * assert.strictEqual(csv,
 *   "student,id,total,max,late,90_f.ipynb,90 Exercise 1: shrink\nAna,7,3,3,,3,3\n");
 * ```
 */
export function gradebookCsv(records: readonly ResultRecord[]): string {
  const ts = totals(records);
  const notebooks = [...new Set(records.map((r) => r.notebook).filter((n) => n !== "-"))].sort();
  const exercises: string[] = [];
  for (const r of [...records].sort((a, b) => (a.notebook < b.notebook ? -1 : 1))) {
    if (r.notebook === "-") continue;
    for (const row of r.rows) {
      const col = exerciseColumn(r.notebook, r.exercises?.[row.check] ?? row.check);
      if (!exercises.includes(col)) exercises.push(col);
    }
  }
  return toCsv(
    ["student", "id", "total", "max", "late", ...notebooks, ...exercises],
    ts.map((t) => [
      t.student,
      t.id,
      t.points,
      t.max,
      t.late.join(" "),
      ...notebooks.map((n) => t.byNotebook.get(n) ?? null),
      ...exercises.map((e) => t.byExercise.get(e) ?? null),
    ]),
  );
}

/** The platform's import file for the run, or null when no `--lms` was asked. */
export function lmsCsv(records: readonly ResultRecord[], run: RunInfo): string | null {
  if (!run.lms) return null;
  const ts = totals(records);
  const title = run.assignment?.title ?? "Notebooks";
  if (run.lms === "canvas") {
    const max = Math.max(0, ...ts.map((t) => t.max));
    const { header, rows } = canvasImport(
      ts.map((t) => ({
        name: t.canvas?.name ?? t.student,
        id: t.canvas?.id ?? t.id,
        sisUserId: t.canvas?.sisUserId,
        sisLoginId: t.canvas?.sisLoginId,
        section: t.canvas?.section,
        points: t.points,
      })),
      { title, canvasId: run.assignment?.canvasId, max },
    );
    return toCsv(header, rows);
  }
  const { header, rows } = moodleWorksheet(
    ts.map((t) => ({
      participant: t.id,
      name: t.student,
      ...(t.email ? { email: t.email } : {}),
      points: t.points,
      max: t.max,
      comment: `${t.points} / ${t.max} points (${title}); the feedback file has each exercise.`,
    })),
    new Date(run.gradedAt),
    run.worksheet ?? null,
  );
  return toCsv(header, rows);
}

/**
 * The zip Moodle's "Upload multiple feedback files in a zip" takes back, from the standalone
 * pages in `feedbackDir/moodle/` (already named as Moodle expects); null when there are none.
 */
export async function moodleFeedbackZip(feedbackDir: string): Promise<Uint8Array | null> {
  const files: ZipEntry[] = [];
  try {
    for await (const e of Deno.readDir(join(feedbackDir, "moodle"))) {
      if (e.isFile) {
        files.push({
          name: e.name,
          data: await Deno.readFile(join(feedbackDir, "moodle", e.name)),
        });
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return files.length ? writeZip(files) : null;
}
