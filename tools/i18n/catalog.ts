/**
 * The course's translation catalogs on disk, their status, and merging new English into them.
 *
 * Layout: `i18n/<lang>/<notebook>.po` for each notebook (`i18n/es/01_norm_penalties.po` for
 * `notebooks/01_norm_penalties.ipynb`) and `i18n/<lang>/tools.po` for the tools' own words (see
 * `ui.ts`). English is the source language and has no catalogs.
 *
 * {@link mergeUnits} is gettext's `msgmerge` for the kit's units: a unit whose msgctxt and
 * English are unchanged keeps its entry; a unit whose English changed keeps the old translation
 * marked fuzzy (stale) with the English it was made from; a unit that moved within its cell, or
 * to another cell, with the same English keeps its translation; a new unit gets an empty entry;
 * entries no longer used become obsolete (`#~`) and can still be matched later.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { type Notebook, writeFileAtomic } from "../notebook/io.ts";
import { notebookUnits, type Unit } from "./extract.ts";
import { type UnitState, unitState } from "./localize.ts";
import { formatPo, parsePo, type PoCatalog, type PoEntry } from "./po.ts";

export { isLang, KIT_ROOT, type Lang, LANGUAGES, SOURCE_LANG } from "./langs.ts";
import { KIT_ROOT } from "./langs.ts";

/** The PO file of notebook `notebookPath` in `lang`. */
export function catalogPath(notebookPath: string, lang: string, root = KIT_ROOT): string {
  return join(root, "i18n", lang, basename(notebookPath).replace(/\.ipynb$/, "") + ".po");
}

/** Reads a catalog; null when the file does not exist. */
export async function readCatalog(path: string): Promise<PoCatalog | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return parsePo(text, path);
}

/** Writes a catalog atomically. */
export async function writeCatalog(path: string, cat: PoCatalog): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, formatPo(cat));
}

/** A unit and how it stands. */
export interface UnitStatus {
  unit: Unit;
  state: UnitState;
  reason?: string;
}

/** The status of every unit of a notebook against its catalog. */
export function notebookStatus(
  nb: Notebook,
  cat: PoCatalog | null,
  label: string,
): UnitStatus[] {
  const byCtx = new Map((cat?.entries ?? []).map((e) => [e.ctx, e]));
  return notebookUnits(nb, label).map((unit) => ({
    unit,
    ...unitState(unit, byCtx.get(unit.ctx)),
  }));
}

/** Counts by state. */
export function countStates(list: readonly UnitStatus[]): Record<UnitState, number> {
  const out: Record<UnitState, number> = { ok: 0, missing: 0, stale: 0, invalid: 0 };
  for (const s of list) out[s.state]++;
  return out;
}

/** What {@link mergeUnits} did. */
export interface MergeSummary {
  kept: number;
  /** Units whose English changed: their old translation is kept, marked fuzzy. */
  fuzzy: number;
  /** New units (empty translation). */
  added: number;
  /** Entries that no longer match any unit (kept as obsolete). */
  obsoleted: number;
}

/** A unit's cell id (the msgctxt up to its last "/"). */
function cellOf(ctx: string): string {
  return ctx.slice(0, ctx.lastIndexOf("/"));
}

/**
 * Merges the current English `units` into `old` (null: a new catalog), as `msgmerge` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeUnits } from "./catalog.ts";
 * const unit = (ctx: string, text: string) => ({ ctx, text, note: "markdown paragraph" });
 * const old = { headers: { Language: "es" }, obsolete: [], entries: [
 *   { ctx: "a/1", id: "One.", str: "Uno.", fuzzy: false },
 *   { ctx: "a/2", id: "Two.", str: "Dos.", fuzzy: false },
 * ] };
 * const { catalog, summary } = mergeUnits([unit("a/1", "One!"), unit("a/2", "Two."),
 *   unit("a/3", "Three.")], old, "es");
 * assert.deepEqual(catalog.entries[0], { ctx: "a/1", id: "One!", str: "Uno.", fuzzy: true,
 *   previousId: "One.", note: "markdown paragraph" });
 * assert.deepEqual(summary, { kept: 1, fuzzy: 1, added: 1, obsoleted: 0 });
 * ```
 */
export function mergeUnits(
  units: readonly Pick<Unit, "ctx" | "text" | "note">[],
  old: PoCatalog | null,
  lang: string,
  headers: Record<string, string> = {},
): { catalog: PoCatalog; summary: MergeSummary } {
  const previous = [...(old?.entries ?? []), ...(old?.obsolete ?? [])];
  const exact = new Map(previous.map((e) => [`${e.ctx}\u0000${e.id}`, e]));
  const byCtx = new Map<string, PoEntry>();
  for (const e of old?.entries ?? []) byCtx.set(e.ctx, e);
  const byText = new Map<string, PoEntry[]>();
  for (const e of previous) {
    if (e.str === "") continue;
    const list = byText.get(e.id) ?? [];
    list.push(e);
    byText.set(e.id, list);
  }
  const used = new Set<PoEntry>();
  const summary: MergeSummary = { kept: 0, fuzzy: 0, added: 0, obsoleted: 0 };
  const entries: PoEntry[] = units.map((u) => {
    const base = { ctx: u.ctx, id: u.text, note: u.note };
    const same = exact.get(`${u.ctx}\u0000${u.text}`);
    if (same) {
      used.add(same);
      summary.kept++;
      return { ...same, note: u.note };
    }
    // The same English elsewhere: in the same cell first (a unit inserted above renumbers).
    const moved = (byText.get(u.text) ?? []).sort((a, b) =>
      Number(cellOf(b.ctx) === cellOf(u.ctx)) - Number(cellOf(a.ctx) === cellOf(u.ctx)) ||
      Number(a.fuzzy) - Number(b.fuzzy)
    )[0];
    if (moved) {
      used.add(moved);
      summary.kept++;
      return {
        ...base,
        str: moved.str,
        fuzzy: moved.fuzzy,
        ...(moved.previousId !== undefined ? { previousId: moved.previousId } : {}),
      };
    }
    const changed = byCtx.get(u.ctx);
    if (changed && changed.str !== "") {
      used.add(changed);
      summary.fuzzy++;
      // Keep the English the translation was made from, if it was already stale.
      return {
        ...base,
        str: changed.str,
        fuzzy: true,
        previousId: changed.fuzzy ? changed.previousId ?? changed.id : changed.id,
      };
    }
    if (changed) {
      used.add(changed);
    }
    summary.added++;
    return { ...base, str: "", fuzzy: false };
  });
  const current = new Set(entries.map((e) => `${e.ctx}\u0000${e.id}`));
  const obsolete: PoEntry[] = [];
  const seen = new Set<string>();
  for (const e of previous) {
    const key = `${e.ctx}\u0000${e.id}`;
    if (used.has(e) || e.str === "" || current.has(key) || seen.has(key)) continue;
    seen.add(key);
    obsolete.push({ ctx: e.ctx, id: e.id, str: e.str, fuzzy: e.fuzzy });
    if ((old?.entries ?? []).includes(e)) summary.obsoleted++;
  }
  return {
    catalog: {
      headers: { ...(old?.headers ?? {}), ...headers, Language: lang },
      entries,
      obsolete,
    },
    summary,
  };
}
