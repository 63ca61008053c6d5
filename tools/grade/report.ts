/**
 * What a grading run writes: `grades.csv`, `results.json` (what `grade:merge` reads back) and
 * `summary.md`, plus the summary table printed to the terminal. Rows are in a canonical order
 * (student, notebook, then the instructor's check order), so shards merged give the same bytes
 * as one run.
 *
 * @module
 */
import { writeFileAtomic } from "../notebook/io.ts";
import type { CheckRow } from "./grader.ts";
import { toCsv } from "./csv.ts";
import { gradebookCsv, lmsCsv, moodleFeedbackZip, type RunInfo } from "./gradebook.ts";
import type { CanvasStudent } from "./lms/canvas.ts";

/** What `results.json` keeps of one graded submission. */
export interface ResultRecord {
  student: string;
  notebook: string;
  rows: CheckRow[];
  invalid?: string;
  notes: string[];
  /** The platform's id of the student (participant id, Canvas user id, folder name). */
  id?: string;
  email?: string;
  canvas?: CanvasStudent;
  /** The file's name as submitted, when it differs from the notebook's. */
  file?: string;
  /** The submission was marked late by the platform. */
  late?: boolean;
  /** The instructor notebook's version it was graded against (see `notebookVersion`). */
  version?: string;
  /** Check id -> the title of the exercise it belongs to. */
  exercises?: Record<string, string>;
}

/** Sorts records by student, then notebook (code-point order, independent of the locale). */
export function sortRecords(records: ResultRecord[]): ResultRecord[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return records.sort((a, b) => cmp(a.student, b.student) || cmp(a.notebook, b.notebook));
}

/**
 * `grades.csv`: `student,notebook,check,points,max,result,exercise,id,version`, one row per
 * check (through {@link toCsv}: quoted, formulas neutralised). `result` is `passed` or `failed`
 * for every check, visible ones (0 points) included.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gradesCsv } from "../../tools/grade/report.ts";
 * const csv = gradesCsv([{ student: "a,b", notebook: "01.ipynb", notes: [], id: "7",
 *   rows: [{ check: "01-ex1", points: 2, max: 4, hidden: true, passed: false, message: "" }] }]);
 * assert.strictEqual(csv, 'student,notebook,check,points,max,result,exercise,id,version\n' +
 *   '"a,b",01.ipynb,01-ex1,2,4,failed,,7,\n');
 * ```
 */
export function gradesCsv(records: readonly ResultRecord[]): string {
  const rows = records.flatMap((r) =>
    r.rows.map((row) => [
      r.student,
      r.notebook,
      row.check,
      row.points,
      row.max,
      row.passed ? "passed" : "failed",
      r.exercises?.[row.check] ?? "",
      r.id ?? r.student,
      r.version ?? "",
    ])
  );
  return toCsv(
    ["student", "notebook", "check", "points", "max", "result", "exercise", "id", "version"],
    rows,
  );
}

/** One line per submission: points, maximum and what went wrong; then per-student totals. */
export function summaryTable(records: readonly ResultRecord[]): string {
  const md = (s: string) => s.replace(/[|\\`*_<>\[\]]/g, (c) => `\\${c}`).replace(/\s+/g, " ");
  const lines = [
    "| student | notebook | points | max | checks passed | notes |",
    "| --- | --- | ---: | ---: | ---: | --- |",
  ];
  const totals = new Map<string, [number, number]>();
  for (const r of records) {
    const pts = r.rows.reduce((s, x) => s + x.points, 0);
    const max = r.rows.reduce((s, x) => s + x.max, 0);
    const t = totals.get(r.student) ?? [0, 0];
    totals.set(r.student, [t[0] + pts, t[1] + max]);
    const passed = r.rows.filter((x) => x.passed).length;
    const note = r.invalid ? `INVALID: ${r.invalid}` : r.notes.join("; ");
    lines.push(
      `| ${md(r.student)} | ${md(r.notebook)} | ${pts} | ${max} | ${passed}/${r.rows.length} | ${
        md(note.slice(0, 300))
      } |`,
    );
  }
  lines.push("", "| student | total | max |", "| --- | ---: | ---: |");
  for (const [s, [p, m]] of totals) lines.push(`| ${md(s)} | ${p} | ${m} |`);
  return lines.join("\n") + "\n";
}

/**
 * Writes grades.csv, gradebook.csv, results.json and summary.md into `dir` (atomically, each),
 * and with a run description also `run.json`, the platform's import file and Moodle's feedback
 * zip.
 */
export async function writeReports(
  dir: string,
  records: ResultRecord[],
  run?: RunInfo,
): Promise<string> {
  sortRecords(records);
  const summary = summaryTable(records);
  await writeFileAtomic(`${dir}/grades.csv`, gradesCsv(records));
  await writeFileAtomic(`${dir}/gradebook.csv`, gradebookCsv(records));
  await writeFileAtomic(`${dir}/results.json`, JSON.stringify(records, null, 1) + "\n");
  await writeFileAtomic(`${dir}/summary.md`, summary);
  if (run) {
    await writeFileAtomic(`${dir}/run.json`, JSON.stringify(run, null, 1) + "\n");
    const lms = lmsCsv(records, run);
    if (lms !== null) await writeFileAtomic(`${dir}/lms-${run.lms}.csv`, lms);
    if (run.lms === "moodle" || run.from === "moodle") {
      const zip = await moodleFeedbackZip(`${dir}/feedback`);
      if (zip) {
        const tmp = `${dir}/feedback-moodle.zip.tmp-${crypto.randomUUID().slice(0, 8)}`;
        await Deno.writeFile(tmp, zip);
        await Deno.rename(tmp, `${dir}/feedback-moodle.zip`);
      }
    }
  }
  return summary;
}
