/**
 * The grader's notes on a student's feedback page, in the student's language.
 *
 * The grader writes its notes, skip reasons and the messages of checks that did not run in
 * English, for the instructor's files (`grades.csv`, `results.json`). A note that fits one of
 * the English templates `note.*` / `reason.*` of {@link UI} is rewritten from its translation,
 * its values kept (a nested reason translated too); any other text stays as it is. So the grader
 * needs no change to speak Spanish, and a note it words differently one day shows in English
 * rather than wrongly (`tests/i18n_grade_test.ts` grades real submissions and fails then).
 *
 * @module
 */
import { SOURCE_LANG } from "./langs.ts";
import { UI, ui, type UiKey } from "./ui.ts";

interface Template {
  key: UiKey;
  re: RegExp;
  names: string[];
}

let templates: Template[] | null = null;

/** The English templates as anchored patterns, most specific (longest) first. */
function compiled(): Template[] {
  templates ??= (Object.keys(UI) as UiKey[])
    .filter((k) => k.startsWith("note.") || k.startsWith("reason."))
    .sort((a, b) => UI[b].length - UI[a].length)
    .map((key) => {
      const names: string[] = [];
      const parts = UI[key].split(/\{(\w+)\}/);
      const re = parts.map((p, i) => {
        if (i % 2 === 0) return p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(p);
        return "([\\s\\S]+?)";
      }).join("");
      return { key, re: new RegExp(`^${re}$`), names };
    });
  return templates;
}

/**
 * `text` (a note, a reason, a check's message written by the grader) in `lang`: translated when
 * it fits an English template, as it is otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localizeNote } from "./notes.ts";
 * assert.equal(
 *   localizeNote("cell 7 was skipped: it stopped the run (the run took longer than 60 s)", "es"),
 *   "se omitió la celda 7: detuvo la ejecución (la ejecución tardó más de 60 s)",
 * );
 * assert.equal(localizeNote("late", "en"), "late");
 * assert.equal(localizeNote("something else", "es"), "something else");
 * ```
 */
export function localizeNote(text: string, lang: string): string {
  if (lang === SOURCE_LANG) return text;
  const t = ui(lang);
  for (const tpl of compiled()) {
    const m = tpl.re.exec(text);
    if (!m) continue;
    const values: Record<string, string> = {};
    tpl.names.forEach((name, i) => {
      values[name] = name === "reason" ? localizeNote(m[i + 1], lang) : m[i + 1];
    });
    return t(tpl.key, values);
  }
  return text;
}
