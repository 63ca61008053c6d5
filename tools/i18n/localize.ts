/**
 * A notebook in another language, generated from the English notebook and its PO catalog.
 *
 * Each unit (see `extract.ts`) with a current translation (same msgctxt, same English msgid, not
 * fuzzy, not empty, and valid for its kind) is replaced in place; every other byte of the cell
 * stays as the English has it. A unit without one stays English: gettext's rule that a fuzzy
 * (stale) translation is never used, so a Spanish page never states what the English no longer
 * says. The result carries `metadata.lang` (a BCP 47 tag, as in HTML's `lang`), which the
 * grader and the exporter read; cell ids, metadata, outputs and attachments are the English ones.
 *
 * What makes a translation valid:
 * - a string literal's translation, put back between the English quotes, is one string literal;
 * - a template literal's translation, between backticks, is one template literal with the same
 *   placeholders `${...}`, written exactly as in the English and in the same order;
 * - a line comment's translation has no line break; a block comment's has no `*\/`.
 *
 * @module
 */
import { parseExpression } from "@babel/parser";
import { type Cell, type Notebook, sourceText, splitLines } from "../notebook/io.ts";
import { notebookUnits, type Unit } from "./extract.ts";
import type { PoCatalog, PoEntry } from "./po.ts";

/** How each unit fared. */
export interface LocalizeReport {
  /** Units replaced by their translation. */
  translated: number;
  /** Units with no translation yet (they stay English). */
  missing: Unit[];
  /** Units whose translation is of other English or marked fuzzy (they stay English). */
  stale: Unit[];
  /** Units whose translation would break the code (they stay English), with the reason. */
  invalid: { unit: Unit; reason: string }[];
}

/** Why `str` cannot stand in for `unit` in code, or null when it can. */
export function invalidReason(unit: Unit, str: string): string | null {
  if (unit.kind === "markdown") return null;
  if (unit.kind === "comment") {
    if (!unit.block && /[\n\r\u2028\u2029]/.test(str)) {
      return "a line comment cannot hold a line break";
    }
    if (str.includes("*/")) return 'a comment cannot contain "*/"';
    return null;
  }
  if (unit.kind === "string") {
    const q = unit.quote ?? '"';
    try {
      const e = parseExpression(q + str + q, { plugins: ["typescript"] });
      if (e.type !== "StringLiteral" || e.end !== str.length + 2) {
        return `not one string literal between ${q}...${q}: escape ${q} as \\${q}`;
      }
    } catch {
      return `not one string literal between ${q}...${q} (escape ${q} and \\; use \\n for a line break)`;
    }
    return null;
  }
  let e;
  try {
    e = parseExpression("`" + str + "`", { plugins: ["typescript"] });
  } catch {
    return "not one template literal: escape ` as \\` and keep every ${...} whole";
  }
  if (e.type !== "TemplateLiteral" || e.end !== str.length + 2) {
    return "not one template literal: escape ` as \\`";
  }
  const got = placeholdersOf(str, e);
  const want = (unit.placeholders ?? []).map((p) => p.source);
  if (got.length !== want.length || got.some((g, i) => g.source !== want[i])) {
    return `the placeholders must be exactly ${want.join(" ") || "none"}, in this order; got ${
      got.map((g) => g.source).join(" ") || "none"
    }`;
  }
  return null;
}

// deno-lint-ignore no-explicit-any
function placeholdersOf(str: string, tpl: any): { source: string; start: number; end: number }[] {
  // Offsets in `str`: the parsed text starts with a backtick.
  // deno-lint-ignore no-explicit-any
  return tpl.expressions.map((x: any) => {
    const open = str.lastIndexOf("${", x.start - 1);
    let close = x.end - 1;
    while (close < str.length && str[close] !== "}") close++;
    return { source: str.slice(open, close + 1), start: open + 2, end: close };
  });
}

/** The entry for each msgctxt. */
function byContext(cat: PoCatalog | null): Map<string, PoEntry> {
  return new Map((cat?.entries ?? []).map((e) => [e.ctx, e]));
}

/** The state of one unit against a catalog. */
export type UnitState = "ok" | "missing" | "stale" | "invalid";

/**
 * The state of `unit` given its catalog entry: ok (a current, valid translation), missing (no
 * entry or an empty one), stale (fuzzy, or translated from other English), invalid.
 */
export function unitState(
  unit: Unit,
  entry: PoEntry | undefined,
): { state: UnitState; reason?: string } {
  if (!entry || entry.str === "") return { state: "missing" };
  if (entry.fuzzy || entry.id !== unit.text) return { state: "stale" };
  const reason = invalidReason(unit, entry.str);
  return reason ? { state: "invalid", reason } : { state: "ok" };
}

/** Replaces the units of one cell's source with their translations (nested ones included). */
function localizeSource(src: string, units: Unit[], tr: Map<Unit, string>): string {
  const sorted = [...units].sort((a, b) => a.start - b.start || b.end - a.end);
  const render = (s: number, e: number): string => {
    let out = "";
    let pos = s;
    for (const u of sorted) {
      if (u.start < pos || u.end > e) continue; // outside, or nested in one already handled
      out += src.slice(pos, u.start);
      out += renderUnit(u);
      pos = u.end;
    }
    return out + src.slice(pos, e);
  };
  const renderUnit = (u: Unit): string => {
    const t = tr.get(u);
    if (u.kind !== "template") {
      return t ?? src.slice(u.start, u.end);
    }
    // A template: its placeholders keep the English code, with their own literals translated.
    const phs = u.placeholders ?? [];
    if (t === undefined) {
      let out = "";
      let pos = u.start;
      for (const p of phs) {
        out += src.slice(pos, p.start) + render(p.start, p.end);
        pos = p.end;
      }
      return out + src.slice(pos, u.end);
    }
    const tpl = parseExpression("`" + t + "`", { plugins: ["typescript"] });
    const mine = placeholdersOf(t, tpl);
    let out = "";
    let pos = 0;
    mine.forEach((p, i) => {
      out += t.slice(pos, p.start) + render(phs[i].start, phs[i].end);
      pos = p.end;
    });
    return out + t.slice(pos);
  };
  return render(0, src.length);
}

/**
 * The notebook in `lang`: every unit with a current, valid translation in `catalog` replaced,
 * the rest left English, `metadata.lang` set. `catalog` null gives the English text with the
 * language set (a notebook nobody translated yet).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localizeNotebook } from "./localize.ts";
 * const nb = {
 *   nbformat: 4 as const, nbformat_minor: 5, metadata: {},
 *   cells: [{ cell_type: "code" as const, id: "c", metadata: {}, execution_count: null,
 *     outputs: [], source: 'console.log(`loss ${x.toFixed(2)} at step ${t}`, "done");' }],
 * };
 * const { notebook, report } = localizeNotebook(nb, {
 *   headers: {}, obsolete: [],
 *   entries: [
 *     { ctx: "c/s1", id: "loss ${x.toFixed(2)} at step ${t}", str: "pérdida ${x.toFixed(2)} en el paso ${t}", fuzzy: false },
 *     { ctx: "c/s2", id: "done", str: "listo", fuzzy: true },
 *   ],
 * }, { lang: "es", label: "x.ipynb" });
 * assert.equal(notebook.cells[0].source,
 *   'console.log(`pérdida ${x.toFixed(2)} en el paso ${t}`, "done");');
 * assert.equal(notebook.metadata.lang, "es");
 * assert.deepEqual([report.translated, report.stale.length], [1, 1]);
 * ```
 */
export function localizeNotebook(
  nb: Notebook,
  catalog: PoCatalog | null,
  opts: { lang: string; label: string },
): { notebook: Notebook; report: LocalizeReport } {
  const units = notebookUnits(nb, opts.label);
  const entries = byContext(catalog);
  const report: LocalizeReport = { translated: 0, missing: [], stale: [], invalid: [] };
  const byCell = new Map<number, Unit[]>();
  for (const u of units) {
    const list = byCell.get(u.cellIndex) ?? [];
    list.push(u);
    byCell.set(u.cellIndex, list);
  }
  const cells: Cell[] = nb.cells.map((cell, i) => {
    const list = byCell.get(i);
    if (!list) return cell;
    const src = sourceText(cell.source);
    const tr = new Map<Unit, string>();
    for (const u of list) {
      const entry = entries.get(u.ctx);
      const { state, reason } = unitState(u, entry);
      if (state === "ok") {
        tr.set(u, entry!.str);
        report.translated++;
      } else if (state === "missing") report.missing.push(u);
      else if (state === "stale") report.stale.push(u);
      else report.invalid.push({ unit: u, reason: reason! });
    }
    if (tr.size === 0) return cell;
    const out = localizeSource(src, list, tr);
    return { ...cell, source: Array.isArray(cell.source) ? splitLines(out) : out };
  });
  return {
    notebook: { ...nb, metadata: { ...nb.metadata, lang: opts.lang }, cells },
    report,
  };
}
