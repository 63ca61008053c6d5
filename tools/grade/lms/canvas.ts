/**
 * Canvas LMS, as its source writes and reads files:
 *
 * - "Download Submissions" (`ContentZipper#add_submission` in `lib/content_zipper.rb`): each
 *   uploaded file is `<prefix>_<attachment id>_<display name>`, where the prefix is
 *   `[sortable name, "LATE" if late, user id].join("_")` with every non-word character removed
 *   and the whole lowercased (`sanitize_file_name`): "O'Brien, Ana María" late becomes
 *   `obrienanamaría_late_4711_`. A `_<digits>_` inside the name is collapsed first
 *   (`sanitize_user_name`), so the first `_<digits>_<digits>_` is the user id and attachment id.
 * - The gradebook import (`GradebookImporter` in `app/models/gradebook_importer.rb`): the header
 *   starts with "Student" and "ID", the student columns end with "Section" (with "SIS User ID"
 *   and "SIS Login ID" between them when present); a student is matched by the Canvas user id in
 *   "ID", then by SIS ids, then by name; each further column is an assignment, matched by
 *   `Title (id)`, and a column Canvas cannot match becomes a new assignment. A row whose first
 *   cell contains "Points Possible" gives the assignments' points.
 *
 * @module
 */

/** What a name in Canvas's submissions zip says about its file. */
export interface CanvasName {
  /** Sortable name, lowercased, letters only ("obrienanamaría"). */
  name: string;
  userId: string;
  attachmentId: string;
  late: boolean;
  /** The file's display name (may carry Canvas's "-1" suffix for a re-upload). */
  file: string;
}

/**
 * Parses a file name of Canvas's "Download Submissions" zip; null when it does not follow
 * Canvas's naming.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseCanvasName } from "./canvas.ts";
 * assert.deepStrictEqual(parseCanvasName("obrienanamaría_late_4711_90210_01_norm_penalties.ipynb"), {
 *   name: "obrienanamaría", late: true, userId: "4711", attachmentId: "90210",
 *   file: "01_norm_penalties.ipynb" });
 * assert.strictEqual(parseCanvasName("notes.txt"), null);
 * ```
 */
export function parseCanvasName(path: string): CanvasName | null {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const m = /^(.*?)(_late)?_(\d+)_(\d+)_(.+)$/i.exec(base);
  if (!m) return null;
  return {
    name: m[1],
    late: m[2] !== undefined,
    userId: m[3],
    attachmentId: m[4],
    file: m[5],
  };
}

/**
 * The zip's form of a sortable name: non-word characters removed, lowercased (Ruby's
 * `[[:word:]]`: letters and digits of any script, and `_`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { canvasSquash } from "./canvas.ts";
 * assert.strictEqual(canvasSquash("O'Brien, Ana María"), "obrienanamaría");
 * ```
 */
export function canvasSquash(sortableName: string): string {
  return sortableName.normalize("NFC").replace(/[^\p{L}\p{M}\p{N}_]/gu, "").toLowerCase();
}

/** A student row of Canvas's gradebook export (the roster). */
export interface CanvasStudent {
  /** "Last, First" as Canvas shows it. */
  name: string;
  id: string;
  sisUserId: string;
  sisLoginId: string;
  section: string;
}

/** Recognises Canvas's gradebook export by its header; null when it is not one. */
export function canvasRoster(header: string[], rows: string[][]): CanvasStudent[] | null {
  const h = header.map((x) => x.trim());
  if (!(h[0]?.includes("Student") && h[1]?.includes("ID"))) return null;
  const at = (name: string) => h.indexOf(name);
  const out: CanvasStudent[] = [];
  for (const r of rows) {
    const first = (r[0] ?? "").trim();
    if (first.includes("Points Possible")) continue;
    if (r.every((c) => /^\s*(Muted|Manual Posting.*)?\s*$/i.test(c ?? ""))) continue;
    if (!/^\d+$/.test((r[1] ?? "").trim())) continue;
    const get = (name: string) => (at(name) >= 0 ? (r[at(name)] ?? "").trim() : "");
    out.push({
      name: first,
      id: r[1].trim(),
      sisUserId: get("SIS User ID"),
      sisLoginId: get("SIS Login ID"),
      section: get("Section"),
    });
  }
  return out;
}

/** One student's line for Canvas. */
export interface CanvasGrade {
  name: string;
  id: string;
  sisUserId?: string;
  sisLoginId?: string;
  section?: string;
  points: number;
}

/**
 * The gradebook import CSV: `Student, ID, SIS User ID, SIS Login ID, Section`, one column
 * `Title (assignment id)` (or the title alone when the course file has no Canvas id: Canvas then
 * adds a new assignment), and the "Points Possible" row.
 */
export function canvasImport(
  grades: readonly CanvasGrade[],
  assignment: { title: string; canvasId?: number; max: number },
): { header: string[]; rows: (string | number)[][] } {
  const column = assignment.canvasId !== undefined
    ? `${assignment.title} (${assignment.canvasId})`
    : assignment.title;
  return {
    header: ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
    rows: [
      ["Points Possible", "", "", "", "", assignment.max],
      ...grades.map((g) => [
        g.name,
        g.id,
        g.sisUserId ?? "",
        g.sisLoginId ?? "",
        g.section ?? "",
        g.points,
      ]),
    ],
  };
}
