/**
 * HTML exporter: executed notebooks -> offline handouts, safe against hostile notebooks.
 *
 * One page per notebook, `index.html`, the notebooks to download in `ipynb/`, and the shared
 * `assets/`. Nothing is fetched from the network when a page is read, and no script runs but
 * the shipped ones. By responsibility:
 *
 * - `sanitize.ts`: the allowlist (npm `sanitize-html`), escaping, the Content-Security-Policy;
 * - `markdown.ts`: markdown-it, KaTeX math with Pandoc's rules, anchors, highlight.js;
 * - `outputs.ts`: cell outputs (Plotly JSON, HTML, images, text with ANSI colours by `ansi_up`);
 * - `page.ts`: the page and the index (navigation, folding, contents);
 * - `assets.ts` and `assets/`: the style sheet and the page script as real files;
 * - `pdf.ts`: PDFs through headless Chromium;
 * - `cli.ts`: `deno run -A tools/export.ts`.
 *
 * Output is deterministic: the same executed notebooks give the same bytes. Writes are atomic.
 *
 * @module
 */
import { basename, join, relative } from "node:path";
import {
  type Notebook,
  NotebookError,
  notebookJson,
  readNotebook,
  writeFileAtomic,
} from "../notebook/io.ts";
import { writeAssets } from "./assets.ts";
import {
  type IndexEntry,
  type LanguageLink,
  type PageLink,
  renderIndex,
  renderNotebook,
  titleOf,
} from "./page.ts";

export { ansiToHtml } from "./outputs.ts";
export { type Heading, mathPlugin, renderMarkdown, slugify } from "./markdown.ts";
export { CSP, escapeHtml, sanitize } from "./sanitize.ts";
export {
  COURSE_TITLE,
  FOLD_LINES,
  type IndexEntry,
  isCheckOnly,
  type LanguageLink,
  type PageOptions,
  type RenderedPage,
  renderIndex,
  renderNotebook,
} from "./page.ts";
export { writeAssets } from "./assets.ts";

/** A notebook to export: a path to an executed notebook, or one in memory. */
export type ExportInput = string | { name: string; notebook: Notebook };

/** Options of {@link exportNotebooks}. */
export interface ExportOptions {
  /** Output folder (default "dist/handouts"). */
  outDir?: string;
  /**
   * Applied to every notebook before it is rendered and offered for download (for example the
   * student version: solutions stripped, hidden checks removed). Default: none.
   */
  transform?: (nb: Notebook, name: string) => Notebook;
  /**
   * The notebook offered for download at `ipynb/<name>`, from the transformed one; null writes
   * no file and shows no link. Default: the transformed notebook without outputs.
   */
  download?: ((nb: Notebook, name: string) => Notebook | null) | null;
  /**
   * Remove pages, downloads and PDFs in `outDir` of notebooks that are not among the inputs
   * (default false: only a full build knows which notebooks no longer exist).
   */
  prune?: boolean;
  /** Notebook names whose pages `prune` keeps although they are not exported this time. */
  keep?: readonly string[];
  /** The pages' language (default "en"): `<html lang>` and the words of the page chrome. */
  lang?: string;
  /**
   * Where the same handouts are built in other languages: each page links its counterpart
   * there when that page exists (so a link never points at a page that was not built).
   */
  translations?: readonly { lang: string; outDir: string }[];
}

/** The outcome of {@link exportNotebooks}. */
export interface ExportSummary {
  ok: boolean;
  /** Pages written, in index order. */
  pages: (IndexEntry & { path: string; warnings: string[] })[];
  /** Files that could not be exported, with the reason. */
  errors: { path: string; message: string }[];
  /** Files removed by `prune`. */
  removed: string[];
}

/** A notebook with its outputs, execution counts and run record removed. */
export function withoutOutputs(nb: Notebook): Notebook {
  const { kit: _kit, ...metadata } = nb.metadata ?? {};
  return {
    ...nb,
    metadata,
    cells: nb.cells.map((c) =>
      c.cell_type === "code" ? { ...c, outputs: [], execution_count: null } : c
    ),
  };
}

/** Page file name of a notebook file name. */
export function pageName(notebook: string): string {
  return notebook.replace(/\.ipynb$/, "") + ".html";
}

/**
 * Exports notebooks (executed ones, as paths or in memory) to `outDir`: one page each, linked
 * previous/next in file-name order, the index of all of them, the downloads and the assets.
 * A file that cannot be read is reported and skipped (its old page is kept); the others are
 * still exported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportNotebooks } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const nb = (t: string) => ({ nbformat: 4 as const, nbformat_minor: 5, metadata: {},
 *   cells: [{ cell_type: "markdown" as const, metadata: {}, source: `# ${t}\n\nText.` }] });
 * const s = await exportNotebooks(
 *   [{ name: "b.ipynb", notebook: nb("B") }, { name: "a.ipynb", notebook: nb("A") }],
 *   { outDir: dir },
 * );
 * assert.ok(s.ok);
 * const a = await Deno.readTextFile(`${dir}/a.html`);
 * assert.ok(a.includes('rel="next" href="b.html"') && a.includes('href="ipynb/a.ipynb"'));
 * assert.ok((await Deno.readTextFile(`${dir}/index.html`)).includes("b.html"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function exportNotebooks(
  inputs: readonly ExportInput[],
  options: string | ExportOptions = {},
): Promise<ExportSummary> {
  const opts: ExportOptions = typeof options === "string" ? { outDir: options } : options;
  const outDir = opts.outDir ?? "dist/handouts";
  const transform = opts.transform ?? ((nb: Notebook) => nb);
  const download = opts.download === undefined ? withoutOutputs : opts.download;
  const errors: ExportSummary["errors"] = [];
  const names = new Set<string>();
  const loaded: { name: string; notebook: Notebook }[] = [];
  for (const input of inputs) {
    const name = typeof input === "string" ? basename(input) : input.name;
    // Names become file names in outDir: no folders, no hidden files.
    if (!/^[^/\\.][^/\\]*\.ipynb$/.test(name)) {
      errors.push({
        path: name,
        message: `${name}: not a notebook file name (want "name.ipynb", no folders); not exported`,
      });
      continue;
    }
    names.add(name);
    try {
      const nb = typeof input === "string" ? await readNotebook(input) : input.notebook;
      loaded.push({ name, notebook: transform(nb, name) });
    } catch (e) {
      const message = e instanceof NotebookError ? e.message : `${name}: ${(e as Error).message}`;
      errors.push({ path: typeof input === "string" ? input : name, message });
    }
  }
  loaded.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  await Deno.mkdir(outDir, { recursive: true });
  await writeAssets(outDir);
  // Titles first: every page links its neighbours by title.
  const first = loaded.map(({ name, notebook }) => {
    try {
      return titleOf(notebook, name);
    } catch {
      return name.replace(/\.ipynb$/, "");
    }
  });
  const link = (i: number): PageLink | null =>
    i >= 0 && i < loaded.length ? { href: pageName(loaded[i].name), title: first[i] } : null;
  const pages: ExportSummary["pages"] = [];
  const counterparts = (href: string): LanguageLink[] =>
    (opts.translations ?? []).flatMap((t) => {
      const target = join(t.outDir, href);
      return existsFile(target) ? [{ lang: t.lang, href: relative(outDir, target) }] : [];
    });
  for (const [i, { name, notebook }] of loaded.entries()) {
    try {
      const dl = download ? download(notebook, name) : null;
      const page = renderNotebook(notebook, {
        name,
        prev: link(i - 1),
        next: link(i + 1),
        downloadHref: dl ? `ipynb/${encodeURIComponent(name)}` : null,
        lang: opts.lang,
        translations: counterparts(pageName(name)),
      });
      if (dl) await writeFileAtomic(join(outDir, "ipynb", name), notebookJson(dl));
      const href = pageName(name);
      const path = join(outDir, href);
      await writeFileAtomic(path, page.html);
      pages.push({
        href,
        notebook: name,
        title: page.title,
        summaryHtml: page.summaryHtml,
        status: page.status,
        path,
        warnings: page.warnings,
      });
    } catch (e) {
      errors.push({ path: name, message: `${name}: export failed: ${(e as Error).message}` });
    }
  }
  await writeFileAtomic(
    join(outDir, "index.html"),
    renderIndex(pages, { lang: opts.lang, translations: counterparts("index.html") }),
  );
  const removed = opts.prune ? await prune(outDir, new Set([...names, ...(opts.keep ?? [])])) : [];
  return { ok: errors.length === 0, pages, errors, removed };
}

async function prune(outDir: string, names: Set<string>): Promise<string[]> {
  const stems = new Set([...names].map((n) => n.replace(/\.ipynb$/, "")));
  const removed: string[] = [];
  const sweep = async (dir: string, ext: string) => {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch { /* no folder */ }
    for (const e of entries) {
      if (!e.isFile || !e.name.endsWith(ext) || e.name === "index.html") continue;
      if (stems.has(e.name.slice(0, -ext.length))) continue;
      await Deno.remove(join(dir, e.name));
      removed.push(join(dir, e.name));
    }
  };
  await sweep(outDir, ".html");
  await sweep(join(outDir, "ipynb"), ".ipynb");
  await sweep(join(outDir, "pdf"), ".pdf");
  return removed;
}

/** The executed notebooks in `dir` (`*.ipynb`), sorted; [] when the folder is missing. */
export async function listExecuted(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".ipynb")) out.push(join(dir, e.name));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

function existsFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
