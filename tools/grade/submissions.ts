/**
 * Which files are graded, for whom: submissions as the platforms give them (a folder or a zip)
 * turned into students and uploads, with a roster where the names lose information.
 *
 * - `folders`: `<student>/<file>` (the student is the folder's name);
 * - `moodle`: Moodle's "download all submissions" zip or its unpacked folder (`lms/moodle.ts`);
 * - `canvas`: Canvas's "Download Submissions" zip or its unpacked folder (`lms/canvas.ts`).
 *
 * Every name is data: nothing is written under a name from a submission, and a file that does
 * not follow the platform's naming is reported, never guessed at. Which course notebook an upload
 * is, and which of two versions counts, is decided in {@link pickUploads}: by file name, else by
 * the cell ids it shares with a course notebook; the newest of two versions of one notebook.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import { join, relative } from "node:path";
import { parseNotebook } from "../notebook/io.ts";
import type { Instructor } from "./grader.ts";
import { readZip, ZIP_LIMITS } from "./zip.ts";
import {
  asWorksheet,
  moodleCleanName,
  parseMoodlePath,
  participantOf,
  type Worksheet,
} from "./lms/moodle.ts";
import { canvasRoster, canvasSquash, type CanvasStudent, parseCanvasName } from "./lms/canvas.ts";

/** Where submissions come from. */
export const PLATFORMS = ["folders", "moodle", "canvas"] as const;
export type Platform = typeof PLATFORMS[number];

/** A student, as the submissions and the roster identify them. */
export interface Student {
  /** Unique and stable: the folder name, `moodle:<participant>` or `canvas:<user id>`. */
  key: string;
  /** The name to show (from the roster when it has one). */
  name: string;
  /** The platform's id (participant id, Canvas user id) or the folder name. */
  id: string;
  email?: string;
  /** Canvas's student columns, from the roster. */
  canvas?: CanvasStudent;
}

/** One file a student uploaded. */
export interface Upload {
  student: string;
  /** The file's name as the student gave it. */
  file: string;
  /** Where it came from (path in the zip or folder), for messages. */
  origin: string;
  bytes: Uint8Array;
  /** Modification time (ms) where the source has one; orders two versions of a notebook. */
  mtime: number;
  /** Canvas's attachment id (later uploads have larger ids). */
  order: number;
  late: boolean;
}

/** A file or folder that could not be taken as anyone's submission. */
export interface Problem {
  origin: string;
  why: string;
}

/** What a submissions folder or zip holds. */
export interface Collected {
  students: Map<string, Student>;
  uploads: Upload[];
  problems: Problem[];
}

interface RawFile {
  path: string;
  bytes: Uint8Array;
  mtime: number;
}

async function readSource(
  input: string,
): Promise<{ files: RawFile[]; folders: string[]; problems: Problem[] }> {
  const info = await Deno.stat(input).catch((e) => {
    throw new Error(`grade: cannot read the submissions ${input}: ${(e as Error).message}`);
  });
  if (info.isFile) {
    const { entries, skipped, folders } = readZip(await Deno.readFile(input), input);
    return {
      files: entries.map((e) => ({ path: e.name, bytes: e.data, mtime: e.mtime ?? 0 })),
      folders,
      problems: skipped.map((s) => ({ origin: `${input}: ${s.name}`, why: `not read: ${s.why}` })),
    };
  }
  const files: RawFile[] = [], folders: string[] = [], problems: Problem[] = [];
  let total = 0;
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      const rel = relative(input, p);
      if (e.isSymlink) {
        problems.push({ origin: rel, why: "a symbolic link: not followed" });
      } else if (e.isDirectory) {
        folders.push(rel);
        await walk(p);
      } else if (e.isFile) {
        const st = await Deno.stat(p);
        if (st.size > ZIP_LIMITS.maxEntryBytes || (total += st.size) > ZIP_LIMITS.maxTotalBytes) {
          problems.push({ origin: rel, why: `not read: ${st.size} bytes, over the limit` });
          continue;
        }
        files.push({ path: rel, bytes: await Deno.readFile(p), mtime: st.mtime?.getTime() ?? 0 });
      }
    }
  };
  await walk(input);
  return { files, folders, problems };
}

/** Reads submissions from a folder or zip as the platform names them. */
export async function collect(input: string, from: Platform): Promise<Collected> {
  const src = await readSource(input);
  const students = new Map<string, Student>();
  const uploads: Upload[] = [];
  const problems = [...src.problems];
  const hidden = (p: string) => p.split("/").some((s) => s.startsWith(".") || s === "__MACOSX");
  const add = (s: Student) => {
    if (!students.has(s.key)) students.set(s.key, s);
    return s.key;
  };
  for (const f of src.files.sort((a, b) => (a.path < b.path ? -1 : 1))) {
    if (hidden(f.path)) continue; // .DS_Store, __MACOSX/: archive noise, not a submission
    if (from === "folders") {
      const slash = f.path.indexOf("/");
      if (slash < 0) {
        problems.push({
          origin: f.path,
          why: "not in a student's folder (expected <student>/<notebook>.ipynb)",
        });
        continue;
      }
      const name = f.path.slice(0, slash);
      const key = add({ key: name, name, id: name });
      uploads.push(upload(key, f.path.slice(f.path.lastIndexOf("/") + 1), f, 0, false));
    } else if (from === "moodle") {
      const m = parseMoodlePath(f.path);
      if (!m) {
        problems.push({
          origin: f.path,
          why: "not named as Moodle names submissions (<name>_<id>_assignsubmission_file_)",
        });
        continue;
      }
      const key = add({
        key: `moodle:${m.participant}`,
        name: m.blind ? `Participant ${m.participant}` : m.name,
        id: m.participant,
      });
      uploads.push(upload(key, m.file.slice(m.file.lastIndexOf("/") + 1), f, 0, false));
    } else {
      const c = parseCanvasName(f.path);
      if (!c) {
        problems.push({
          origin: f.path,
          why: "not named as Canvas names submissions (<name>_<user id>_<file id>_<file>)",
        });
        continue;
      }
      const key = add({ key: `canvas:${c.userId}`, name: c.name, id: c.userId });
      uploads.push(upload(key, c.file, f, Number(c.attachmentId), c.late));
    }
  }
  // A participant's folder with nothing in it: a student who submitted nothing.
  for (const dir of src.folders) {
    if (dir.includes("/") || hidden(dir)) continue;
    if (from === "folders") add({ key: dir, name: dir, id: dir });
    else if (from === "moodle") {
      const m = /^(.*)_(\d+)_assignsubmission_[a-z0-9]+_$/.exec(dir);
      if (m) {
        add({
          key: `moodle:${m[2]}`,
          name: m[1] === "Participant" ? `Participant ${m[2]}` : m[1],
          id: m[2],
        });
      }
    }
  }
  return { students, uploads, problems };
}

function upload(student: string, file: string, f: RawFile, order: number, late: boolean): Upload {
  return { student, file, origin: f.path, bytes: f.bytes, mtime: f.mtime, order, late };
}

/** A roster: the platform's own export, read for names, emails and ids. */
export interface Roster {
  kind: "moodle-worksheet" | "moodle-participants" | "canvas-gradebook";
  /** The Moodle worksheet itself, to fill in for the upload. */
  worksheet?: Worksheet;
  people: { name: string; id?: string; email?: string; canvas?: CanvasStudent; match: string }[];
}

/** Reads a roster file and recognises its kind from its header; the error names the file. */
export async function loadRoster(path: string): Promise<Roster> {
  let rows: string[][];
  try {
    const text = await Deno.readTextFile(path);
    rows = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true });
  } catch (e) {
    throw new Error(`grade: --roster ${path} cannot be read as CSV (${(e as Error).message})`);
  }
  if (rows.length === 0) throw new Error(`grade: --roster ${path} is empty`);
  const [header, ...body] = rows;
  const sheet = asWorksheet(header, body);
  if (sheet) {
    return {
      kind: "moodle-worksheet",
      worksheet: sheet,
      people: body.flatMap((r) => {
        const id = participantOf(r[sheet.col.identifier] ?? "");
        if (!id) return [];
        const name = (r[sheet.col.fullName] ?? "").trim();
        const email = sheet.col.email >= 0 ? (r[sheet.col.email] ?? "").trim() : "";
        return [{ name, id, ...(email ? { email } : {}), match: `moodle:${id}` }];
      }),
    };
  }
  const canvas = canvasRoster(header, body);
  if (canvas) {
    return {
      kind: "canvas-gradebook",
      people: canvas.map((c) => ({ name: c.name, id: c.id, canvas: c, match: `canvas:${c.id}` })),
    };
  }
  const h = header.map((x) => x.trim().toLowerCase());
  const first = h.findIndex((x) => ["first name", "nombre", "firstname"].includes(x));
  const last = h.findIndex((x) =>
    ["last name", "apellido(s)", "surname", "apellidos", "lastname"].includes(x)
  );
  const mail = h.findIndex((x) => x.includes("email") || x.includes("correo"));
  if (first >= 0 && last >= 0) {
    return {
      kind: "moodle-participants",
      people: body.map((r) => {
        const name = `${(r[first] ?? "").trim()} ${(r[last] ?? "").trim()}`.trim();
        const email = mail >= 0 ? (r[mail] ?? "").trim() : "";
        return { name, ...(email ? { email } : {}), match: `name:${moodleCleanName(name)}` };
      }),
    };
  }
  throw new Error(
    `grade: --roster ${path}: not a roster this kit reads (its first columns are ` +
      `${header.slice(0, 4).join(", ")}). Give Moodle's grading worksheet or participants ` +
      `export, or Canvas's gradebook export.`,
  );
}

/**
 * Gives the students the roster's names, emails and ids. With `includeAll`, the roster's students
 * without any upload are added too (they get "not submitted" rows). Returns what did not match.
 */
export function applyRoster(
  students: Map<string, Student>,
  roster: Roster,
  from: Platform,
  includeAll: boolean,
): string[] {
  const warnings: string[] = [];
  const byKey = new Map(roster.people.map((p) => [p.match, p]));
  const byCanvasName = new Map<string, typeof roster.people>();
  for (const p of roster.people) {
    if (!p.canvas) continue;
    const k = canvasSquash(p.canvas.name);
    byCanvasName.set(k, [...(byCanvasName.get(k) ?? []), p]);
  }
  const used = new Set<typeof roster.people[number]>();
  for (const s of students.values()) {
    let p = byKey.get(s.key);
    if (!p && from === "moodle") p = byKey.get(`name:${moodleCleanName(s.name)}`);
    if (!p && from === "canvas") {
      const same = byCanvasName.get(s.name) ?? [];
      if (same.length === 1) p = same[0];
    }
    if (!p) {
      warnings.push(`${s.name} (${s.id}) is not in the roster; kept as the submissions name them`);
      continue;
    }
    used.add(p);
    if (p.name) s.name = p.name;
    if (p.email) s.email = p.email;
    if (p.canvas) s.canvas = p.canvas;
  }
  if (includeAll) {
    for (const p of roster.people) {
      if (used.has(p) || !p.id) continue;
      const key = p.match.startsWith("name:") ? `roster:${p.name}` : p.match;
      if (from === "folders" || students.has(key)) continue;
      students.set(key, {
        key,
        name: p.name,
        id: p.id,
        ...(p.email ? { email: p.email } : {}),
        ...(p.canvas ? { canvas: p.canvas } : {}),
      });
    }
  }
  return warnings;
}

/** An upload matched to a course notebook, outputs stripped. */
export interface Picked {
  student: string;
  /** The instructor notebook it is graded against. */
  notebook: string;
  /** The file's name as the student gave it. */
  file: string;
  origin: string;
  /** The notebook's JSON, outputs stripped. */
  text: string;
  late: boolean;
}

/** An upload that is not graded, and why (exit 1 when `invalid`). */
export interface Rejected {
  student: string;
  file: string;
  origin: string;
  why: string;
  invalid: boolean;
}

/**
 * Strips a notebook's outputs (and execution counts and attachments), so that an upload's size
 * never reaches the grader. Returns null when `text` is not a notebook.
 */
export function stripOutputs(text: string): string {
  const nb = JSON.parse(text);
  for (const c of nb.cells ?? []) {
    if (c && c.cell_type === "code") {
      c.outputs = [];
      c.execution_count = null;
    }
    if (c && typeof c === "object") delete c.attachments;
  }
  return JSON.stringify(nb);
}

/**
 * Decides what each upload is: the course notebook of the same file name, else the one it shares
 * the most cell ids with; of two uploads of one notebook by one student, the newest (by time, then
 * by the platform's upload order). Uploads that are not notebooks, or no course notebook, are
 * rejected as invalid; a course notebook outside `graded` is rejected as not part of it.
 */
export function pickUploads(
  uploads: readonly Upload[],
  instructors: ReadonlyMap<string, Instructor>,
  graded: ReadonlySet<string> | null,
): { picked: Picked[]; rejected: Rejected[] } {
  const ids = new Map<string, Set<string>>();
  for (const [name, inst] of instructors) {
    ids.set(name, new Set(inst.notebook.cells.map((c) => c.id).filter((x): x is string => !!x)));
  }
  const dec = new TextDecoder("utf-8", { fatal: true });
  const rejected: Rejected[] = [];
  const candidates: (Picked & { mtime: number; order: number })[] = [];
  for (const u of uploads) {
    const base = { student: u.student, file: u.file, origin: u.origin };
    let text: string;
    let nbIds: string[] | null = null;
    let why = "";
    try {
      text = dec.decode(u.bytes);
      JSON.parse(text);
      nbIds = parseNotebook(text, u.file).cells.map((c) => c.id).filter((x): x is string => !!x);
    } catch (e) {
      text ??= "";
      why = e instanceof SyntaxError || !text
        ? `${u.file} is not a notebook (not JSON text)`
        : (e as Error).message;
    }
    if (nbIds === null) {
      // Named as a course notebook: graded against it, so its rows say what is wrong.
      if (instructors.has(u.file) && (!graded || graded.has(u.file))) {
        candidates.push({
          ...base,
          notebook: u.file,
          text,
          late: u.late,
          mtime: u.mtime,
          order: u.order,
        });
      } else {
        rejected.push({ ...base, why, invalid: true });
      }
      continue;
    }
    let target = instructors.has(u.file) ? u.file : null;
    if (!target) {
      let best = 0;
      for (const [name, set] of ids) {
        const n = nbIds.filter((i) => set.has(i)).length;
        if (n > best) [best, target] = [n, name];
      }
    }
    if (!target) {
      rejected.push({
        ...base,
        why: `${u.file} is not a course notebook with exercises (no cell in common with ` +
          `${[...instructors.keys()].join(", ")})`,
        invalid: true,
      });
      continue;
    }
    if (graded && !graded.has(target)) {
      rejected.push({
        ...base,
        why: `${u.file} is ${target}, not part of what is graded`,
        invalid: false,
      });
      continue;
    }
    candidates.push({
      ...base,
      notebook: target,
      text: stripOutputs(text),
      late: u.late,
      mtime: u.mtime,
      order: u.order,
    });
  }
  const best = new Map<string, (typeof candidates)[number]>();
  for (const c of candidates) {
    const k = `${c.student}\u0000${c.notebook}`;
    const prev = best.get(k);
    const newer = !prev || c.mtime > prev.mtime || (c.mtime === prev.mtime && c.order > prev.order);
    const [keep, drop] = newer ? [c, prev] : [prev!, c];
    best.set(k, keep);
    if (drop) {
      rejected.push({
        student: drop.student,
        file: drop.file,
        origin: drop.origin,
        why: `an older version of ${drop.notebook}: ${keep.file} (newer) was graded`,
        invalid: false,
      });
    }
  }
  const picked = [...best.values()].map(({ mtime: _m, order: _o, ...p }) => p);
  return { picked, rejected };
}
