/**
 * The grader's core: instructor notebooks in, one graded result per submission out. The CLI
 * (`grade.ts`) adds argument parsing, sharding and the output files.
 *
 * A submission is assembled from the student's code cells in their order, except that every
 * check cell is the instructor's (matched by cell id or check id; missing and hidden ones are
 * inserted where the instructor's notebook has them). Student metadata never marks a check.
 * The assembled cells run in the sandbox (`sandbox.ts`).
 *
 * @module
 */
import {
  type Cell,
  type Notebook,
  NotebookError,
  parseNotebook,
  sourceText,
} from "../notebook/io.ts";
import {
  type CheckCell,
  checkCells,
  gradeMeta,
  hasSolution,
  type ImportBinding,
  importBindings,
  isGraded,
} from "../notebook/exercises.ts";
import { type CellResult, runSandboxed, type SandboxCell } from "./sandbox.ts";

/** An instructor notebook ready for grading. */
export interface Instructor {
  /** File name, e.g. "01_norm_penalties.ipynb". */
  name: string;
  notebook: Notebook;
  checks: CheckCell[];
  bindings: ImportBinding[];
  /** The names the exercise cells declare: all that a hidden check may take from a submission. */
  exerciseNames: string[];
}

/** One row of grades.csv plus what the feedback page shows. */
export interface CheckRow {
  check: string;
  points: number;
  max: number;
  hidden: boolean;
  passed: boolean;
  message: string;
}

/** The graded result of one submission file. */
export interface NotebookGrade {
  student: string;
  /** The submitted file's name. */
  notebook: string;
  rows: CheckRow[];
  /** Why the submission could not be graded (then every row scores 0). */
  invalid?: string;
  /** Things worth telling the student (a restored check, a skipped cell, ...). */
  notes: string[];
  /** The assembled cells and what they printed, for the feedback page. */
  cells: { kind: "code" | "check"; source: string; checkId?: string; result: CellResult }[];
  runs: number;
  /** Peak resident memory (MB) and wall time (s) of the sandboxed runs, for the progress line. */
  peakMb?: number;
  seconds?: number;
}

/** Limits of a grading run. */
export interface GradeOptions {
  root: string;
  timeoutSec: number;
  memoryMb: number;
  maxSkips?: number;
}

/** Loads an instructor notebook; throws (naming the file and cell) when it is not gradable. */
export function loadInstructor(name: string, text: string): Instructor {
  const notebook = parseNotebook(text, name);
  const checks = checkCells(notebook, name);
  for (const c of checks) {
    if (!c.hidden && c.points > 0) {
      throw new Error(
        `${name}: visible check ${c.id} (cell ${c.index + 1}) has ${c.points} points: points go ` +
          `to hidden checks (a visible check runs beside the student's code, which can make it ` +
          `pass); see docs/exercises.md`,
      );
    }
  }
  const codes = notebook.cells.filter((c) => c.cell_type === "code").map((c) =>
    sourceText(c.source)
  );
  return {
    name,
    notebook,
    checks,
    bindings: importBindings(codes),
    exerciseNames: exerciseNames(notebook),
  };
}

/**
 * The names declared at the top level of the cells that hold a solution region (`function`,
 * `class`, `const`, `let`, `var` at the start of a line, as `deno fmt` writes them).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { exerciseNames } from "./grader.ts";
 * const cell = (source: string) => ({ cell_type: "code" as const, metadata: {}, source,
 *   outputs: [], execution_count: null });
 * const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [
 *   cell("function lecture() {}"),
 *   cell("function ex1(x: number) {\n  // BEGIN SOLUTION\n  return x;\n  // END SOLUTION\n}\n" +
 *     "const ex1Table = [1];\nexport async function ex1Async() {}"),
 * ] };
 * assert.deepStrictEqual(exerciseNames(nb), ["ex1", "ex1Table", "ex1Async"]);
 * ```
 */
export function exerciseNames(nb: Notebook): string[] {
  const out: string[] = [];
  const decl =
    /^(?:export\s+)?(?:(?:async\s+)?function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)/gm;
  for (const c of nb.cells) {
    if (c.cell_type !== "code" || !hasSolution(c)) continue;
    for (const m of sourceText(c.source).matchAll(decl)) if (!out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

/** The instructor notebooks in `dir` that have check cells, by file name. */
export async function loadInstructors(dir: string): Promise<Map<string, Instructor>> {
  const out = new Map<string, Instructor>();
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb")) names.push(e.name);
  }
  for (const name of names.sort()) {
    const path = `${dir}/${name}`;
    const nb = parseNotebook(await Deno.readTextFile(path), path);
    if (!isGraded(nb)) continue;
    out.set(name, loadInstructor(name, JSON.stringify(nb)));
  }
  return out;
}

/** A row per check of `inst`, each with 0 points and `message` (invalid or not submitted). */
export function zeroRows(inst: Instructor, message: string): CheckRow[] {
  return inst.checks.map((c) => ({
    check: c.id,
    points: 0,
    max: c.points,
    hidden: c.hidden,
    passed: false,
    message,
  }));
}

/**
 * The cells to run for a submission: the student's code cells with the instructor's checks put
 * back. Returns the cells and notes, or a reason the submission is invalid.
 */
export function assemble(
  inst: Instructor,
  sub: Notebook,
): { cells: SandboxCell[]; notes: string[] } | { invalid: string } {
  const instIds = new Map<string, number>();
  inst.notebook.cells.forEach((c, i) => c.id && instIds.set(c.id, i));
  const shared = sub.cells.filter((c) => c.id && instIds.has(c.id)).length;
  if (shared === 0 && inst.notebook.cells.length > 0) {
    return {
      invalid: `wrong notebook: none of its cells comes from ${inst.name}; ` +
        `submit the notebook handed out as ${inst.name}`,
    };
  }
  const byCellId = new Map(inst.checks.map((c) => [c.cellId, c]));
  const byCheckId = new Map(inst.checks.map((c) => [c.id, c]));
  const used = new Set<string>();
  const notes: string[] = [];
  const out: { cell: SandboxCell; instIndex: number }[] = [];
  /** For each instructor cell index present in the submission: items emitted up to it. */
  const emittedUpTo = new Map<number, number>();
  sub.cells.forEach((cell: Cell, i) => {
    let check = cell.id ? byCellId.get(cell.id) : undefined;
    if (!check && cell.cell_type === "code") {
      let g = null;
      try {
        g = gradeMeta(cell, `cell ${i + 1}`);
      } catch { /* student metadata: ignored */ }
      if (g) check = byCheckId.get(g.id);
    }
    if (check) {
      if (!used.has(check.id)) {
        used.add(check.id);
        if (sourceText(cell.source).trim() !== check.source.trim()) {
          notes.push(`check ${check.id} was edited: the instructor's version was run`);
        }
        out.push({
          cell: { kind: "check", source: check.source, checkId: check.id, hidden: check.hidden },
          instIndex: check.index,
        });
      }
    } else if (cell.cell_type === "code") {
      const source = sourceText(cell.source);
      const own = cell.id !== undefined ? instIds.get(cell.id) : undefined;
      const trusted = own !== undefined && !hasSolution(inst.notebook.cells[own]) &&
        sourceText(inst.notebook.cells[own].source) === source;
      out.push({ cell: { kind: "code", source, trusted }, instIndex: -1 });
    }
    const ii = cell.id !== undefined ? instIds.get(cell.id) : undefined;
    if (ii !== undefined) emittedUpTo.set(ii, out.length);
  });
  // Checks the submission lacks (hidden ones always): after the nearest earlier instructor
  // cell the submission still has.
  const inserts: { at: number; order: number; cell: SandboxCell }[] = [];
  for (const c of inst.checks) {
    if (used.has(c.id)) continue;
    if (!c.hidden) notes.push(`check ${c.id} was missing: the instructor's version was run`);
    let at = 0;
    for (let j = c.index - 1; j >= 0; j--) {
      const n = emittedUpTo.get(j);
      if (n !== undefined) {
        at = n;
        break;
      }
    }
    inserts.push({
      at,
      order: c.index,
      cell: { kind: "check", source: c.source, checkId: c.id, hidden: c.hidden },
    });
  }
  inserts.sort((a, b) => a.at - b.at || a.order - b.order);
  const cells: SandboxCell[] = [];
  let k = 0;
  for (let i = 0; i <= out.length; i++) {
    while (k < inserts.length && inserts[k].at === i) cells.push(inserts[k++].cell);
    if (i < out.length) cells.push(out[i].cell);
  }
  const subIds = new Set(sub.cells.map((c) => c.id));
  inst.notebook.cells.forEach((c, i) => {
    if (hasSolution(c) && c.id && !subIds.has(c.id)) {
      notes.push(`the exercise cell ${i + 1} of ${inst.name} is missing from the submission`);
    }
  });
  return { cells, notes };
}

/** What the sandbox refused a cell, from the errors it printed (one note per kind). */
function refusals(output: string, cell: number): string[] {
  const out = new Set<string>();
  for (const m of output.matchAll(/NotCapable: Requires (\w+) access(?: to ("[^"\n]{0,200}"))?/g)) {
    out.add(`cell ${cell} was refused ${m[1]} access${m[2] ? ` to ${m[2]}` : ""} (sandbox)`);
  }
  if (output.includes("grading: ending the process is disabled")) {
    out.add(`cell ${cell} tried to end the process (disabled while grading)`);
  }
  return [...out];
}

/**
 * Grades one submission file's text against an instructor notebook. Never throws for a bad
 * submission: it comes back with `invalid` set and zero points.
 */
export async function gradeSubmission(
  inst: Instructor,
  student: string,
  fileName: string,
  text: string,
  opts: GradeOptions,
): Promise<NotebookGrade> {
  const base = { student, notebook: fileName, notes: [], cells: [], runs: 0 };
  let sub: Notebook;
  try {
    sub = parseNotebook(text, `${student}/${fileName}`);
  } catch (e) {
    const why = e instanceof NotebookError ? e.message : String(e);
    return { ...base, invalid: why, rows: zeroRows(inst, why) };
  }
  const a = assemble(inst, sub);
  if ("invalid" in a) {
    return {
      ...base,
      invalid: `${student}/${fileName}: ${a.invalid}`,
      rows: zeroRows(inst, a.invalid),
    };
  }
  const t0 = performance.now();
  const res = await runSandboxed(a.cells, {
    root: opts.root,
    bindings: inst.bindings,
    exerciseNames: inst.exerciseNames,
    timeoutSec: opts.timeoutSec,
    memoryMb: opts.memoryMb,
    maxSkips: opts.maxSkips,
  });
  if (res.problems.length) {
    const why = `grader problem: ${res.problems.join("; ")}`;
    return { ...base, invalid: why, rows: zeroRows(inst, why), runs: res.runs };
  }
  const notes = [...a.notes, ...res.notes];
  const cells = a.cells.map((c, i) => ({ ...c, result: res.cells[i] }));
  cells.forEach((c, i) => {
    const r = c.result;
    if (r.status === "skipped") {
      notes.push(`cell ${i + 1} was skipped: it stopped the run (${r.reason})`);
    } else if (r.reason) {
      notes.push(`the run stopped in cell ${i + 1}: ${r.reason}`);
    }
    if (c.kind === "code") notes.push(...refusals(r.output, i + 1));
  });
  const byId = new Map(cells.filter((c) => c.kind === "check").map((c) => [c.checkId!, c.result]));
  const rows = inst.checks.map((c) => {
    const r = byId.get(c.id);
    const passed = r?.passed === true;
    return {
      check: c.id,
      points: passed ? c.points : 0,
      max: c.points,
      hidden: c.hidden,
      passed,
      message: passed ? "" : (r?.message ?? "not run"),
    };
  });
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  return { ...base, rows, notes, cells, runs: res.runs, peakMb: res.peakMb, seconds };
}
