/**
 * Pages: one executed notebook to a standalone, safe HTML page ({@link renderNotebook}), and the
 * index ({@link renderIndex}). Pages load only files from `assets/` (see {@link CSP}).
 *
 * A handout reads like a book chapter: a sticky top bar with the way back to the index, the
 * previous and next notebooks and a download link; the contents in a sidebar; code cells longer
 * than {@link FOLD_LINES} lines, or made only of checks, folded behind `<details>` with a
 * one-line summary.
 *
 * Cell tags (Jupyter Book names): `remove-cell`, `remove-input`, `hide-input` (code folded),
 * `remove-output`, `show-input` (never folded).
 *
 * @module
 */
import type { Token } from "markdown-it";
import { type Cell, type Notebook, sourceText } from "../notebook/io.ts";
import { type Heading, highlight, MD, newEnv } from "./markdown.ts";
import { type OutputState, renderOutputs } from "./outputs.ts";
import { CSP, escapeHtml } from "./sanitize.ts";
import { UI, ui } from "../i18n/ui.ts";

/** Name of the course in English, shown in page titles and on the index (see `ui.ts`). */
export const COURSE_TITLE: string = UI["course.title"];

/** Code cells with more lines than this are folded. */
export const FOLD_LINES = 25;

/** A neighbouring page. */
export interface PageLink {
  href: string;
  title: string;
}

/** Options of {@link renderNotebook}. */
export interface PageOptions {
  /** The notebook's file name (e.g. "01_norms.ipynb"), used in messages and the footer. */
  name: string;
  /** Previous and next pages (book navigation). */
  prev?: PageLink | null;
  next?: PageLink | null;
  /** Link to the notebook to download (e.g. "ipynb/01_norms.ipynb"); none when absent. */
  downloadHref?: string | null;
  /** Index page link (default "index.html"); null for a page that stands alone. */
  indexHref?: string | null;
  /** Where `assets/` is, relative to the page (default "assets/"). */
  assetsHref?: string;
  /** Heading of the top bar (default {@link COURSE_TITLE}). */
  courseTitle?: string;
  /** Footer line (HTML is escaped); default names the notebook and `deno task handouts`. */
  footer?: string;
  /** The page's language (BCP 47, default "en"): `<html lang>` and the tools' words. */
  lang?: string;
  /** The same page in other languages (a link each in the top bar); none when absent. */
  translations?: readonly LanguageLink[];
}

/** The same page in another language. */
export interface LanguageLink {
  lang: string;
  href: string;
}

/** A rendered notebook page. */
export interface RenderedPage {
  /** The complete HTML document. */
  html: string;
  /** The first H1's text, or the file name. */
  title: string;
  /** Sanitized HTML of the first paragraph after the title, and the list right after it. */
  summaryHtml: string;
  headings: Heading[];
  /** "ok", or "failed" when the executed notebook records a failing cell. */
  status: "ok" | "failed";
  /** Problems worth a look that did not stop the export (a formula KaTeX rejected, ...). */
  warnings: string[];
}

/** One card of the index page. */
export interface IndexEntry {
  /** Page file name, e.g. "01_norms.html". */
  href: string;
  /** Notebook file name, e.g. "01_norms.ipynb". */
  notebook: string;
  title: string;
  /** Sanitized HTML (block level). */
  summaryHtml: string;
  status: "ok" | "failed";
}

function tagsOf(cell: Cell): string[] {
  const tags = (cell.metadata as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(tags) ? tags.map(String) : [];
}

/**
 * True when every top-level statement of `src` is a check (`assert...`, `check...`), so the
 * cell can fold: its point is the claim, already stated in the text around it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCheckOnly } from "./page.ts";
 * assert.ok(isCheckOnly('// claims\nassertClose(a, b, {\n  atol: 1e-9,\n});\nassert.ok(x > 0, "x");'));
 * assert.ok(!isCheckOnly("const a = 1;\nassert.ok(a === 1);"));
 * ```
 */
export function isCheckOnly(src: string): boolean {
  let depth = 0;
  let statements = 0;
  for (const raw of src.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("//")) continue;
    if (depth === 0) {
      if (!/^(?:assert\w*|check\w*)\s*[.(]/.test(line)) return false;
      statements++;
    }
    // Bracket depth, outside string literals (good enough for the checks notebooks write).
    for (let i = 0, q = ""; i < line.length; i++) {
      const c = line[i];
      if (q) {
        if (c === "\\") i++;
        else if (c === q) q = "";
      } else if (c === '"' || c === "'" || c === "`") q = c;
      else if (c === "/" && line[i + 1] === "/") break;
      else if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth--;
    }
  }
  return statements > 0 && depth === 0;
}

interface KitMeta {
  status?: unknown;
  failed_cell?: unknown;
}

/**
 * Renders an executed notebook, possibly hostile, as a safe standalone page: every piece of
 * notebook text is escaped or sanitized, and the page's Content-Security-Policy allows script
 * only from `assets/`. Write the assets next to it with `writeAssets`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderNotebook } from "./page.ts";
 * const page = renderNotebook({
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [
 *     { cell_type: "markdown", metadata: {}, source: "# Dropout\n\nDrop units with probability $p$.<script>x()</script>" },
 *     { cell_type: "code", metadata: {}, source: "1 + 1", execution_count: 1,
 *       outputs: [{ output_type: "execute_result", execution_count: 1, metadata: {},
 *         data: { "text/plain": "2" } }] },
 *   ],
 * }, { name: "01_dropout.ipynb" });
 * assert.equal(page.title, "Dropout");
 * assert.ok(page.summaryHtml.includes("katex") && !page.html.includes("x()"));
 * ```
 */
export function renderNotebook(nb: Notebook, opts: PageOptions): RenderedPage {
  const lang = opts.lang ?? "en";
  const t = ui(lang);
  const env = newEnv(opts.name);
  const page: OutputState = { figures: 0, env };
  const kit = (nb.metadata?.kit ?? {}) as KitMeta;
  const failed = typeof kit.status === "string" && kit.status !== "ok";
  const failedCell = failed && Number.isInteger(kit.failed_cell) ? kit.failed_cell as number : null;
  const cellsHtml: string[] = [];
  let summaryHtml = "";
  let title = "";
  nb.cells.forEach((cell, i) => {
    const n = i + 1;
    env.where = `${opts.name}, cell ${n}`;
    const tags = tagsOf(cell);
    if (tags.includes("remove-cell")) return;
    const src = sourceText(cell.source);
    if (cell.cell_type === "markdown") {
      env.attachments = cell.attachments;
      const before = env.headings.length;
      const tokens = MD.parse(src, env);
      const html = env.trusted!.clean(MD.renderer.render(tokens, MD.options, env));
      env.attachments = undefined;
      if (!title) {
        const h1 = env.headings.slice(before).find((h) => h.level === 1);
        if (h1) title = h1.text;
      }
      if (!summaryHtml) summaryHtml = summaryOf(tokens, env);
      cellsHtml.push(`<section class="cell markdown" id="cell-${n}">\n${html}</section>`);
    } else if (cell.cell_type === "code") {
      const count = Number.isInteger(cell.execution_count) ? String(cell.execution_count) : " ";
      const prompt = `<div class="prompt" aria-hidden="true">[${count}]</div>`;
      let input = "";
      if (!tags.includes("remove-input") && src.trim() !== "") {
        input = sourceHtml(src, tags, lang);
      }
      const outputs = tags.includes("remove-output") || !Array.isArray(cell.outputs)
        ? ""
        : renderOutputs(cell.outputs, page);
      cellsHtml.push(
        `<section class="cell code${
          failedCell === n ? " failed" : ""
        }" id="cell-${n}">${prompt}<div class="cell-body">${input}${
          outputs ? `<div class="outputs">${outputs}</div>` : ""
        }</div></section>`,
      );
    } else {
      cellsHtml.push(
        `<section class="cell raw" id="cell-${n}"><pre>${escapeHtml(src)}</pre></section>`,
      );
    }
  });
  env.where = opts.name;
  if (!title) title = opts.name.replace(/\.ipynb$/, "");
  let banner = "";
  if (failed) {
    const where = failedCell
      ? t("failed.cell", { n: `<a href="#cell-${failedCell}">${failedCell}</a>` })
      : t("failed.somecell");
    const how = kit.status === "timeout"
      ? t("failed.timeout")
      : kit.status === "died"
      ? t("failed.died")
      : t("failed.error");
    banner = `<div class="run-failed" role="alert"><strong>${t("failed.title")}</strong> ` +
      `${t("failed.after", { where, how })} ` +
      `${t("failed.fix", { command: "<code>deno task handouts</code>" })}</div>`;
  }
  const course = opts.courseTitle ?? t("course.title");
  const indexHref = opts.indexHref === undefined ? "index.html" : opts.indexHref;
  const toc = tocHtml(env.headings, t("toc.title"));
  const link = (l: PageLink | null | undefined, rel: "prev" | "next") =>
    l
      ? `<a class="nav-${rel}" rel="${rel}" href="${escapeHtml(l.href)}" title="${
        escapeHtml(l.title)
      }">${
        rel === "prev"
          ? `&larr;<span class="nav-label"> ${t("nav.previous")}</span>`
          : `<span class="nav-label">${t("nav.next")} </span>&rarr;`
      }</a>`
      : "";
  const download = opts.downloadHref
    ? `<a class="download" href="${
      escapeHtml(opts.downloadHref)
    }" download><span class="nav-label">${t("nav.download")} </span>.ipynb</a>`
    : "";
  const other = languageLinks(opts.translations);
  const topbar = `<header class="topbar"><div class="topbar-left">${
    indexHref
      ? `<a class="nav-index" href="${escapeHtml(indexHref)}">&#9776; ${t("nav.index")}</a>`
      : ""
  }<span class="course">${escapeHtml(course)}</span></div><nav class="topbar-nav" aria-label="${
    t("nav.pages")
  }">${link(opts.prev, "prev")}${link(opts.next, "next")}${download}${other}</nav></header>`;
  const pager = opts.prev || opts.next
    ? `<nav class="pager" aria-label="${t("nav.pager")}">${
      opts.prev
        ? `<a class="pager-prev" href="${escapeHtml(opts.prev.href)}"><span>${
          t("nav.previous")
        }</span>${escapeHtml(opts.prev.title)}</a>`
        : "<span></span>"
    }${
      opts.next
        ? `<a class="pager-next" href="${escapeHtml(opts.next.href)}"><span>${
          t("nav.next")
        }</span>${escapeHtml(opts.next.title)}</a>`
        : "<span></span>"
    }</nav>`
    : "";
  const footer = opts.footer !== undefined ? escapeHtml(opts.footer) : t("footer.page", {
    file: `<code>notebooks/${escapeHtml(opts.name)}</code>`,
    command: "<code>deno task handouts</code>",
  });
  const html = pageShell({
    title: `${title} · ${course}`,
    assets: opts.assetsHref ?? "assets/",
    plots: page.figures > 0,
    lang,
    body: `${topbar}
<div class="layout${toc ? "" : " no-toc"}">
${toc}
<main class="notebook" id="top">
${banner}
${cellsHtml.join("\n")}
${pager}
<footer class="page-footer">${footer}</footer>
</main>
</div>`,
  });
  return {
    html,
    title,
    summaryHtml,
    headings: env.headings,
    status: failed ? "failed" : "ok",
    warnings: env.warnings,
  };
}

/** The page title of a notebook (its first H1's text, else the file name) without rendering it. */
export function titleOf(nb: Notebook, name: string): string {
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown" || tagsOf(cell).includes("remove-cell")) continue;
    const env = newEnv(name);
    MD.parse(sourceText(cell.source), env);
    const h1 = env.headings.find((h) => h.level === 1);
    if (h1) return h1.text;
  }
  return name.replace(/\.ipynb$/, "");
}

function sourceHtml(src: string, tags: string[], lang = "en"): string {
  const code = `<pre class="source hljs"><code class="language-typescript">${
    highlight(src, "typescript")
  }</code></pre>`;
  if (tags.includes("show-input")) return code;
  const lines = src.replace(/\n+$/, "").split("\n").length;
  const checks = isCheckOnly(src);
  if (!checks && lines <= FOLD_LINES && !tags.includes("hide-input")) return code;
  const first = src.split("\n").map((l) => l.trim()).find((l) => l && !l.startsWith("//")) ?? "";
  const short = first.length > 60 ? `${first.slice(0, 57)}...` : first;
  const t = ui(lang);
  const label = checks ? t("fold.checks") : t("fold.code");
  return `<details class="source-fold${
    checks ? " checks" : ""
  }"><summary><span class="fold-label">${label}</span> <span class="fold-lines">${
    t(lines === 1 ? "fold.line" : "fold.lines", { n: lines })
  }</span> <code>${escapeHtml(short)}</code></summary>${code}</details>`;
}

function summaryOf(tokens: Token[], env: ReturnType<typeof newEnv>): string {
  // The first paragraph at the top level, and the list right after it ("After this notebook
  // you can" + the goals): a card that stops mid-sentence helps nobody.
  const p = tokens.findIndex((t) => t.type === "paragraph_open" && t.level === 0);
  if (p < 0) return "";
  let end = tokens.findIndex((t, i) => i > p && t.type === "paragraph_close" && t.level === 0);
  const next = tokens[end + 1];
  if (next && (next.type === "bullet_list_open" || next.type === "ordered_list_open")) {
    const close = next.type.replace("_open", "_close");
    end = tokens.findIndex((t, i) => i > end && t.type === close && t.level === 0);
  }
  const slice = tokens.slice(p, end + 1);
  // Headings are not rendered again: no second anchor registration happens here.
  return env.trusted!.clean(MD.renderer.render(slice, MD.options, env)).trim();
}

function tocHtml(headings: Heading[], title = "Contents"): string {
  // The page title (first H1) heads the page; the contents list the sections below it.
  const firstH1 = headings.findIndex((h) => h.level === 1);
  const items = headings.filter((h, i) => i !== firstH1 && h.level <= 3);
  if (items.length === 0) return "";
  const minLevel = Math.min(...items.map((h) => h.level));
  const lis = items.map((h) =>
    `<li class="toc-l${h.level - minLevel + 1}"><a href="#${escapeHtml(h.id)}">${h.html}</a></li>`
  ).join("\n");
  const ti = escapeHtml(title);
  return `<nav class="toc" id="contents" aria-label="${ti}"><div class="toc-title">${ti}</div><ol>\n${lis}\n</ol></nav>`;
}

/** The HTML document around a page body: CSP, style sheets, the page script. */
export function pageShell(
  o: { title: string; body: string; plots: boolean; assets?: string; lang?: string },
): string {
  const a = escapeHtml(o.assets ?? "assets/");
  const scripts = (o.plots ? `<script src="${a}plotly.min.js"></script>\n` : "") +
    `<script src="${a}handout.js"></script>\n`;
  return `<!DOCTYPE html>
<html lang="${escapeHtml(o.lang ?? "en")}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(o.title)}</title>
<link rel="stylesheet" href="${a}katex/katex.min.css">
<link rel="stylesheet" href="${a}handout.css">
</head>
<body>
${o.body}
${scripts}</body>
</html>
`;
}

/**
 * Renders the index page: a card per notebook in order, with its title, its first paragraph
 * (and the list after it), and a flag on those that did not run to the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderIndex } from "./page.ts";
 * const html = renderIndex([{
 *   href: "00_welcome.html", notebook: "00_welcome.ipynb", title: "Welcome <b>",
 *   summaryHtml: "<p>What the kit is.</p>", status: "ok",
 * }]);
 * assert.ok(html.includes('href="00_welcome.html"') && html.includes("Welcome &lt;b&gt;"));
 * ```
 */
export function renderIndex(
  entries: readonly IndexEntry[],
  opts: {
    courseTitle?: string;
    assetsHref?: string;
    lang?: string;
    translations?: readonly LanguageLink[];
  } = {},
): string {
  const t = ui(opts.lang ?? "en");
  const course = opts.courseTitle ?? t("course.title");
  const items = entries.map((e) => {
    const num = /^(\d+)_/.exec(e.notebook)?.[1];
    const flag = e.status === "failed"
      ? ` <span class="badge failed" title="${t("index.failed.title")}">${t("index.failed")}</span>`
      : "";
    return `<li class="nb-card${e.status === "failed" ? " failed" : ""}"><a href="${
      escapeHtml(e.href)
    }">${num ? `<span class="nb-num">${escapeHtml(num)}</span>` : ""}<span class="nb-title">${
      escapeHtml(e.title)
    }</span></a>${flag}${
      e.summaryHtml ? `<div class="nb-summary">${e.summaryHtml}</div>` : ""
    }<div class="nb-file">${escapeHtml(e.notebook)}</div></li>`;
  }).join("\n");
  return pageShell({
    title: course,
    assets: opts.assetsHref,
    plots: false,
    lang: opts.lang,
    body: `<main class="index" id="top">${
      opts.translations?.length
        ? `<nav class="lang-links" aria-label="${t("nav.other")}">${
          languageLinks(opts.translations)
        }</nav>`
        : ""
    }
<h1>${escapeHtml(course)}</h1>
<p class="lead">${t("index.lead")}</p>
<ol class="nb-list">
${items}
</ol>
<footer class="page-footer">${
      t("footer.index", { command: "<code>deno task handouts</code>" })
    }</footer>
</main>`,
  });
}

/** Links to the same page in other languages, each named in its own language. */
function languageLinks(links: readonly LanguageLink[] | undefined): string {
  return (links ?? []).map((l) =>
    `<a class="lang-link" href="${escapeHtml(l.href)}" hreflang="${escapeHtml(l.lang)}" lang="${
      escapeHtml(l.lang)
    }" title="${escapeHtml(ui(l.lang)("lang.switch"))}">${escapeHtml(ui(l.lang)("lang.name"))}</a>`
  ).join("");
}
