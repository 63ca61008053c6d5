/**
 * The translation commands:
 *
 * - `deno task i18n:status [--lang es] [--strict] [--verbose] [notebooks...]`: per notebook,
 *   how many units are translated, missing, stale (fuzzy or translated from other English) or
 *   invalid, and the same for the tools' words (`tools.po`). `--strict` exits 1 when anything
 *   is not translated.
 * - `deno task i18n:update [--lang es] [notebooks...]`: merges the current English into the PO
 *   files (`i18n/<lang>/<notebook>.po`, `i18n/<lang>/tools.po`), keeping translations and
 *   marking those whose English changed as fuzzy, like gettext's `msgmerge`.
 * - `deno task i18n:notebooks [--lang es] [--out DIR] [notebooks...]`: writes the notebooks in
 *   that language (default `dist/<lang>/notebooks/`), same cell ids, `metadata.lang` set.
 * - `deno task i18n:lint [notebooks...]`: checks the current Spanish translations against the
 *   glossary, `docs/glosario.md` (rules in `glossary.ts`); exits 1 when anything is flagged.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { runMain } from "../cli.ts";
import { notebookJson, projectNotebooks, readNotebook, writeFileAtomic } from "../notebook/io.ts";
import {
  catalogPath,
  countStates,
  isLang,
  KIT_ROOT,
  LANGUAGES,
  mergeUnits,
  notebookStatus,
  readCatalog,
  SOURCE_LANG,
  type UnitStatus,
  writeCatalog,
} from "./catalog.ts";
import { notebookUnits } from "./extract.ts";
import { localizeNotebook } from "./localize.ts";
import { slotsOf, UI, uiCatalogPath } from "./ui.ts";
import type { PoCatalog } from "./po.ts";
import { checkProse, glossaryRules, type ProseUnit } from "./glossary.ts";

const USAGE = {
  status: `usage: deno task i18n:status [--lang LANG] [--strict] [--verbose] [notebooks...]

Lists, per notebook and for the tools' own words, the translation units that are translated,
missing, stale (the English changed since, or marked fuzzy) or invalid (would break the code).
  --lang LANG   ${LANGUAGES.filter((l) => l !== SOURCE_LANG).join(", ")} (default es)
  --strict      exit 1 unless everything is translated
  --verbose     name every unit that is not translated
  notebooks     default: every notebooks/*.ipynb
  -h, --help    this text`,
  update: `usage: deno task i18n:update [--lang LANG] [notebooks...]

Merges the current English of the notebooks (default: every notebooks/*.ipynb) and of the tools
into i18n/LANG/*.po: new units get empty entries, changed ones keep their old translation marked
fuzzy (stale), unused ones become obsolete (#~). Then translate in Poedit, Weblate or an editor
and run deno task i18n:status.
  --lang LANG   ${LANGUAGES.filter((l) => l !== SOURCE_LANG).join(", ")} (default es)
  -h, --help    this text`,
  lint: `usage: deno task i18n:lint [notebooks...]

Checks the current Spanish translations (notebooks' catalogs and tools.po) against the glossary,
docs/glosario.md, with rules read from it: a kit term "X (Y)" whose Y is used in a notebook that
never says X; words the glossary says no deck uses; the form of address ("tú", not "usted" or
"vosotros"); the decimal point (no "0,5" in prose). Code, math and URLs are not checked. Exits 1
when anything is flagged.
  -h, --help    this text`,
  notebooks: `usage: deno task i18n:notebooks [--lang LANG] [--out DIR] [notebooks...]

Writes the notebooks in LANG (default es) to DIR (default dist/LANG/notebooks): the English
notebook with every current translation in place, the same cell ids, metadata.lang = LANG.
Untranslated units stay English.
  -h, --help    this text`,
};

type Command = keyof typeof USAGE;

/** The current Spanish of each notebook's catalog and of tools.po, as prose units. */
/** The Spanish prose of the given notebooks and of tools.po, grouped per file, for the lint. */
export async function spanishProse(paths: readonly string[]): Promise<ProseUnit[][]> {
  const groups: ProseUnit[][] = [];
  for (const path of paths) {
    const nb = await readNotebook(path);
    const cat = await readCatalog(catalogPath(path, "es"));
    const str = new Map((cat?.entries ?? []).map((e) => [e.ctx, e.str]));
    groups.push(
      notebookStatus(nb, cat, path).filter((s) => s.state === "ok").map((s) => ({
        file: basename(path),
        ctx: s.unit.ctx,
        text: str.get(s.unit.ctx)!,
      })),
    );
  }
  const tools = await readCatalog(uiCatalogPath("es"));
  const ok = new Set(uiStatus(tools).ok);
  groups.push(
    (tools?.entries ?? []).filter((e) => ok.has(e.ctx)).map((e) => ({
      file: "tools.po",
      ctx: e.ctx,
      text: e.str,
    })),
  );
  return groups;
}

async function lint(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const paths = positionals.length ? positionals : await projectNotebooks();
  const { rules, notes } = glossaryRules(
    await Deno.readTextFile(join(KIT_ROOT, "docs", "glosario.md")),
  );
  for (const n of notes) console.warn(`i18n:lint: ${n}`);
  let found = 0;
  for (const group of await spanishProse(paths)) {
    for (const f of checkProse(group, rules)) {
      console.log(`${f.file} ${f.ctx} ${f.rule}: ${f.message}`);
      found++;
    }
  }
  console.log(
    `i18n:lint: ${rules.length} rules from docs/glosario.md, ${found} finding(s) in ` +
      `${paths.length} notebook(s) and tools.po`,
  );
  return found ? 1 : 0;
}

function langOf(cmd: string, v: string | undefined): string {
  const lang = v ?? "es";
  if (!isLang(lang) || lang === SOURCE_LANG) {
    throw new UsageError(
      `${cmd}: --lang ${lang}: choose one of ${
        LANGUAGES.filter((l) => l !== SOURCE_LANG).join(", ")
      } (English is the source)`,
    );
  }
  return lang;
}

class UsageError extends Error {}

/** The tools' catalog as units (key, English). */
export function uiUnits(): { ctx: string; text: string; note: string }[] {
  return Object.entries(UI).map(([ctx, text]) => ({
    ctx,
    text,
    note: slotsOf(text).length ? `keep ${slotsOf(text).map((s) => `{${s}}`).join(" ")}` : "",
  }));
}

/** Status of the tools' catalog: keys missing, stale or with broken `{slots}`. */
export function uiStatus(
  cat: PoCatalog | null,
): Record<"ok" | "missing" | "stale" | "invalid", string[]> {
  const out = {
    ok: [] as string[],
    missing: [] as string[],
    stale: [] as string[],
    invalid: [] as string[],
  };
  const byCtx = new Map((cat?.entries ?? []).map((e) => [e.ctx, e]));
  for (const [key, english] of Object.entries(UI)) {
    const e = byCtx.get(key);
    if (!e || e.str === "") out.missing.push(key);
    else if (e.fuzzy || e.id !== english) out.stale.push(key);
    else if (slotsOf(e.str).join() !== slotsOf(english).join()) out.invalid.push(key);
    else out.ok.push(key);
  }
  return out;
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      lang: { type: "string" },
      strict: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
    },
  });
  const lang = langOf("i18n:status", values.lang);
  const paths = positionals.length ? positionals : await projectNotebooks();
  let bad = 0;
  let broken = 0;
  const rows: string[][] = [["notebook", "units", "translated", "missing", "stale", "invalid"]];
  const details: string[] = [];
  for (const path of paths) {
    let list: UnitStatus[];
    try {
      const nb = await readNotebook(path);
      list = notebookStatus(nb, await readCatalog(catalogPath(path, lang)), path);
    } catch (e) {
      console.error(`i18n:status: ${(e as Error).message}`);
      broken++;
      continue;
    }
    const c = countStates(list);
    bad += c.missing + c.stale + c.invalid;
    rows.push(
      [
        basename(path),
        String(list.length),
        String(c.ok),
        String(c.missing),
        String(c.stale),
        String(c.invalid),
      ].map(String),
    );
    if (values.verbose) {
      for (const s of list) {
        if (s.state === "ok") continue;
        details.push(
          `${basename(path)} ${s.unit.ctx} ${s.state}${s.reason ? ` (${s.reason})` : ""}: ${
            JSON.stringify(s.unit.text.slice(0, 70))
          }`,
        );
      }
    }
  }
  const u = uiStatus(await readCatalog(uiCatalogPath(lang)));
  bad += u.missing.length + u.stale.length + u.invalid.length;
  rows.push([
    "(tools) tools.po",
    String(Object.keys(UI).length),
    String(u.ok.length),
    String(u.missing.length),
    String(u.stale.length),
    String(u.invalid.length),
  ]);
  if (values.verbose) {
    for (const k of ["missing", "stale", "invalid"] as const) {
      for (const key of u[k]) details.push(`tools.po ${key} ${k}`);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`translation status, ${lang} (catalogs in i18n/${lang}/):`);
  for (const r of rows) {
    console.log(
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "),
    );
  }
  for (const d of details) console.log(d);
  if (broken) return 1;
  return values.strict && bad > 0 ? 1 : 0;
}

async function update(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { lang: { type: "string" } },
  });
  const lang = langOf("i18n:update", values.lang);
  const paths = positionals.length ? positionals : await projectNotebooks();
  let failed = 0;
  for (const path of paths) {
    try {
      const nb = await readNotebook(path);
      const units = notebookUnits(nb, path);
      const po = catalogPath(path, lang);
      const { catalog, summary } = mergeUnits(units, await readCatalog(po), lang, {
        "Project-Id-Version": basename(path),
      });
      await writeCatalog(po, catalog);
      console.log(
        `${po}: ${units.length} units: ${summary.kept} kept, ${summary.fuzzy} marked fuzzy ` +
          `(English changed), ${summary.added} new, ${summary.obsoleted} obsolete`,
      );
    } catch (e) {
      console.error(`i18n:update: ${(e as Error).message}`);
      failed++;
    }
  }
  const po = uiCatalogPath(lang);
  const { catalog, summary } = mergeUnits(uiUnits(), await readCatalog(po), lang, {
    "Project-Id-Version": "course kit tools",
  });
  await writeCatalog(po, catalog);
  console.log(
    `${po}: ${summary.kept} kept, ${summary.fuzzy} marked fuzzy, ${summary.added} new, ` +
      `${summary.obsoleted} obsolete`,
  );
  return failed ? 1 : 0;
}

/** Writes the notebooks in `lang` into `out`; returns how each fared. */
export async function writeLocalized(
  paths: readonly string[],
  lang: string,
  out: string,
  root = KIT_ROOT,
): Promise<
  { path: string; written?: string; error?: string; untranslated: number; languageCalls: number }[]
> {
  await Deno.mkdir(out, { recursive: true });
  const results = [];
  for (const path of paths) {
    try {
      const nb = await readNotebook(path);
      const { notebook, report } = localizeNotebook(
        nb,
        await readCatalog(catalogPath(path, lang, root)),
        { lang, label: path },
      );
      const target = join(out, basename(path));
      await writeFileAtomic(target, notebookJson(notebook));
      results.push({
        path,
        written: target,
        untranslated: report.missing.length + report.stale.length + report.invalid.length,
        languageCalls: report.languageCalls,
      });
    } catch (e) {
      results.push({ path, error: (e as Error).message, untranslated: 0, languageCalls: 0 });
    }
  }
  return results;
}

async function notebooks(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { lang: { type: "string" }, out: { type: "string" } },
  });
  const lang = langOf("i18n:notebooks", values.lang);
  const paths = positionals.length ? positionals : await projectNotebooks();
  const out = values.out ?? `dist/${lang}/notebooks`;
  const results = await writeLocalized(paths, lang, out);
  for (const r of results) {
    if (r.error) console.error(`i18n:notebooks: ${r.error}`);
    else {
      console.log(
        `${r.written}${r.untranslated ? ` (${r.untranslated} units still English)` : ""}`,
      );
      if (r.languageCalls === 0) {
        console.warn(
          `i18n:notebooks: ${r.path} never calls setLanguage("en") (import it from ` +
            `@kit/mod.ts and call it in the import cell): the kit's own words in its figures ` +
            `and claims table stay English`,
        );
      }
    }
  }
  return results.some((r) => r.error) ? 1 : 0;
}

async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  if (!(cmd in USAGE)) {
    console.error(`usage: deno run -A tools/i18n/cli.ts status|update|notebooks|lint [--help]`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(USAGE[cmd as Command]);
    return 0;
  }
  try {
    if (cmd === "status") return await status(rest);
    if (cmd === "update") return await update(rest);
    if (cmd === "lint") return await lint(rest);
    return await notebooks(rest);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error((e as Error).message);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) await runMain(main);
