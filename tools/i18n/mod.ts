/**
 * The kit in other languages: English notebooks are the source; each notebook's translation is a
 * gettext PO catalog in `i18n/<lang>/`, keyed by cell id (`extract.ts` finds the units,
 * `localize.ts` puts translations in, `catalog.ts` keeps the files and their status, `ui.ts` the
 * tools' own words, `cli.ts` the `i18n:*` tasks).
 *
 * @module
 */
import type { Notebook } from "../notebook/io.ts";
import { catalogPath, KIT_ROOT, readCatalog } from "./catalog.ts";
import { localizeNotebook } from "./localize.ts";

export { notebookUnits, type Unit } from "./extract.ts";
export { localizeNotebook } from "./localize.ts";
export { isLang, LANGUAGES, SOURCE_LANG } from "./catalog.ts";
export { ui, type UiKey } from "./ui.ts";
export { notebookLanguage } from "../notebook/exercises.ts";

/**
 * The notebook at `path` in `lang`, from its catalog in `root/i18n/<lang>/` (units without a
 * current translation stay English).
 */
export async function localizedNotebook(
  nb: Notebook,
  path: string,
  lang: string,
  root = KIT_ROOT,
): Promise<Notebook> {
  const cat = await readCatalog(catalogPath(path, lang, root));
  return localizeNotebook(nb, cat, { lang, label: path }).notebook;
}
