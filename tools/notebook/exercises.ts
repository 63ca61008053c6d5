/**
 * The graded-exercise convention of `docs/exercises.md`, as data: check cells (their
 * `metadata.kit.grade`), solution regions, and the student transform.
 *
 * @module
 */
import { type Cell, type CodeCell, type Notebook, sourceText, splitLines } from "./io.ts";
import { UI, ui } from "../i18n/ui.ts";

/** `metadata.kit.grade` of a check cell. */
export interface GradeMeta {
  /** Unique in the notebook, starts with the notebook number ("01-ex1"). */
  id: string;
  /** Points the check is worth (0 for a visible helper check). */
  points: number;
  /** Hidden checks are removed from the student version and decide the grade. */
  hidden: boolean;
}

/** A check cell of an instructor notebook, with where it sits. */
export interface CheckCell extends GradeMeta {
  /** 0-based index among all cells of the instructor notebook. */
  index: number;
  /** The cell's id (nbformat 4.5), used to put it back into a submission. */
  cellId: string;
  source: string;
}

/** An instructor notebook that breaks the convention: the message names the cell and the fix. */
export class ExerciseFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExerciseFormatError";
  }
}

/**
 * The `metadata.kit.grade` of a cell, or null when it has none. Throws an
 * {@link ExerciseFormatError} (naming `where`) when it is there but malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gradeMeta } from "./exercises.ts";
 * const cell = { cell_type: "code" as const, metadata: { kit: { grade: { id: "01-ex1", points: 4, hidden: true } } },
 *   source: "", outputs: [], execution_count: null };
 * assert.deepStrictEqual(gradeMeta(cell, "cell 3"), { id: "01-ex1", points: 4, hidden: true });
 * ```
 */
export function gradeMeta(cell: Cell, where: string): GradeMeta | null {
  const kit = cell.metadata?.kit as { grade?: unknown } | undefined;
  if (!kit || typeof kit !== "object" || kit.grade === undefined) return null;
  const g = kit.grade as Partial<GradeMeta>;
  if (cell.cell_type !== "code") {
    throw new ExerciseFormatError(`${where}: metadata.kit.grade is only allowed on code cells`);
  }
  if (
    !g || typeof g !== "object" || typeof g.id !== "string" || !/^[A-Za-z0-9_.-]+$/.test(g.id) ||
    typeof g.points !== "number" || !(g.points >= 0) || typeof g.hidden !== "boolean"
  ) {
    throw new ExerciseFormatError(
      `${where}: metadata.kit.grade must be {"id": "<nn>-<name>" (letters, digits, - _ .), ` +
        `"points": <number >= 0>, "hidden": <boolean>}, got ${JSON.stringify(g)}`,
    );
  }
  return { id: g.id, points: g.points, hidden: g.hidden };
}

/**
 * The check cells of an instructor notebook, in order. Throws an {@link ExerciseFormatError}
 * for malformed metadata, duplicate ids or a check cell without a cell id.
 */
export function checkCells(nb: Notebook, label: string): CheckCell[] {
  const out: CheckCell[] = [];
  const seen = new Set<string>();
  nb.cells.forEach((cell, index) => {
    const where = `${label}, cell ${index + 1}`;
    const g = gradeMeta(cell, where);
    if (!g) return;
    if (seen.has(g.id)) throw new ExerciseFormatError(`${where}: duplicate check id "${g.id}"`);
    seen.add(g.id);
    if (!cell.id) {
      throw new ExerciseFormatError(
        `${where}: a check cell needs a cell id (nbformat 4.5); re-save the notebook in Jupyter`,
      );
    }
    out.push({ ...g, index, cellId: cell.id, source: sourceText(cell.source) });
  });
  return out;
}

const BEGIN = /^([ \t]*)\/\/ BEGIN SOLUTION[ \t]*$/;
const END = /^[ \t]*\/\/ END SOLUTION[ \t]*$/;

/**
 * The exercise number a solution region belongs to: the nearest `Exercise N` heading above (or
 * its translation in the notebook's language, `metadata.lang`).
 */
function exerciseNumber(nb: Notebook, index: number): string {
  const words = new Set([UI["exercise.word"], ui(notebookLanguage(nb))("exercise.word")]);
  const re = new RegExp(`(?:${[...words].join("|")})\\s+(\\d+)`);
  for (let i = index; i >= 0; i--) {
    const m = re.exec(sourceText(nb.cells[i].source));
    if (m) return m[1];
  }
  return "?";
}

/** A notebook's language: `metadata.lang` (set on translated notebooks), else "en". */
export function notebookLanguage(nb: Notebook): string {
  const lang = nb.metadata?.lang;
  return typeof lang === "string" && /^[a-z]{2,3}(-[A-Za-z0-9]+)*$/.test(lang) ? lang : "en";
}

/**
 * Replaces each solution region of `source` (markers included) by
 * `throw new Error("Exercise N: your code here");` at the marker's indentation. Throws an
 * {@link ExerciseFormatError} for an unbalanced region.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { stripSolutions } from "./exercises.ts";
 * const src = "function f() {\n  // BEGIN SOLUTION\n  return 1;\n  // END SOLUTION\n}\n";
 * assert.strictEqual(stripSolutions(src, "2", "cell 5"),
 *   'function f() {\n  throw new Error("Exercise 2: your code here");\n}\n');
 * ```
 */
export function stripSolutions(
  source: string,
  exercise: string,
  where: string,
  lang = "en",
): string {
  // The stub's message is a JSON string literal (the translation may hold quotes).
  const stub = JSON.stringify(ui(lang)("exercise.stub", { n: exercise }));
  const lines = source.split("\n");
  const out: string[] = [];
  let inside: number | null = null;
  lines.forEach((line, i) => {
    const begin = BEGIN.exec(line);
    if (begin) {
      if (inside !== null) {
        throw new ExerciseFormatError(
          `${where}, line ${i + 1}: BEGIN SOLUTION inside the region opened at line ${inside + 1}`,
        );
      }
      inside = i;
      out.push(`${begin[1]}throw new Error(${stub});`);
      return;
    }
    if (END.test(line)) {
      if (inside === null) {
        throw new ExerciseFormatError(`${where}, line ${i + 1}: END SOLUTION without BEGIN`);
      }
      inside = null;
      return;
    }
    if (inside === null) out.push(line);
  });
  if (inside !== null) {
    throw new ExerciseFormatError(
      `${where}, line ${(inside as number) + 1}: BEGIN SOLUTION without END SOLUTION`,
    );
  }
  return out.join("\n");
}

/** Whether a cell's source holds a solution region. */
export function hasSolution(cell: Cell): boolean {
  return cell.cell_type === "code" &&
    sourceText(cell.source).split("\n").some((l) => BEGIN.test(l));
}

/**
 * The student version of an instructor notebook: solution regions replaced by a stub that
 * throws, hidden check cells removed, outputs and execution counts cleared; everything else
 * (visible checks and their metadata, cell ids, markdown) unchanged. The input is not modified.
 * Throws an {@link ExerciseFormatError} when the notebook breaks the convention.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { studentNotebook } from "./exercises.ts";
 * const code = (id: string, source: string, metadata = {}) =>
 *   ({ cell_type: "code" as const, id, metadata, source, outputs: [], execution_count: 1 });
 * const nb = {
 *   nbformat: 4 as const, nbformat_minor: 5, metadata: {},
 *   cells: [
 *     { cell_type: "markdown" as const, id: "m", metadata: {}, source: "### Exercise 1: f (2 points)" },
 *     code("a", "function f() {\n  // BEGIN SOLUTION\n  return 1;\n  // END SOLUTION\n}"),
 *     code("b", "f();", { kit: { grade: { id: "01-ex1", points: 2, hidden: true } } }),
 *   ],
 * };
 * const s = studentNotebook(nb);
 * assert.strictEqual(s.cells.length, 2);
 * assert.ok(JSON.stringify(s.cells[1]).includes("Exercise 1: your code here"));
 * assert.ok(!JSON.stringify(s).includes("return 1"));
 * ```
 */
export function studentNotebook(nb: Notebook, label = "notebook"): Notebook {
  checkCells(nb, label); // validates the metadata
  const cells: Cell[] = [];
  nb.cells.forEach((cell, index) => {
    const where = `${label}, cell ${index + 1}`;
    const copy = structuredClone(cell);
    if (copy.cell_type !== "code") {
      cells.push(copy);
      return;
    }
    const g = gradeMeta(copy, where);
    if (g?.hidden) return;
    const src = sourceText(copy.source);
    const stripped = hasSolution(copy)
      ? stripSolutions(src, exerciseNumber(nb, index), where, notebookLanguage(nb))
      : src;
    if (g === null && /BEGIN SOLUTION|END SOLUTION/.test(stripped)) {
      throw new ExerciseFormatError(
        `${where}: a SOLUTION marker that is not alone on its line ("// BEGIN SOLUTION"); ` +
          `put each marker on its own line`,
      );
    }
    const code: CodeCell = { ...copy, source: splitLines(stripped), outputs: [] };
    code.execution_count = null;
    cells.push(code);
  });
  return { ...structuredClone(nb), cells };
}

/** Whether a notebook has at least one check cell. */
export function isGraded(nb: Notebook): boolean {
  return nb.cells.some((c) => (c.metadata?.kit as { grade?: unknown } | undefined)?.grade);
}

/** One name an import statement binds: `local` is bound to `name` of module `spec`. */
export interface ImportBinding {
  spec: string;
  /** "default", "*" (namespace) or an export name. */
  name: string;
  local: string;
}

/**
 * The value imports of a notebook's code cells (type-only imports skipped), found with a
 * pattern over `import ... from "spec"` statements. The grader imports these modules before any
 * student code runs and gives check cells the untouched bindings.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { importBindings } from "./exercises.ts";
 * const b = importBindings(['import assert from "node:assert";\nimport { a, b as c, type T } from "@kit/mod.ts";']);
 * assert.deepStrictEqual(b.map((x) => `${x.local}=${x.spec}#${x.name}`),
 *   ["assert=node:assert#default", "a=@kit/mod.ts#a", "c=@kit/mod.ts#b"]);
 * ```
 */
export function importBindings(sources: readonly string[]): ImportBinding[] {
  const out: ImportBinding[] = [];
  const re = /^\s*import\s+(?!type\s)([^"';]*?)\s+from\s+["']([^"']+)["']/gm;
  for (const src of sources) {
    for (const m of src.matchAll(re)) {
      const clause = m[1].trim(), spec = m[2];
      const ns = /^(?:([A-Za-z_$][\w$]*)\s*,\s*)?\*\s+as\s+([A-Za-z_$][\w$]*)$/.exec(clause);
      if (ns) {
        if (ns[1]) out.push({ spec, name: "default", local: ns[1] });
        out.push({ spec, name: "*", local: ns[2] });
        continue;
      }
      const named = /^(?:([A-Za-z_$][\w$]*)\s*,?\s*)?(?:\{([^}]*)\})?$/.exec(clause);
      if (!named) continue;
      if (named[1]) out.push({ spec, name: "default", local: named[1] });
      for (const part of (named[2] ?? "").split(",")) {
        const p = part.trim();
        if (!p || p.startsWith("type ")) continue;
        const [name, local] = p.split(/\s+as\s+/).map((s) => s.trim());
        out.push({ spec, name, local: local ?? name });
      }
    }
  }
  const seen = new Set<string>();
  return out.filter((b) => (seen.has(b.local) ? false : (seen.add(b.local), true)));
}
