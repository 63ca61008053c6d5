/**
 * gettext PO catalogs: read and write them with npm `gettext-parser`, as plain entries.
 *
 * PO is what Poedit, Weblate, Crowdin, Sphinx and Jupyter Book use. An entry is keyed by
 * `msgctxt` (here a cell id and a unit number, or a UI string's key) and carries the English
 * `msgid`, the translation `msgstr`, the `fuzzy` flag (gettext's "needs review": the English
 * changed since it was translated) with the English it was translated from (`#| msgid`), and a
 * note for the translator (`#.`). Entries no longer in the source are kept as obsolete (`#~`),
 * so a translation of a moved or rewritten unit is not lost.
 *
 * @module
 */
import { po } from "gettext-parser";

/** One message of a catalog. */
export interface PoEntry {
  ctx: string;
  /** The English (msgid). */
  id: string;
  /** The translation (msgstr); "" when not translated yet. */
  str: string;
  /** gettext's `fuzzy`: the translation is of other English and needs review. */
  fuzzy: boolean;
  /** The English the translation was made from, when it differs (`#| msgid`). */
  previousId?: string;
  /** For the translator (`#.`). */
  note?: string;
}

/** A PO file. */
export interface PoCatalog {
  /** Header fields (Language, Content-Type, ...). */
  headers: Record<string, string>;
  entries: PoEntry[];
  /** Obsolete entries (`#~`): translations whose English is gone. */
  obsolete: PoEntry[];
}

/** A PO file that cannot be read: names the file and what to do. */
export class PoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoError";
  }
}

interface GtEntry {
  msgctxt?: string;
  msgid: string;
  msgstr: string[];
  msgid_plural?: string;
  comments?: { translator?: string; extracted?: string; flag?: string; previous?: string };
}
type GtTable = Record<string, Record<string, GtEntry>>;

/** The text of a gettext-quoted string (`"a\n" "b"`). */
function unquote(lines: string): string {
  let out = "";
  for (const m of lines.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    out += m[1].replace(
      /\\(.)/g,
      (_, c: string) => c === "n" ? "\n" : c === "t" ? "\t" : c === "r" ? "\r" : c,
    );
  }
  return out;
}

function quote(s: string): string {
  return `"${
    s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\t/g, "\\t").replace(/\r/g, "\\r")
      .replace(/\n/g, "\\n")
  }"`;
}

function fromTable(table: GtTable, file: string): PoEntry[] {
  const out: PoEntry[] = [];
  for (const byId of Object.values(table)) {
    for (const e of Object.values(byId)) {
      if (e.msgid === "" && (e.msgctxt ?? "") === "") continue; // the header
      if (e.msgid_plural !== undefined) {
        throw new PoError(`${file}: "${e.msgid}" has plural forms; the kit's catalogs use none`);
      }
      const flags = (e.comments?.flag ?? "").split(/[,\s]+/);
      const prev = e.comments?.previous;
      const previousId = prev ? unquote(prev.replace(/^msgctxt .*$/m, "")) : undefined;
      out.push({
        ctx: e.msgctxt ?? "",
        id: e.msgid,
        str: e.msgstr[0] ?? "",
        fuzzy: flags.includes("fuzzy"),
        ...(previousId !== undefined && previousId !== "" ? { previousId } : {}),
        ...(e.comments?.extracted ? { note: e.comments.extracted } : {}),
      });
    }
  }
  return out;
}

/**
 * Parses a PO file's text. Throws a {@link PoError} naming `file` when it is not valid PO.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPo, parsePo } from "./po.ts";
 * const text = formatPo({
 *   headers: { Language: "es" },
 *   entries: [{ ctx: "intro/1", id: "# Welcome", str: "# Bienvenida", fuzzy: true,
 *     previousId: "# Hello" }],
 *   obsolete: [],
 * });
 * assert.match(text, /#, fuzzy\n#\| msgid "# Hello"\nmsgctxt "intro\/1"/);
 * assert.deepEqual(parsePo(text, "x.po").entries[0].previousId, "# Hello");
 * ```
 */
export function parsePo(text: string, file: string): PoCatalog {
  // deno-lint-ignore no-explicit-any
  let parsed: any;
  try {
    parsed = po.parse(text, { defaultCharset: "utf-8", validation: true });
  } catch (e) {
    throw new PoError(`${file}: not a valid PO file (${(e as Error).message}); fix it in Poedit`);
  }
  return {
    headers: { ...(parsed.headers ?? {}) },
    entries: fromTable(parsed.translations ?? {}, file),
    obsolete: fromTable(parsed.obsolete ?? {}, file),
  };
}

function toTable(entries: readonly PoEntry[]): GtTable {
  const table: GtTable = {};
  for (const e of entries) {
    const comments: GtEntry["comments"] = {};
    if (e.note) comments.extracted = e.note;
    if (e.fuzzy) comments.flag = "fuzzy";
    if (e.fuzzy && e.previousId !== undefined) {
      comments.previous = `msgid ${quote(e.previousId)}`;
    }
    (table[e.ctx] ??= {})[e.id] = {
      msgctxt: e.ctx,
      msgid: e.id,
      msgstr: [e.str],
      comments,
    };
  }
  return table;
}

/** Writes a catalog as PO text (gettext's layout: lines folded at 79 columns and at `\n`). */
export function formatPo(cat: PoCatalog): string {
  const table = toTable(cat.entries);
  table[""] = {
    ...(table[""] ?? {}),
    "": { msgid: "", msgstr: [""] },
  };
  // The header first: gettext-parser writes entries in the table's order.
  const ordered: GtTable = { "": table[""] };
  for (const [k, v] of Object.entries(table)) if (k !== "") ordered[k] = v;
  const buf = po.compile({
    charset: "utf-8",
    headers: {
      "MIME-Version": "1.0",
      "Content-Type": "text/plain; charset=UTF-8",
      "Content-Transfer-Encoding": "8bit",
      ...cat.headers,
    },
    translations: ordered,
    obsolete: toTable(cat.obsolete),
  }, { sort: false });
  return new TextDecoder().decode(buf).trimEnd() + "\n";
}
