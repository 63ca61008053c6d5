/**
 * Grading in the submission's language: a submission whose notebook says `metadata.lang`
 * (set on the translated notebooks `deno task student --lang` hands out) is graded against the
 * instructor notebook generated in that language. Cell ids, check ids, points and code are the
 * English ones, so the grade is the same; the hidden checks' messages are the translated ones.
 *
 * @module
 */
import { type Instructor, loadInstructor } from "../grade/grader.ts";
import type { Notebook } from "../notebook/io.ts";
import { notebookLanguage } from "../notebook/exercises.ts";
import { isLang, SOURCE_LANG } from "./langs.ts";
import { localizedNotebook } from "./mod.ts";

/** The language a submission (notebook JSON text) declares; English when none or unknown. */
export function submissionLanguage(text: string): string {
  try {
    const lang = notebookLanguage(JSON.parse(text) as Notebook);
    return isLang(lang) ? lang : SOURCE_LANG;
  } catch {
    return SOURCE_LANG; // not JSON: the grader reports it
  }
}

/** The language of a student's feedback: the first non-English one among their notebooks. */
export function studentLanguage(notebooks: readonly (Notebook | undefined)[]): string {
  for (const nb of notebooks) {
    if (!nb) continue;
    const lang = notebookLanguage(nb);
    if (lang !== SOURCE_LANG && isLang(lang)) return lang;
  }
  return SOURCE_LANG;
}

const cache = new WeakMap<Instructor, Map<string, Promise<Instructor>>>();

/**
 * `inst` in `lang` (itself for English), from the catalogs under `root/i18n/`, built once per
 * notebook and language.
 */
export function instructorInLanguage(
  inst: Instructor,
  lang: string,
  root: string,
): Promise<Instructor> {
  if (lang === SOURCE_LANG) return Promise.resolve(inst);
  const byLang = cache.get(inst) ?? new Map<string, Promise<Instructor>>();
  cache.set(inst, byLang);
  const key = `${root}\u0000${lang}`;
  let p = byLang.get(key);
  if (!p) {
    p = localizedNotebook(inst.notebook, inst.name, lang, root).then((nb) =>
      loadInstructor(inst.name, JSON.stringify(nb))
    );
    byLang.set(key, p);
  }
  return p;
}
