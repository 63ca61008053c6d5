/**
 * The kit's languages and where its catalogs live.
 *
 * @module
 */

/** The kit's root folder (where `i18n/` and `notebooks/` are). */
export const KIT_ROOT: string = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The language notebooks are written in. */
export const SOURCE_LANG = "en";
/** The languages the kit can be built in. */
export const LANGUAGES = ["en", "es"] as const;
/** One of {@link LANGUAGES}. */
export type Lang = (typeof LANGUAGES)[number];

/** Whether `s` is one of {@link LANGUAGES}. */
export function isLang(s: string): s is Lang {
  return (LANGUAGES as readonly string[]).includes(s);
}
