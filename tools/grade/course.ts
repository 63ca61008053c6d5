/**
 * The course file (`course.json` at the repository root): the course's title and its
 * assignments, each a set of notebooks graded and reported together. Also what a grading run
 * needs to know about an instructor notebook beyond its checks: the exercise each check belongs
 * to (its title and points, from the `### Exercise N: <title> (P points)` heading above it) and
 * the notebook's version (a hash of the file).
 *
 * ```json
 * {
 *   "title": "Regularization and training of deep networks",
 *   "assignments": [
 *     {
 *       "id": "a1",
 *       "title": "Penalties, dropout and batch norm",
 *       "notebooks": ["01_norm_penalties.ipynb", "02_dropout_inference_scaling.ipynb"],
 *       "due": "2027-04-15T23:59:00-03:00",
 *       "latePenalty": 0,
 *       "canvas": { "assignmentId": 12345 }
 *     }
 *   ]
 * }
 * ```
 *
 * @module
 */
import { sourceText } from "../notebook/io.ts";
import type { Instructor } from "./grader.ts";

/** One assignment of the course file. */
export interface Assignment {
  /** Short id used on the command line (`--assignment a1`): letters, digits, `-`, `_`, `.`. */
  id: string;
  title: string;
  /** Instructor notebook file names, e.g. "01_norm_penalties.ipynb". */
  notebooks: string[];
  /** Due date, ISO 8601 with a time zone; informational, and what "late" is measured against. */
  due?: string;
  /**
   * Fraction of the points a late submission loses (0 to 1; default 0: late is recorded in the
   * gradebook, never penalised unless this is set).
   */
  latePenalty?: number;
  /** Canvas's id of the assignment (its URL's `/assignments/<id>`), for the gradebook import. */
  canvas?: { assignmentId: number };
}

/** The course file. */
export interface Course {
  title: string;
  assignments: Assignment[];
}

/** A course file that breaks the format: the message names the file, the field and the fix. */
export class CourseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CourseError";
  }
}

/**
 * Validates a parsed course file. `label` names it in messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseCourse } from "./course.ts";
 * const c = parseCourse({ title: "T", assignments: [{ id: "a1", title: "A",
 *   notebooks: ["01_x.ipynb"], canvas: { assignmentId: 7 } }] }, "course.json");
 * assert.strictEqual(c.assignments[0].canvas!.assignmentId, 7);
 * assert.throws(() => parseCourse({ title: "T", assignments: [{ id: "a 1" }] }, "course.json"),
 *   /course.json: assignments\[0\].id/);
 * ```
 */
export function parseCourse(raw: unknown, label: string): Course {
  const fail = (where: string, what: string): never => {
    throw new CourseError(`${label}: ${where} ${what}`);
  };
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail("the file", "must be an object");
  const o = raw as Record<string, unknown>;
  if (typeof o.title !== "string" || !o.title.trim()) fail("title", "must be a non-empty string");
  if (!Array.isArray(o.assignments)) fail("assignments", "must be a list");
  const seen = new Set<string>();
  const assignments = (o.assignments as unknown[]).map((a, i): Assignment => {
    const w = `assignments[${i}]`;
    if (!a || typeof a !== "object") return fail(w, "must be an object");
    const x = a as Record<string, unknown>;
    if (typeof x.id !== "string" || !/^[A-Za-z0-9_.-]+$/.test(x.id)) {
      fail(`${w}.id`, 'must be letters, digits, "-", "_" or "." (e.g. "a1")');
    }
    if (seen.has(x.id as string)) fail(`${w}.id`, `"${x.id}" is used twice`);
    seen.add(x.id as string);
    if (typeof x.title !== "string" || !x.title.trim()) fail(`${w}.title`, "must be a string");
    if (
      !Array.isArray(x.notebooks) || x.notebooks.length === 0 ||
      !x.notebooks.every((n) => typeof n === "string" && /^[^/\\]+\.ipynb$/.test(n))
    ) {
      fail(`${w}.notebooks`, 'must be a non-empty list of file names like "01_x.ipynb"');
    }
    if (x.due !== undefined && (typeof x.due !== "string" || isNaN(Date.parse(x.due)))) {
      fail(`${w}.due`, 'must be an ISO 8601 date, e.g. "2027-04-15T23:59:00-03:00"');
    }
    if (
      x.latePenalty !== undefined &&
      (typeof x.latePenalty !== "number" || !(x.latePenalty >= 0 && x.latePenalty <= 1))
    ) {
      fail(`${w}.latePenalty`, "must be a number from 0 to 1 (the fraction of points lost)");
    }
    const cv = x.canvas as Record<string, unknown> | undefined;
    if (
      cv !== undefined &&
      (typeof cv !== "object" || !Number.isInteger(cv.assignmentId) ||
        (cv.assignmentId as number) <= 0)
    ) {
      fail(`${w}.canvas`, 'must be {"assignmentId": <the number in the assignment\'s URL>}');
    }
    return {
      id: x.id as string,
      title: (x.title as string).trim(),
      notebooks: x.notebooks as string[],
      ...(x.due !== undefined ? { due: x.due as string } : {}),
      ...(x.latePenalty !== undefined ? { latePenalty: x.latePenalty as number } : {}),
      ...(cv ? { canvas: { assignmentId: cv.assignmentId as number } } : {}),
    };
  });
  return { title: (o.title as string).trim(), assignments };
}

/** Reads and validates a course file. */
export async function loadCourse(path: string): Promise<Course> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CourseError(`${path}: cannot be read (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CourseError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseCourse(raw, path);
}

/** The exercise a check belongs to. */
export interface ExerciseInfo {
  /** "Exercise 1: ridge shrinkage", from the heading (without the points). */
  title: string;
  /** The exercise number as written ("1"), or "" for a check under no exercise heading. */
  number: string;
}

/**
 * For each check of an instructor notebook, the exercise it belongs to: the nearest markdown
 * heading above it that reads `Exercise N: <title>` (the points in parentheses dropped).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { exercisesOf } from "./course.ts";
 * import { loadInstructor } from "./grader.ts";
 * const md = (id: string, source: string) => ({ cell_type: "markdown", id, metadata: {}, source });
 * const metadata = { kernelspec: { name: "deno-kit", display_name: "Deno", language: "typescript" },
 *   language_info: { name: "typescript" } };
 * const nb = { nbformat: 4, nbformat_minor: 5, metadata, cells: [
 *   md("m", "### Exercise 2: inverted dropout (3 points)\n\nWrite it."),
 *   { cell_type: "code", id: "c", metadata: { kit: { grade: { id: "90-ex2", points: 3, hidden: true } } },
 *     source: "1", outputs: [], execution_count: null },
 * ] };
 * const info = exercisesOf(loadInstructor("90.ipynb", JSON.stringify(nb)));
 * assert.deepStrictEqual(info.get("90-ex2"), { title: "Exercise 2: inverted dropout", number: "2" });
 * ```
 */
export function exercisesOf(inst: Instructor): Map<string, ExerciseInfo> {
  const out = new Map<string, ExerciseInfo>();
  for (const c of inst.checks) {
    let info: ExerciseInfo = { title: c.id, number: "" };
    for (let i = c.index; i >= 0; i--) {
      const cell = inst.notebook.cells[i];
      if (cell.cell_type !== "markdown") continue;
      const m = /^#+\s*(Exercise\s+(\d+)\s*:\s*(.*?))\s*(\(\s*\d+(?:\.\d+)?\s*points?\s*\))?\s*$/m
        .exec(sourceText(cell.source));
      if (m) {
        info = { title: `Exercise ${m[2]}: ${m[3].trim()}`, number: m[2] };
        break;
      }
    }
    out.set(c.id, info);
  }
  return out;
}

/** The version of an instructor notebook: the first 12 hex digits of its file's SHA-256. */
export async function notebookVersion(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
    .slice(0, 12);
}
