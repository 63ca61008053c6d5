/**
 * `deno task handouts`: runs notebooks on the Deno kernel (tools/runner.ts), keeps the executed
 * notebooks in `dist/notebooks/`, then exports every executed notebook there to offline HTML in
 * `dist/handouts/` (tools/export/): one page each, `index.html`, downloads in `ipynb/`, and
 * with `--pdf` one PDF each in `pdf/`.
 *
 * Builds never lose pages:
 * - a path that cannot be read stops the command before anything runs: nothing under `dist/`
 *   changes;
 * - notebooks run into a staging folder; only those that produced an executed notebook (ok, or
 *   failed and exported up to the failing cell with a red banner) replace their namesakes in
 *   `dist/notebooks/`; an invalid notebook file keeps its previous page;
 * - the index and the previous/next links always cover every executed notebook in
 *   `dist/notebooks/`, so a one-notebook build keeps every entry;
 * - only a full build (no paths) removes executed notebooks, pages, downloads and PDFs of
 *   notebooks that no longer exist in `notebooks/`.
 * The command exits 1 when any notebook failed or was invalid, 0 otherwise.
 *
 * Each figure of the notebooks run gets a static image (tools/export/figures.ts) unless
 * `--no-images`.
 *
 * Cells run sandboxed (`jupyter/untrusted.ts`) unless `--allow-all`.
 *
 * CLI: `deno task handouts [paths...] [--jobs N] [--timeout SECONDS] [--pdf] [--no-images]
 * [--solutions] [--untrusted | --allow-all]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join } from "node:path";
import { formatFailure, runNotebooks, type RunSummary } from "./runner.ts";
import {
  exportNotebooks,
  type ExportOptions,
  type ExportSummary,
  listExecuted,
  withoutOutputs,
} from "./export/mod.ts";
import { type PdfSummary, writePdfs } from "./export/pdf.ts";
import { addFigureImages, type FigureImageSummary, haveChromium } from "./export/figures.ts";
import { InputKeys, upToDate } from "./export/fresh.ts";
import {
  type Notebook,
  projectNotebooks,
  readNotebook,
  sourceText,
  writeNotebook,
} from "./notebook/io.ts";
import { studentNotebook } from "./notebook/exercises.ts";
import { positiveOption, runMain } from "./cli.ts";
import { type Trust, TRUST_HELP, trustOption } from "./jupyter/untrusted.ts";
import { isLang, LANGUAGES } from "./i18n/langs.ts";
import { writeLocalized } from "./i18n/cli.ts";

/** Options of {@link buildHandouts}. */
export interface HandoutOptions {
  /** Kernels at once (default: the number of cores). */
  concurrency?: number;
  /** Per-cell timeout in ms (default 120 000). */
  timeoutMs?: number;
  /** Executed notebooks go here (default "dist/notebooks"). */
  notebooksDir?: string;
  /** Handouts go here (default "dist/handouts"). */
  handoutsDir?: string;
  /**
   * `paths` are all the course's notebooks: remove what belongs to notebooks not among them
   * (default false; the CLI sets it when it builds the whole folder).
   */
  full?: boolean;
  /** @deprecated Same as `full`. */
  prune?: boolean;
  /** Applied to each executed notebook before export (e.g. the student version). */
  transform?: ExportOptions["transform"];
  /** The notebook offered for download (default: the transformed one, without outputs). */
  download?: ExportOptions["download"];
  /** Also write `handoutsDir/pdf/*.pdf`: for the notebooks run now, and pages without one. */
  pdf?: boolean;
  /**
   * Add a static image of every figure to the notebooks run now (tools/export/figures.ts;
   * default true; skipped with a warning when Chromium is not installed).
   */
  images?: boolean;
  /**
   * Do not run notebooks whose executed copy in `notebooksDir` is up to date (ran green from
   * the same notebook, lib/, data/, deno.json, deno.lock and Deno; tools/export/fresh.ts).
   * Default false; `--pdf` sets it.
   */
  reuse?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** How much the notebooks' code is trusted (see `RunOptions.trust`; default "all"). */
  trust?: Trust;
  /** The pages' language and where the other languages' pages are (see `exportNotebooks`). */
  lang?: ExportOptions["lang"];
  translations?: ExportOptions["translations"];
  /** The student kit's zip to offer on every page (see `exportNotebooks`' `kit`). */
  kit?: string;
}

/** The outcome of {@link buildHandouts}. */
export interface HandoutSummary {
  /** True when every notebook ran and every page (and PDF) was written. */
  ok: boolean;
  run: RunSummary;
  export: ExportSummary;
  pdf?: PdfSummary;
  /** The figure images added (absent when `images` was false or Chromium is missing). */
  images?: FigureImageSummary;
  /** Executed notebooks removed by a full build (their notebooks no longer exist). */
  removed: string[];
  /** Notebooks not run because their executed copy was up to date (`reuse`). */
  reused: string[];
}

/** A path given to the build that cannot be read; nothing was changed. */
export class UnreadablePathError extends Error {
  constructor(readonly paths: { path: string; reason: string }[]) {
    super(
      `handouts: cannot read ${
        paths.map((p) => `${p.path} (${p.reason})`).join(", ")
      }; check the path. Nothing was run and nothing under dist/ changed.`,
    );
    this.name = "UnreadablePathError";
  }
}

async function unreadable(paths: readonly string[]): Promise<{ path: string; reason: string }[]> {
  const bad: { path: string; reason: string }[] = [];
  for (const path of paths) {
    try {
      const st = await Deno.stat(path);
      if (!st.isFile) throw new Error("not a file");
      (await Deno.open(path, { read: true })).close();
    } catch (e) {
      bad.push({
        path,
        reason: e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message,
      });
    }
  }
  return bad;
}

/**
 * Runs the notebooks, keeps every executed one (failed ones included, flagged on their page
 * and on the index), then exports all executed notebooks in `notebooksDir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildHandouts } from "../tools/handouts.ts";
 * const dir = await Deno.makeTempDir();
 * const s = await buildHandouts(["notebooks/00_welcome.ipynb"], {
 *   notebooksDir: `${dir}/nb`, handoutsDir: `${dir}/html`,
 * });
 * assert.ok(s.ok && s.export.pages[0].href === "00_welcome.html");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function buildHandouts(
  paths: readonly string[],
  opts: HandoutOptions = {},
): Promise<HandoutSummary> {
  const bad = await unreadable(paths);
  if (bad.length) throw new UnreadablePathError(bad);
  const notebooksDir = opts.notebooksDir ?? "dist/notebooks";
  const handoutsDir = opts.handoutsDir ?? "dist/handouts";
  const full = opts.full ?? opts.prune ?? false;
  const log = opts.log ?? (() => {});
  await Deno.mkdir(notebooksDir, { recursive: true });
  // What each executed notebook is made from, recorded in it so a later build can reuse it.
  const keys = new InputKeys();
  const keyOf = new Map<string, string>();
  for (const p of paths) keyOf.set(basename(p), await keys.of(p));
  const reused: string[] = [];
  let toRun: readonly string[] = paths;
  if (opts.reuse) {
    const stale: string[] = [];
    for (const p of paths) {
      const fresh = await upToDate(join(notebooksDir, basename(p)), keyOf.get(basename(p))!);
      (fresh ? reused : stale).push(p);
    }
    toRun = stale;
    if (reused.length) {
      log(
        `${reused.length} executed notebook(s) up to date, not run again (${
          reused.map((p) => basename(p)).join(", ")
        })`,
      );
    }
  }
  // Run into a staging folder next to the executed notebooks (same file system: renames are
  // atomic), so an invalid or crashing run never deletes a good executed notebook.
  const staging = await Deno.makeTempDir({ dir: dirname(notebooksDir), prefix: ".staging-" });
  let run: RunSummary;
  try {
    run = await runNotebooks(toRun, {
      concurrency: opts.concurrency,
      timeoutMs: opts.timeoutMs,
      outDir: staging,
      trust: opts.trust,
      onProgress: (p) => {
        if (p.phase === "start") log(`${p.path}: running (${p.total} code cells)`);
        if (p.phase === "done") {
          log(
            p.status === "invalid"
              ? `${p.path}: invalid notebook file`
              : `${p.path}: ${p.status} after ${p.cell}/${p.total} code cells, ${
                (p.elapsedMs / 1000).toFixed(1)
              } s`,
          );
        }
      },
    });
    for (const r of run.runs) {
      if (!r.outPath) continue;
      const nb = await readNotebook(r.outPath);
      nb.metadata.kit = { ...(nb.metadata.kit ?? {}), inputs: keyOf.get(basename(r.path)) };
      await writeNotebook(r.outPath, nb);
      await Deno.rename(r.outPath, join(notebooksDir, basename(r.outPath)));
    }
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  let images: FigureImageSummary | undefined;
  if (opts.images ?? true) {
    const ran = run.runs.flatMap((r) => r.outPath ? [join(notebooksDir, basename(r.outPath))] : []);
    if (!haveChromium()) {
      log("warning: Chromium not found (apt-get install -y chromium): figures get no static image");
    } else if (ran.length) {
      log(`drawing the figures of ${ran.length} notebook(s) as images`);
      images = await addFigureImages(ran, { log });
      log(
        `${images.figures} figure image(s) in ${(images.elapsedMs / 1000).toFixed(1)} s, ` +
          `${(images.addedBytes / 1e6).toFixed(2)} MB added to ${notebooksDir}`,
      );
    }
  }
  const removed: string[] = [];
  if (full) {
    const current = new Set(paths.map((p) => basename(p)));
    for (const p of await listExecuted(notebooksDir)) {
      if (current.has(basename(p))) continue;
      await Deno.remove(p);
      removed.push(p);
    }
  }
  const exported = await exportNotebooks(await listExecuted(notebooksDir), {
    outDir: handoutsDir,
    transform: opts.transform,
    download: opts.download,
    prune: full,
    // An invalid notebook still exists: its previous page stays.
    keep: paths.map((p) => basename(p)),
    lang: opts.lang,
    translations: opts.translations,
    kit: opts.kit,
  });
  let pdf: PdfSummary | undefined;
  if (opts.pdf) {
    // The notebooks of this run, and any page that has no PDF yet: the others did not change.
    const ran = new Set(toRun.map((p) => basename(p)));
    const pdfDir = join(handoutsDir, "pdf");
    const due: string[] = [];
    for (const p of exported.pages) {
      const target = join(pdfDir, p.href.replace(/\.html$/, ".pdf"));
      if (ran.has(p.notebook) || !(await Deno.stat(target).then(() => true, () => false))) {
        due.push(p.path);
      }
    }
    log(`writing ${due.length} PDF(s) to ${pdfDir}`);
    pdf = await writePdfs(due, { outDir: pdfDir });
  }
  return {
    ok: run.ok && exported.ok && (pdf?.errors.length ?? 0) === 0 &&
      (images?.errors.length ?? 0) === 0,
    run,
    export: exported,
    pdf,
    images,
    removed,
    reused,
  };
}

/**
 * The published (student) handout of an executed instructor notebook: the student version
 * (`studentNotebook` of tools/grade: solution regions replaced by a stub, hidden checks
 * removed), with the outputs of every code cell the student version leaves unchanged. Cells
 * that held a solution show no output (it would give the answer away). `--solutions` builds
 * the instructor copy without this transform.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { studentPage } from "../tools/handouts.ts";
 * const out = [{ output_type: "stream" as const, name: "stdout" as const, text: "42\n" }];
 * const code = (id: string, source: string, metadata = {}) =>
 *   ({ cell_type: "code" as const, id, metadata, source, outputs: out, execution_count: 1 });
 * const page = studentPage({
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [
 *     code("p", "console.log(42);"),
 *     { cell_type: "markdown", id: "m", metadata: {}, source: "### Exercise 1: f (2 points)" },
 *     code("a", "function f() {\n  // BEGIN SOLUTION\n  return 1;\n  // END SOLUTION\n}"),
 *     code("b", "f();", { kit: { grade: { id: "01-ex1", points: 2, hidden: true } } }),
 *   ],
 * }, "01_x.ipynb");
 * assert.equal(page.cells.length, 3, "the hidden check is gone");
 * assert.deepEqual(page.cells[0].cell_type === "code" && page.cells[0].outputs, out);
 * assert.ok(!JSON.stringify(page).includes("return 1"), "no solution");
 * assert.deepEqual(page.cells[2].cell_type === "code" && page.cells[2].outputs, []);
 * ```
 */
export function studentPage(nb: Notebook, name: string): Notebook {
  const student = studentNotebook(nb, name);
  const byId = new Map(nb.cells.map((c) => [c.id, c]));
  return {
    ...student,
    cells: student.cells.map((c) => {
      const orig = c.id === undefined ? undefined : byId.get(c.id);
      if (
        c.cell_type !== "code" || orig?.cell_type !== "code" ||
        sourceText(orig.source) !== sourceText(c.source)
      ) return c;
      return { ...c, outputs: orig.outputs, execution_count: orig.execution_count };
    }),
  };
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      jobs: { type: "string", short: "j" },
      timeout: { type: "string", short: "t" },
      pdf: { type: "boolean" },
      "no-images": { type: "boolean" },
      solutions: { type: "boolean" },
      lang: { type: "string" },
      kit: { type: "string" },
      untrusted: { type: "boolean" },
      "allow-all": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task handouts [paths...] [--jobs N] [--timeout SECONDS] [--pdf] [--no-images]\n" +
        "       [--solutions] [--lang LANG] [--kit ZIP] [--untrusted | --allow-all]\n" +
        "Runs the notebooks (default notebooks/*.ipynb) on the Deno kernel, keeps them in\n" +
        "dist/notebooks/ and writes the HTML handouts of every notebook there to dist/handouts/\n" +
        "(open index.html). --pdf also writes dist/handouts/pdf/*.pdf and runs only notebooks\n" +
        "whose executed copy is out of date (notebook, lib/, data/, deno.json, deno.lock, Deno);\n" +
        "`deno task handouts:pdf` prints the pages already built. --solutions writes the\n" +
        "instructor copy (solutions kept) to dist/handouts-solutions/ instead. Every figure of\n" +
        "the notebooks run gets a static image (Chromium) unless --no-images.\n" +
        "--lang es builds the Spanish edition (notebooks generated from i18n/es/*.po) into\n" +
        "dist/handouts/es/ (executed notebooks in dist/notebooks/es/); English is the default.\n" +
        "Pages link the same page in the other language when it has been built.\n" +
        "--kit ZIP copies the student kit (deno task student writes dist/student-kit.zip) to\n" +
        "student-kit.zip beside the pages, which then link it next to their .ipynb: a notebook\n" +
        "alone does not run.\n" +
        TRUST_HELP + "\n" +
        "Exits 1 if any notebook failed or is invalid; a path that cannot be read changes nothing.",
    );
    return 0;
  }
  if (
    values.kit !== undefined && !(await Deno.stat(values.kit).then((s) => s.isFile, () => false))
  ) {
    console.error(
      `handouts: --kit ${values.kit}: no such file; build the student kit first with ` +
        "deno task student (it writes dist/student-kit.zip)",
    );
    return 2;
  }
  const trust = trustOption("handouts", values.untrusted, values["allow-all"]);
  const jobs = positiveOption("handouts", "jobs", values.jobs);
  const timeout = positiveOption("handouts", "timeout", values.timeout);
  const lang = values.lang ?? "en";
  if (!isLang(lang)) {
    console.error(`handouts: --lang ${lang}: choose one of ${LANGUAGES.join(", ")}`);
    return 2;
  }
  const sources = positionals.length ? positionals : await projectNotebooks();
  if (sources.length === 0) {
    console.error("handouts: no notebooks found in notebooks/; nothing to do.");
    return 1;
  }
  const edition = editionDirs(lang, values.solutions ?? false);
  const handoutsDir = edition.handoutsDir;
  console.log(`handouts: ${sources.length} notebook(s)${lang === "en" ? "" : `, ${lang}`}`);
  let s: HandoutSummary;
  let localized: string | null = null;
  try {
    const bad = await unreadable(sources);
    if (bad.length) throw new UnreadablePathError(bad);
    // Another language: its notebooks are generated from the English and the catalogs.
    // Inside the kit (the kernel finds deno.json's import map from the notebook's folder).
    if (lang !== "en") await Deno.mkdir("dist", { recursive: true });
    localized = lang === "en"
      ? null
      : await Deno.makeTempDir({ dir: "dist", prefix: `.i18n-${lang}-` });
    const paths = localized ? await localizedSources(sources, lang, localized) : sources;
    s = await buildHandouts(paths, {
      concurrency: jobs === undefined ? undefined : Math.floor(jobs),
      timeoutMs: timeout === undefined ? undefined : timeout * 1000,
      handoutsDir,
      notebooksDir: edition.notebooksDir,
      full: positionals.length === 0,
      lang,
      translations: edition.others,
      transform: values.solutions ? undefined : studentPage,
      download: withoutOutputs,
      kit: values.kit,
      pdf: values.pdf ?? false,
      // Printing needs executed notebooks, not fresh ones: reuse those that are up to date.
      reuse: values.pdf ?? false,
      images: !values["no-images"],
      trust,
      log: (l) => console.log(l),
    });
    // The other editions' pages gain their link to these (an export only, nothing runs).
    if (!values.solutions) await relinkEditions(lang);
  } catch (e) {
    if (e instanceof UnreadablePathError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  } finally {
    if (localized) await Deno.remove(localized, { recursive: true }).catch(() => {});
  }
  for (const r of s.run.runs) if (r.status !== "ok") console.error("\n" + formatFailure(r));
  for (const p of s.export.pages) {
    for (const w of p.warnings) console.warn(`warning: ${w}`);
  }
  for (const e of s.export.errors) console.error(`ERROR ${e.message}`);
  for (const e of s.pdf?.errors ?? []) console.error(`ERROR ${e}`);
  for (const e of s.images?.errors ?? []) console.error(`ERROR ${e}`);
  for (const r of [...s.removed, ...s.export.removed]) console.log(`removed ${r}`);
  const failed = s.run.runs.filter((r) => r.status === "failed").map((r) => basename(r.path));
  console.log(
    `\nhandouts: ${s.export.pages.length} page(s) in ${handoutsDir}/ (open ${handoutsDir}/index.html)` +
      (s.pdf ? `, ${s.pdf.written.length} PDF(s) in ${handoutsDir}/pdf/` : "") +
      (failed.length ? `; exported with their error: ${failed.join(", ")}` : "") +
      (s.run.failed ? `; ${s.run.failed} notebook(s) failed` : ""),
  );
  return s.ok ? 0 : 1;
}

/**
 * Where an edition goes: English in `dist/notebooks/` and `dist/handouts/`, another language in
 * `dist/notebooks/<lang>/` and `dist/handouts/<lang>/` (with `--solutions`:
 * `dist/handouts-solutions[/<lang>]/`), and the other editions' handouts folders.
 */
export function editionDirs(
  lang: string,
  solutions = false,
): { notebooksDir: string; handoutsDir: string; others: { lang: string; outDir: string }[] } {
  const base = solutions ? "dist/handouts-solutions" : "dist/handouts";
  const at = (l: string, root: string) => (l === "en" ? root : join(root, l));
  return {
    notebooksDir: at(lang, "dist/notebooks"),
    handoutsDir: at(lang, base),
    others: LANGUAGES.filter((l) => l !== lang).map((l) => ({ lang: l, outDir: at(l, base) })),
  };
}

/** Generates the notebooks of `paths` in `lang` into `dir`; returns their paths there. */
async function localizedSources(paths: readonly string[], lang: string, dir: string) {
  const out: string[] = [];
  for (const r of await writeLocalized(paths, lang, dir)) {
    if (r.error) throw new Error(`handouts: ${r.error}`);
    if (r.untranslated) {
      console.warn(
        `handouts: ${basename(r.path)}: ${r.untranslated} unit(s) not translated to ${lang} ` +
          `stay English (see deno task i18n:status)`,
      );
    }
    if (r.languageCalls === 0) {
      console.warn(
        `handouts: ${basename(r.path)} never calls setLanguage("en"): the kit's own words in ` +
          `its figures and claims table stay English in the ${lang} edition`,
      );
    }
    out.push(r.written!);
  }
  return out;
}

/** Re-exports the already built editions other than `lang`, so their pages link to `lang`'s. */
async function relinkEditions(lang: string): Promise<void> {
  for (const other of LANGUAGES) {
    if (other === lang) continue;
    const dirs = editionDirs(other);
    const executed = await listExecuted(dirs.notebooksDir);
    const built = await Deno.stat(join(dirs.handoutsDir, "index.html")).then(
      () => true,
      () => false,
    );
    if (!executed.length || !built) continue;
    await exportNotebooks(executed, {
      outDir: dirs.handoutsDir,
      transform: studentPage,
      download: withoutOutputs,
      lang: other,
      translations: dirs.others,
    });
  }
}

if (import.meta.main) await runMain(main);
