/**
 * Moodle's assignment module (mod_assign), as its source writes and reads files:
 *
 * - "Download all submissions" (`assign::download_submissions` in `mod/assign/locallib.php`):
 *   each participant's prefix is `clean_filename(str_replace('_', ' ', <full name>) . '_' .
 *   <participant id>)`, or `Participant_<id>` under blind marking (the string `participant`).
 *   With "download submissions in folders" on (the default user preference
 *   `assign_downloadasfolders` = 1) a file is `<prefix>_assignsubmission_file_/<file>`; with it
 *   off, `<prefix>_assignsubmission_file_<file>`. `clean_filename` (`PARAM_FILE`) removes control
 *   characters and `& < > " \` | ' : \ /`, so an apostrophe in a name is lost ("O'Brien" arrives
 *   as "OBrien"): a roster restores it. The participant id is `get_uniqueid_for_user`, per
 *   assignment, not the user id.
 * - The offline grading worksheet (assignfeedback_offline): its importer finds the columns
 *   "Identifier", "Grade" and "Last modified (grade)" by their names in the teacher's language
 *   (`get_string('recordid', 'assign')`, `get_string('grade')`,
 *   `get_string('lastmodifiedgrade', 'assign')`), takes the participant id from the identifier
 *   after the string `hiddenuser` ("Participant "), and imports feedback text from columns named
 *   after the feedback plugins' fields ("Feedback comments").
 * - "Upload multiple feedback files in a zip" (`assignfeedback_file_zip_importer`): each path
 *   part is split on `_` into at most five pieces, `<name>_<participant id>_<plugin type>_<plugin
 *   name>_<rest>`; a file `<name>_<id>_assignfeedback_file_<file>` becomes that participant's
 *   feedback file `<file>`. Names starting with `.` or `~` are ignored.
 *
 * @module
 */

/** What a path in Moodle's submissions zip says about its file. */
export interface MoodleName {
  /** The full name as the zip spells it, or "" under blind marking. */
  name: string;
  /** The participant id (per assignment). */
  participant: string;
  blind: boolean;
  /** The submission plugin ("file", "onlinetext", ...). */
  plugin: string;
  /** The file's name (its path inside the participant's folder). */
  file: string;
}

/**
 * Parses a path of Moodle's "download all submissions" zip, in folders or flat; null when the
 * path does not follow Moodle's naming.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseMoodlePath } from "./moodle.ts";
 * assert.deepStrictEqual(
 *   parseMoodlePath("Ana María OBrien_4711_assignsubmission_file_/01_norm_penalties.ipynb"),
 *   { name: "Ana María OBrien", participant: "4711", blind: false, plugin: "file",
 *     file: "01_norm_penalties.ipynb" });
 * assert.strictEqual(
 *   parseMoodlePath("Participant_12_assignsubmission_file_x.ipynb")!.blind, true);
 * assert.strictEqual(parseMoodlePath("notes.txt"), null);
 * ```
 */
export function parseMoodlePath(path: string): MoodleName | null {
  const slash = path.indexOf("/");
  const head = slash < 0 ? path : path.slice(0, slash);
  const tail = slash < 0 ? "" : path.slice(slash + 1);
  const m = /^(.*)_(\d+)_assignsubmission_([a-z0-9]+)_(.*)$/.exec(head);
  if (!m) return null;
  const file = slash < 0 ? m[4] : [m[4], tail].filter((s) => s !== "").join("/");
  if (!file) return null;
  const blind = m[1] === "Participant";
  return { name: blind ? "" : m[1], participant: m[2], blind, plugin: m[3], file };
}

/**
 * `clean_filename` as Moodle applies it to a name in the zip: control characters and
 * `& < > " \` | ' : \ /` removed, after `_` became a space. Used to match roster names with zip
 * names.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { moodleCleanName } from "./moodle.ts";
 * assert.strictEqual(moodleCleanName("José O'Brien_Díaz"), "José OBrien Díaz");
 * ```
 */
export function moodleCleanName(name: string): string {
  // deno-lint-ignore no-control-regex
  return name.replace(/_/g, " ").replace(/[\u0000-\u001f\u007f&<>"`|':\\/]/g, "");
}

/** The name of a student's file in the feedback zip Moodle takes back. */
export function moodleFeedbackName(name: string, participant: string, file: string): string {
  // The importer splits on "_": the name part must not contain one, and must not start with
  // "." or "~" (hidden files are ignored).
  const safe = moodleCleanName(name).replace(/^[.~]+/, "").trim() || "Participant";
  return `${safe}_${participant}_assignfeedback_file_${file}`;
}

/** The worksheet's columns in English (Moodle's `en` strings). */
export const WORKSHEET_EN = {
  identifier: "Identifier",
  fullName: "Full name",
  email: "Email address",
  status: "Status",
  grade: "Grade",
  maxGrade: "Maximum Grade",
  canChange: "Grade can be changed",
  modifiedSubmission: "Last modified (submission)",
  modifiedGrade: "Last modified (grade)",
  comments: "Feedback comments",
  hiddenUser: "Participant ",
} as const;

/** Names the worksheet's key columns carry in the languages a course here is likely to use. */
const WORKSHEET_NAMES = {
  identifier: ["Identifier", "Identificador", "Identifiant", "ID"],
  grade: ["Grade", "Calificación", "Nota", "Cualificación", "Note", "Bewertung"],
  modifiedGrade: [
    "Last modified (grade)",
    "Última modificación (calificación)",
    "Última modificação (nota)",
    "Fecha de Calificación",
  ],
  fullName: ["Full name", "Nombre completo", "Nome completo", "Nom complet"],
  email: ["Email address", "Dirección de correo", "Dirección Email", "Endereço de email"],
  comments: ["Feedback comments", "Comentarios de retroalimentación", "Comentarios"],
};

/** A Moodle grading worksheet as downloaded: its header, rows and where the key columns are. */
export interface Worksheet {
  header: string[];
  rows: string[][];
  col: {
    identifier: number;
    grade: number;
    modifiedGrade: number;
    fullName: number;
    email: number;
    comments: number;
  };
}

/** Recognises a grading worksheet by its header; null when it is not one. */
export function asWorksheet(header: string[], rows: string[][]): Worksheet | null {
  const find = (names: readonly string[]) => header.findIndex((h) => names.includes(h.trim()));
  const col = {
    identifier: find(WORKSHEET_NAMES.identifier),
    grade: find(WORKSHEET_NAMES.grade),
    modifiedGrade: find(WORKSHEET_NAMES.modifiedGrade),
    fullName: find(WORKSHEET_NAMES.fullName),
    email: find(WORKSHEET_NAMES.email),
    comments: find(WORKSHEET_NAMES.comments),
  };
  if (col.identifier < 0 || col.grade < 0 || col.fullName < 0) return null;
  if (!rows.some((r) => /\d+\s*$/.test(r[col.identifier] ?? ""))) return null;
  return { header, rows, col };
}

/** The participant id in a worksheet identifier ("Participant 4711" -> "4711"). */
export function participantOf(identifier: string): string | null {
  return /(\d+)\s*$/.exec(identifier)?.[1] ?? null;
}

/** One student's line for Moodle. */
export interface MoodleGrade {
  participant: string;
  name: string;
  email?: string;
  points: number;
  max: number;
  comment: string;
}

/** "2026-12-07 14:05" in UTC: a form PHP's strtotime() reads. */
function moodleTime(d: Date): string {
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/**
 * The offline grading worksheet to upload: the teacher's own downloaded worksheet with the grade,
 * the grade's time and the feedback comment filled in (same columns, same language), or, without
 * one, a worksheet with Moodle's English column names. Rows of participants not graded here are
 * kept unchanged (Moodle skips an unchanged grade).
 */
export function moodleWorksheet(
  grades: readonly MoodleGrade[],
  gradedAt: Date,
  sheet: Worksheet | null,
): { header: string[]; rows: (string | number)[][] } {
  const byId = new Map(grades.map((g) => [g.participant, g]));
  if (sheet) {
    const rows = sheet.rows.map((r) => {
      const g = byId.get(participantOf(r[sheet.col.identifier] ?? "") ?? "");
      if (!g) return [...r];
      const out: (string | number)[] = [...r];
      while (out.length < sheet.header.length) out.push("");
      out[sheet.col.grade] = g.points;
      if (sheet.col.modifiedGrade >= 0) out[sheet.col.modifiedGrade] = moodleTime(gradedAt);
      if (sheet.col.comments >= 0) out[sheet.col.comments] = g.comment;
      return out;
    });
    return { header: sheet.header, rows };
  }
  const w = WORKSHEET_EN;
  return {
    header: [
      w.identifier,
      w.fullName,
      w.email,
      w.status,
      w.grade,
      w.maxGrade,
      w.canChange,
      w.modifiedSubmission,
      w.modifiedGrade,
      w.comments,
    ],
    rows: grades.map((g) => [
      `${w.hiddenUser}${g.participant}`,
      g.name,
      g.email ?? "",
      "",
      g.points,
      g.max,
      "Yes",
      "",
      moodleTime(gradedAt),
      g.comment,
    ]),
  };
}
