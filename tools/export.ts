/**
 * HTML exporter: executed notebooks -> offline handouts.
 *
 * One page per notebook plus `index.html`, sharing `assets/` (KaTeX CSS and fonts, plotly.js,
 * the handout style sheet). Nothing is fetched from the network when a page is read:
 *
 * - markdown through markdown-it, with `$...$` and `$$...$$` rendered to KaTeX markup at build
 *   time by a small markdown-it plugin ({@link mathPlugin}) that takes math out of markdown's
 *   hands before emphasis and escapes run, so `\\`, `_` and `*` inside formulas survive;
 * - TypeScript (and fenced js/json/bash/python) highlighted with highlight.js;
 * - outputs: `application/vnd.plotly.v1+json` drawn by the shared `assets/plotly.min.js`,
 *   `text/html`, `image/svg+xml`, `image/png`, `image/jpeg`, `text/markdown`, `text/latex`,
 *   `application/json`, `text/plain` and streams (ANSI colours turned into spans, escaped),
 *   errors as tracebacks;
 * - a table of contents from the headings (with anchors), a print style sheet for paper.
 *
 * Cell tags (Jupyter Book names): `remove-cell`, `remove-input`, `hide-input` (code folded in a
 * `<details>`), `remove-output`.
 *
 * Output is deterministic: the same executed notebook gives the same bytes. Writes are atomic.
 *
 * CLI: `deno run -A tools/export.ts [executed.ipynb ...] [--out DIR]` (default: every
 * `dist/notebooks/*.ipynb` into `dist/handouts`). `deno task handouts` runs then exports.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import MarkdownIt from "markdown-it";
import type { MarkdownIt as Md, StateBlock, StateInline } from "markdown-it";
import katex from "katex";
import hljs from "highlight.js/lib/core";
import typescript from "highlight.js/lib/languages/typescript";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import bash from "highlight.js/lib/languages/bash";
import python from "highlight.js/lib/languages/python";
import plaintext from "highlight.js/lib/languages/plaintext";
import {
  type Cell,
  type MimeBundle,
  type Notebook,
  NotebookError,
  type Output,
  readNotebook,
  sourceText,
  writeFileAtomic,
} from "./notebook.ts";
import { runMain } from "./cli.ts";

hljs.registerLanguage("typescript", typescript);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("json", json);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("python", python);
hljs.registerLanguage("plaintext", plaintext);
const LANG_ALIASES: Record<string, string> = {
  ts: "typescript",
  tsx: "typescript",
  typescript: "typescript",
  js: "javascript",
  javascript: "javascript",
  json: "json",
  sh: "bash",
  bash: "bash",
  shell: "bash",
  console: "bash",
  py: "python",
  python: "python",
  text: "plaintext",
  txt: "plaintext",
};

/** Name of the course, shown in page titles and on the index. */
export const COURSE_TITLE = "Regularization and training of deep networks";

/** A heading of a page, for the table of contents. */
export interface Heading {
  level: number;
  /** Anchor id (unique on the page). */
  id: string;
  /** Plain text (math as its TeX source). */
  text: string;
  /** Inline HTML (math rendered). */
  html: string;
}

/** A rendered notebook page. */
export interface RenderedPage {
  /** The complete HTML document. */
  html: string;
  /** The first H1's text, or the file name. */
  title: string;
  /** Inline HTML of the first paragraph after the title ("" when none). */
  summaryHtml: string;
  headings: Heading[];
  /** "ok", or "failed" when the executed notebook records a failing cell. */
  status: "ok" | "failed";
  /** Problems worth a look that did not stop the export (a formula KaTeX rejected, ...). */
  warnings: string[];
}

/** One line of the index page. */
export interface IndexEntry {
  /** Page file name, e.g. "01_norms.html". */
  href: string;
  /** Notebook file name, e.g. "01_norms.ipynb". */
  notebook: string;
  title: string;
  summaryHtml: string;
  status: "ok" | "failed";
}

// ---------------------------------------------------------------------------------------------
// Escaping, ANSI

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { escapeHtml } from "../tools/export.ts";
 * assert.ok(escapeHtml(`<a href="x">&</a>`) === "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  ).replace(/'/g, "&#39;");
}

const ANSI_NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

function xterm256(n: number): string {
  if (n < 16) return "";
  if (n >= 232) {
    const v = 8 + 10 * (n - 232);
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (k: number) => (k === 0 ? 0 : 55 + 40 * k);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
}

/**
 * Converts text with ANSI SGR escape codes (colours, bold, italic, underline) into escaped HTML
 * with `<span>`s; every other escape sequence is dropped. Carriage returns keep only what was
 * written last on a line, as a terminal shows progress bars.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ansiToHtml } from "../tools/export.ts";
 * const html = ansiToHtml("\x1b[33m42\x1b[39m <b>");
 * assert.ok(html === '<span class="ansi-yellow">42</span> &lt;b&gt;', html);
 * ```
 */
export function ansiToHtml(text: string): string {
  text = text.split("\n").map((l) => {
    const parts = l.split("\r");
    return parts.length > 1 ? parts.filter((p) => p !== "").pop() ?? "" : l;
  }).join("\n");
  let fg: string | null = null;
  let bg: string | null = null;
  let bold = false, dim = false, italic = false, underline = false, inverse = false;
  let out = "";
  // deno-lint-ignore no-control-regex
  const re = /\x1b\[([0-9;]*)m|\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b./g;
  let last = 0;
  const emit = (chunk: string) => {
    if (!chunk) return;
    const classes: string[] = [];
    const styles: string[] = [];
    const f = inverse ? bg ?? "inverse-fg" : fg;
    const b = inverse ? fg ?? "inverse-bg" : bg;
    for (const [v, kind] of [[f, "fg"], [b, "bg"]] as const) {
      if (v === null) continue;
      if (v.startsWith("rgb")) styles.push(`${kind === "fg" ? "color" : "background-color"}:${v}`);
      else classes.push(kind === "fg" ? `ansi-${v}` : `ansi-bg-${v}`);
    }
    if (bold) classes.push("ansi-bold");
    if (dim) classes.push("ansi-dim");
    if (italic) classes.push("ansi-italic");
    if (underline) classes.push("ansi-underline");
    const esc = escapeHtml(chunk);
    if (!classes.length && !styles.length) out += esc;
    else {
      out += `<span${classes.length ? ` class="${classes.join(" ")}"` : ""}${
        styles.length ? ` style="${styles.join(";")}"` : ""
      }>${esc}</span>`;
    }
  };
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    emit(text.slice(last, m.index));
    last = re.lastIndex;
    if (m[1] === undefined) continue;
    const codes = m[1] === "" ? [0] : m[1].split(";").map((x) => Number(x || 0));
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) {
        fg = bg = null;
        bold =
          dim =
          italic =
          underline =
          inverse =
            false;
      } else if (c === 1) bold = true;
      else if (c === 2) dim = true;
      else if (c === 3) italic = true;
      else if (c === 4) underline = true;
      else if (c === 7) inverse = true;
      else if (c === 22) bold = dim = false;
      else if (c === 23) italic = false;
      else if (c === 24) underline = false;
      else if (c === 27) inverse = false;
      else if (c >= 30 && c <= 37) fg = ANSI_NAMES[c - 30];
      else if (c >= 90 && c <= 97) fg = `bright-${ANSI_NAMES[c - 90]}`;
      else if (c === 39) fg = null;
      else if (c >= 40 && c <= 47) bg = ANSI_NAMES[c - 40];
      else if (c >= 100 && c <= 107) bg = `bright-${ANSI_NAMES[c - 100]}`;
      else if (c === 49) bg = null;
      else if (c === 38 || c === 48) {
        let colour: string | null = null;
        if (codes[i + 1] === 5) {
          const n = codes[i + 2] ?? 0;
          colour = n < 8 ? ANSI_NAMES[n] : n < 16 ? `bright-${ANSI_NAMES[n - 8]}` : xterm256(n);
          i += 2;
        } else if (codes[i + 1] === 2) {
          colour = `rgb(${codes[i + 2] ?? 0},${codes[i + 3] ?? 0},${codes[i + 4] ?? 0})`;
          i += 4;
        }
        if (c === 38) fg = colour;
        else bg = colour;
      }
    }
  }
  emit(text.slice(last));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Markdown and math

interface RenderEnv {
  [key: string | symbol]: unknown;
  slugs: Set<string>;
  headings: Heading[];
  warnings: string[];
  where: string;
  attachments?: Record<string, MimeBundle>;
}

/** Renders TeX with KaTeX; a formula KaTeX rejects becomes a visible `katex-error` and a warning. */
function renderTex(tex: string, display: boolean, envIn: unknown): string {
  const env = envIn as RenderEnv | undefined;
  try {
    return katex.renderToString(tex, {
      displayMode: display,
      throwOnError: true,
      output: "htmlAndMathml",
      strict: "ignore",
      trust: false,
    });
  } catch (e) {
    const w = `${env?.where}: KaTeX cannot render $${tex}$: ${(e as Error).message}`;
    // Headings and first paragraphs are rendered twice (page and TOC/index): warn once.
    if (env && !env.warnings.includes(w)) env.warnings.push(w);
    return `<span class="katex-error" title="${escapeHtml((e as Error).message)}">${
      escapeHtml(tex)
    }</span>`;
  }
}

/**
 * A markdown-it plugin for `$inline$`, `$$display$$` (inline or as a block of its own lines),
 * rendered with KaTeX at build time. Rules run before markdown's escapes and emphasis, so TeX
 * keeps its backslashes and underscores. Pandoc's rules decide what is math: an opening `$`
 * is not followed by a space, a closing `$` is not preceded by a space nor followed by a digit
 * (in "$5 and $6" the second `$` does not close); math never contains a code span; `\$` is
 * a literal dollar (write prices as `\$5`, as in Jupyter).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import MarkdownIt from "markdown-it";
 * import { mathPlugin } from "../tools/export.ts";
 * const md = new MarkdownIt().use(mathPlugin);
 * const html = md.render("Let $w_{i}^2$ and $a_1 * b_2$.");
 * assert.ok(html.includes('class="katex"') && !html.includes("<em>"));
 * ```
 */
export function mathPlugin(md: Md): void {
  md.inline.ruler.before("escape", "math_inline", (state: StateInline, silent: boolean) => {
    const src = state.src;
    const start = state.pos;
    if (src.charCodeAt(start) !== 0x24 /* $ */) return false;
    if (start > 0 && src.charCodeAt(start - 1) === 0x5c /* \ */) return false;
    const display = src.charCodeAt(start + 1) === 0x24;
    const open = display ? 2 : 1;
    let pos = start + open;
    if (!display) {
      const next = src.charAt(pos);
      if (next === "" || /\s/.test(next)) return false;
    }
    let end = -1;
    while (pos < state.posMax) {
      const ch = src.charCodeAt(pos);
      if (ch === 0x5c) {
        pos += 2;
        continue;
      }
      if (ch === 0x24) {
        if (display) {
          if (src.charCodeAt(pos + 1) === 0x24) {
            end = pos;
            break;
          }
        } else {
          const prev = src.charAt(pos - 1);
          const after = src.charAt(pos + 1);
          if (!/\s/.test(prev) && !/[0-9]/.test(after)) {
            end = pos;
            break;
          }
        }
      }
      pos++;
    }
    if (end < 0) return false;
    const content = src.slice(start + open, end);
    // Math never spans a code span (Jupyter skips code when it looks for math, too).
    if (content.trim() === "" || content.includes("`")) return false;
    if (!silent) {
      const token = state.push(display ? "math_inline_display" : "math_inline", "math", 0);
      token.content = content;
      token.markup = display ? "$$" : "$";
    }
    state.pos = end + open;
    return true;
  });

  md.block.ruler.before(
    "fence",
    "math_block",
    (state: StateBlock, startLine: number, endLine: number, silent: boolean) => {
      let pos = state.bMarks[startLine] + state.tShift[startLine];
      let max = state.eMarks[startLine];
      if (state.sCount[startLine] - state.blkIndent >= 4) return false;
      if (pos + 2 > max || state.src.slice(pos, pos + 2) !== "$$") return false;
      pos += 2;
      let first = state.src.slice(pos, max);
      let last = "";
      let next = startLine;
      let found = false;
      if (first.trim().endsWith("$$")) {
        // one line: $$ ... $$ (and nothing after)
        first = first.trim().slice(0, -2);
        found = true;
      }
      if (!found) {
        for (next = startLine + 1; next < endLine; next++) {
          pos = state.bMarks[next] + state.tShift[next];
          max = state.eMarks[next];
          if (pos < max && state.sCount[next] < state.blkIndent) break;
          const line = state.src.slice(pos, max);
          if (line.trim().endsWith("$$")) {
            last = line.trim().slice(0, -2);
            found = true;
            break;
          }
        }
      }
      if (!found) return false;
      if (silent) return true;
      state.line = next + 1;
      const token = state.push("math_block", "math", 0);
      token.block = true;
      token.content = (first.trim() ? first + "\n" : "") +
        state.getLines(startLine + 1, next, state.tShift[startLine], true) +
        (last.trim() ? last : "");
      token.map = [startLine, state.line];
      token.markup = "$$";
      return true;
    },
    { alt: ["paragraph", "reference", "blockquote", "list"] },
  );

  md.renderer.rules.math_inline = (tokens, idx, _o, env) =>
    `<span class="math math-inline">${renderTex(tokens[idx].content, false, env)}</span>`;
  md.renderer.rules.math_inline_display = (tokens, idx, _o, env) =>
    `<span class="math math-display">${renderTex(tokens[idx].content, true, env)}</span>`;
  md.renderer.rules.math_block = (tokens, idx, _o, env) =>
    `<div class="math math-display">${renderTex(tokens[idx].content, true, env)}</div>\n`;
}

/**
 * A URL-safe anchor from heading text: accents dropped, lower case, words joined by "-".
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { slugify } from "../tools/export.ts";
 * assert.ok(slugify("Regularización L2 & weight decay") === "regularizacion-l2-weight-decay");
 * ```
 */
export function slugify(text: string): string {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "section";
}

function headingPlugin(md: Md): void {
  md.core.ruler.push("kit_headings", (state) => {
    const env = state.env as unknown as RenderEnv | undefined;
    if (!env?.slugs) return;
    const tokens = state.tokens;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t.type !== "heading_open") continue;
      const inline = tokens[i + 1];
      const text = (inline.children ?? []).map((c) =>
        c.type === "softbreak" ? " " : c.type.startsWith("math") ? c.content : c.content
      ).join("").trim();
      let id = slugify(text);
      if (env.slugs.has(id)) {
        let k = 2;
        while (env.slugs.has(`${id}-${k}`)) k++;
        id = `${id}-${k}`;
      }
      env.slugs.add(id);
      t.attrSet("id", id);
      const html = md.renderer.renderInline(inline.children ?? [], md.options, env);
      env.headings.push({ level: Number(t.tag.slice(1)), id, text, html });
    }
  });
  const defaultOpen = md.renderer.rules.heading_open ??
    ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.heading_close = (tokens, idx) => {
    const open = tokens[idx - 2];
    const id = open?.attrGet("id") as string | null | undefined;
    const anchor = id
      ? `<a class="anchor" href="#${escapeHtml(id)}" aria-label="Link to this section">#</a>`
      : "";
    return `${anchor}</${tokens[idx].tag}>\n`;
  };
  md.renderer.rules.heading_open = defaultOpen;
}

function linkPlugin(md: Md): void {
  // Links between notebooks point to their handouts; external links open in a new tab.
  const defaultLink = md.renderer.rules.link_open ??
    ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const t = tokens[idx];
    const href = String(t.attrGet("href") ?? "");
    if (!/^[a-z]+:/i.test(href) && /\.ipynb(#|$)/.test(href)) {
      t.attrSet("href", href.replace(/\.ipynb(#|$)/, ".html$1"));
    } else if (/^https?:/i.test(href)) {
      t.attrSet("rel", "noopener");
    }
    return defaultLink(tokens, idx, options, env, self);
  };
  const defaultImage = md.renderer.rules.image!;
  md.renderer.rules.image = (tokens, idx, options, envIn, self) => {
    const env = envIn as RenderEnv | undefined;
    const t = tokens[idx];
    const src = String(t.attrGet("src") ?? "");
    if (src.startsWith("attachment:") && env?.attachments) {
      const bundle = env.attachments[decodeURIComponent(src.slice("attachment:".length))];
      const mime = bundle && Object.keys(bundle).find((k) => k.startsWith("image/"));
      if (bundle && mime) {
        const data = String(bundle[mime]).replace(/\s+/g, "");
        t.attrSet(
          "src",
          mime === "image/svg+xml" && !/^[A-Za-z0-9+/=]+$/.test(data)
            ? `data:${mime};base64,${btoa(unescape(encodeURIComponent(String(bundle[mime]))))}`
            : `data:${mime};base64,${data}`,
        );
      }
    }
    return defaultImage(tokens, idx, options, env, self);
  };
}

function highlight(code: string, lang: string): string {
  const name = LANG_ALIASES[lang.toLowerCase()];
  if (!name) return escapeHtml(code);
  return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
}

/** The markdown renderer of the handouts (markdown-it + math + anchors + highlighting). */
export function createMarkdown(): Md {
  const md: Md = new MarkdownIt({
    html: true,
    linkify: true,
    typographer: false,
    highlight: (code: string, lang: string) =>
      `<pre class="hljs"><code class="language-${escapeHtml(lang || "text")}">${
        highlight(code, lang || "text")
      }</code></pre>`,
  });
  md.use(mathPlugin).use(headingPlugin).use(linkPlugin);
  return md;
}

const MD = createMarkdown();

/**
 * Renders one markdown string with math, as the handouts do.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderMarkdown } from "../tools/export.ts";
 * const html = renderMarkdown("## Loss $\\mathcal{L}(w) = \\|w\\|_2^2$");
 * assert.ok(html.includes('<h2 id="loss-mathcal-l-w-w-2-2"') && html.includes('class="katex"'));
 * ```
 */
export function renderMarkdown(text: string): string {
  return MD.render(text, { slugs: new Set(), headings: [], warnings: [], where: "markdown" });
}

// ---------------------------------------------------------------------------------------------
// Outputs

const PLOTLY_MIME = "application/vnd.plotly.v1+json";

interface PageState {
  figures: number;
  env: RenderEnv;
}

function text(v: unknown): string {
  if (Array.isArray(v)) return v.join("");
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

/** JSON safe inside a `<script>` element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function renderBundle(data: MimeBundle, page: PageState): string {
  if (data[PLOTLY_MIME] !== undefined) {
    page.figures += 1;
    const id = `figure-${page.figures}`;
    const fig = data[PLOTLY_MIME] as { layout?: { height?: unknown } };
    const h = typeof fig.layout?.height === "number" ? fig.layout.height : 420;
    const summary = data["text/plain"] !== undefined ? text(data["text/plain"]) : "Plotly figure";
    return `<figure class="plot-figure"><div class="plot" id="${id}" role="img" aria-label="${
      escapeHtml(summary)
    }" style="min-height:${h}px"></div>` +
      `<script type="application/json" class="plot-data" data-target="${id}">${
        scriptJson(fig)
      }</script></figure>`;
  }
  if (data["text/html"] !== undefined) {
    return `<div class="output-html">${text(data["text/html"])}</div>`;
  }
  if (data["image/svg+xml"] !== undefined) {
    const svg = text(data["image/svg+xml"]);
    const b64 = btoa(unescape(encodeURIComponent(svg)));
    return `<img class="output-image" alt="" src="data:image/svg+xml;base64,${b64}">`;
  }
  for (const mime of ["image/png", "image/jpeg", "image/gif"]) {
    if (data[mime] !== undefined) {
      const b64 = text(data[mime]).replace(/\s+/g, "");
      return `<img class="output-image" alt="" src="data:${mime};base64,${b64}">`;
    }
  }
  if (data["text/markdown"] !== undefined) {
    return `<div class="output-markdown">${MD.render(text(data["text/markdown"]), page.env)}</div>`;
  }
  if (data["text/latex"] !== undefined) {
    const tex = text(data["text/latex"]).trim().replace(/^\$\$?|\$\$?$/g, "");
    return `<div class="math math-display">${renderTex(tex, true, page.env)}</div>`;
  }
  if (data["application/json"] !== undefined) {
    return `<pre class="output-text">${
      highlight(JSON.stringify(data["application/json"], null, 2), "json")
    }</pre>`;
  }
  if (data["text/plain"] !== undefined) {
    return `<pre class="output-text">${ansiToHtml(text(data["text/plain"]))}</pre>`;
  }
  const kinds = Object.keys(data).join(", ");
  page.env.warnings.push(`${page.env.where}: no renderer for output of type ${kinds}`);
  return `<p class="output-unsupported">(output of type ${escapeHtml(kinds)} not shown)</p>`;
}

function renderOutputs(outputs: Output[], page: PageState): string {
  const parts: string[] = [];
  // Consecutive stream outputs of the same name are one block, as Jupyter shows them.
  const merged: Output[] = [];
  for (const o of outputs) {
    const prev = merged[merged.length - 1];
    if (
      o.output_type === "stream" && prev?.output_type === "stream" && prev.name === o.name
    ) {
      merged[merged.length - 1] = { ...prev, text: text(prev.text) + text(o.text) };
    } else merged.push(o);
  }
  for (const o of merged) {
    switch (o.output_type) {
      case "stream":
        parts.push(`<pre class="output-stream ${o.name}">${ansiToHtml(text(o.text))}</pre>`);
        break;
      case "display_data":
      case "execute_result":
        parts.push(renderBundle(o.data, page));
        break;
      case "error": {
        const tb = o.traceback.length ? o.traceback.join("\n") : `${o.ename}: ${o.evalue}`;
        parts.push(
          `<div class="output-error" role="alert"><div class="error-name">${
            escapeHtml(o.ename)
          }</div><pre>${ansiToHtml(tb)}</pre></div>`,
        );
        break;
      }
    }
  }
  return parts.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Pages

function tagsOf(cell: Cell): string[] {
  const tags = (cell.metadata as { tags?: unknown }).tags;
  return Array.isArray(tags) ? tags.map(String) : [];
}

interface KitMeta {
  status?: string;
  failed_cell?: number;
}

/**
 * Renders an executed notebook as a handout page.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderNotebook } from "../tools/export.ts";
 * const page = renderNotebook({
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [
 *     { cell_type: "markdown", metadata: {}, source: "# Dropout\n\nDrop units with probability $p$." },
 *     { cell_type: "code", metadata: {}, source: "1 + 1", execution_count: 1,
 *       outputs: [{ output_type: "execute_result", execution_count: 1, metadata: {},
 *         data: { "text/plain": "2" } }] },
 *   ],
 * }, { name: "01_dropout.ipynb" });
 * assert.ok(page.title === "Dropout" && page.summaryHtml.includes("katex"));
 * ```
 */
export function renderNotebook(nb: Notebook, opts: { name: string }): RenderedPage {
  const env: RenderEnv = {
    slugs: new Set(["top", "contents"]),
    headings: [],
    warnings: [],
    where: opts.name,
  };
  const page: PageState = { figures: 0, env };
  const kit = (nb.metadata.kit ?? {}) as KitMeta;
  const failedCell = kit.status && kit.status !== "ok" ? kit.failed_cell ?? null : null;
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
      const html = MD.renderer.render(tokens, MD.options, env);
      env.attachments = undefined;
      if (!title) {
        const h1 = env.headings.slice(before).find((h) => h.level === 1);
        if (h1) title = h1.text;
      }
      if (!summaryHtml) {
        const p = tokens.findIndex((t) => t.type === "paragraph_open");
        if (p >= 0 && tokens[p + 1]?.children) {
          summaryHtml = MD.renderer.renderInline(tokens[p + 1].children!, MD.options, env);
        }
      }
      cellsHtml.push(`<section class="cell markdown" id="cell-${n}">\n${html}</section>`);
    } else if (cell.cell_type === "code") {
      const count = cell.execution_count;
      const prompt = `<div class="prompt" aria-hidden="true">${
        count === null ? "[ ]" : `[${count}]`
      }</div>`;
      let input = "";
      if (!tags.includes("remove-input") && src.trim() !== "") {
        const code = `<pre class="source hljs"><code class="language-typescript">${
          highlight(src, "typescript")
        }</code></pre>`;
        input = tags.includes("hide-input")
          ? `<details class="source-fold"><summary>Show code</summary>${code}</details>`
          : code;
      }
      const outputs = tags.includes("remove-output") ? "" : renderOutputs(cell.outputs, page);
      const failed = failedCell === n ? " failed" : "";
      cellsHtml.push(
        `<section class="cell code${failed}" id="cell-${n}">${prompt}<div class="cell-body">${input}${
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
  const status: "ok" | "failed" = kit.status && kit.status !== "ok" ? "failed" : "ok";
  let banner = "";
  if (status === "failed") {
    const where = failedCell ? `cell <a href="#cell-${failedCell}">${failedCell}</a>` : "a cell";
    const how = kit.status === "timeout"
      ? "timed out"
      : kit.status === "died"
      ? "killed the kernel"
      : "raised an error";
    banner =
      `<div class="run-failed" role="alert"><strong>This notebook did not run to the end.</strong> ` +
      `${where[0].toUpperCase()}${where.slice(1)} ${how}; the cells after it have no outputs. ` +
      `Fix the notebook and run <code>deno task handouts</code> again.</div>`;
  }
  const toc = tocHtml(env.headings);
  const html = pageShell({
    title: `${title} · ${COURSE_TITLE}`,
    body:
      `<header class="topbar"><a href="index.html">&larr; All notebooks</a><span class="course">${
        escapeHtml(COURSE_TITLE)
      }</span></header>
<div class="layout${toc ? "" : " no-toc"}">
${toc}
<main class="notebook" id="top">
${banner}
${cellsHtml.join("\n")}
<footer class="page-footer">Generated from <code>notebooks/${
        escapeHtml(opts.name)
      }</code> by <code>deno task handouts</code>.</footer>
</main>
</div>`,
    plots: page.figures > 0,
  });
  return { html, title, summaryHtml, headings: env.headings, status, warnings: env.warnings };
}

function tocHtml(headings: Heading[]): string {
  // The page title (first H1) heads the page; the contents list the sections below it.
  const firstH1 = headings.findIndex((h) => h.level === 1);
  const items = headings.filter((h, i) => i !== firstH1 && h.level <= 3);
  if (items.length === 0) return "";
  const minLevel = Math.min(...items.map((h) => h.level));
  const lis = items.map((h) =>
    `<li class="toc-l${h.level - minLevel + 1}"><a href="#${escapeHtml(h.id)}">${h.html}</a></li>`
  ).join("\n");
  return `<nav class="toc" id="contents" aria-label="Contents"><div class="toc-title">Contents</div><ol>\n${lis}\n</ol></nav>`;
}

const PLOT_SCRIPT = `(function () {
  var nodes = Array.prototype.slice.call(document.querySelectorAll("script.plot-data"));
  if (!window.Plotly) {
    nodes.forEach(function (n) {
      var el = document.getElementById(n.getAttribute("data-target"));
      el.textContent = "This figure needs assets/plotly.min.js next to the page.";
      el.className += " plot-missing";
    });
    return;
  }
  nodes.forEach(function (n) {
    var el = document.getElementById(n.getAttribute("data-target"));
    var fig = JSON.parse(n.textContent);
    var config = fig.config || {};
    config.responsive = true;
    config.displaylogo = false;
    fig.config = config;
    Plotly.newPlot(el, fig).then(function () { el.setAttribute("data-rendered", "true"); });
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll(".plot.js-plotly-plot").forEach(function (el) { Plotly.Plots.resize(el); });
  });
})();`;

function pageShell(o: { title: string; body: string; plots: boolean }): string {
  const scripts = o.plots
    ? `<script src="assets/plotly.min.js"></script>\n<script>\n${PLOT_SCRIPT}\n</script>\n`
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<link rel="stylesheet" href="assets/katex/katex.min.css">
<link rel="stylesheet" href="assets/handout.css">
</head>
<body>
${o.body}
${scripts}</body>
</html>
`;
}

/**
 * Renders the index page: the notebooks in order, with titles, first paragraphs and a flag on
 * those that did not run to the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderIndex } from "../tools/export.ts";
 * const html = renderIndex([{
 *   href: "00_welcome.html", notebook: "00_welcome.ipynb", title: "Welcome",
 *   summaryHtml: "What the kit is.", status: "ok",
 * }]);
 * assert.ok(html.includes('href="00_welcome.html"') && html.includes("Welcome"));
 * ```
 */
export function renderIndex(entries: readonly IndexEntry[]): string {
  const items = entries.map((e) => {
    const num = /^(\d+)_/.exec(e.notebook)?.[1];
    const flag = e.status === "failed"
      ? ` <span class="badge failed" title="A cell failed; the page shows the error">did not run to the end</span>`
      : "";
    return `<li class="nb-card${e.status === "failed" ? " failed" : ""}"><a href="${
      escapeHtml(e.href)
    }">${num ? `<span class="nb-num">${escapeHtml(num)}</span>` : ""}<span class="nb-title">${
      escapeHtml(e.title)
    }</span></a>${flag}${e.summaryHtml ? `<p>${e.summaryHtml}</p>` : ""}<div class="nb-file">${
      escapeHtml(e.notebook)
    }</div></li>`;
  }).join("\n");
  return pageShell({
    title: COURSE_TITLE,
    body: `<main class="index" id="top">
<h1>${escapeHtml(COURSE_TITLE)}</h1>
<p class="lead">Handouts of the course kit: each page is a notebook run on the Deno kernel, with its
figures and every claim checked by an assertion. They work offline and print on paper.</p>
<ol class="nb-list">
${items}
</ol>
<footer class="page-footer">Generated by <code>deno task handouts</code>.</footer>
</main>`,
    plots: false,
  });
}

// ---------------------------------------------------------------------------------------------
// Assets

const require = createRequire(import.meta.url);

function packageFile(spec: string): string {
  try {
    return require.resolve(spec);
  } catch (e) {
    throw new Error(
      `export: cannot find ${spec} in node_modules (${(e as Error).message}); ` +
        "run `deno install` in the project folder",
    );
  }
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const bytes = await Deno.readFile(from);
  try {
    const cur = await Deno.readFile(to);
    if (cur.length === bytes.length && cur.every((b, i) => b === bytes[i])) return;
  } catch { /* not there yet */ }
  const dir = to.slice(0, to.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${dir}/.${to.slice(to.lastIndexOf("/") + 1)}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, to);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Writes the shared assets into `outDir/assets/`: KaTeX's CSS and fonts, plotly.js, the handout
 * style sheet (with highlight.js's GitHub theme).
 */
export async function writeAssets(outDir: string): Promise<void> {
  const assets = `${outDir}/assets`;
  const katexCss = packageFile("katex/dist/katex.min.css");
  const katexDir = katexCss.slice(0, katexCss.lastIndexOf("/"));
  await copyAtomic(katexCss, `${assets}/katex/katex.min.css`);
  const fonts: string[] = [];
  for await (const e of Deno.readDir(`${katexDir}/fonts`)) if (e.isFile) fonts.push(e.name);
  for (const f of fonts.sort()) {
    await copyAtomic(`${katexDir}/fonts/${f}`, `${assets}/katex/fonts/${f}`);
  }
  await copyAtomic(packageFile("plotly.js-dist-min"), `${assets}/plotly.min.js`);
  const hljsCss = await Deno.readTextFile(packageFile("highlight.js/styles/github.css"));
  const css = `${HANDOUT_CSS}\n/* highlight.js GitHub theme (BSD-3-Clause) */\n${hljsCss}`;
  await writeFileAtomic(`${assets}/handout.css`, css);
}

// ---------------------------------------------------------------------------------------------
// Export

/** The outcome of {@link exportNotebooks}. */
export interface ExportSummary {
  ok: boolean;
  /** Pages written, in index order. */
  pages: (IndexEntry & { path: string; warnings: string[] })[];
  /** Files that could not be exported, with the reason. */
  errors: { path: string; message: string }[];
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Exports notebooks (executed ones, as paths or in memory) to `outDir`: one page each, the
 * index and the assets. A file that cannot be read is reported and skipped; the others are
 * still exported. Pages are in file-name order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { exportNotebooks } from "../tools/export.ts";
 * const dir = await Deno.makeTempDir();
 * const s = await exportNotebooks([{ name: "a.ipynb", notebook: {
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{ cell_type: "markdown", metadata: {}, source: "# A\n\nText." }],
 * } }], dir);
 * assert.ok(s.ok && (await Deno.readTextFile(`${dir}/index.html`)).includes("a.html"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function exportNotebooks(
  inputs: readonly (string | { name: string; notebook: Notebook })[],
  outDir = "dist/handouts",
): Promise<ExportSummary> {
  const errors: ExportSummary["errors"] = [];
  const loaded: { name: string; notebook: Notebook }[] = [];
  for (const input of inputs) {
    if (typeof input !== "string") {
      loaded.push(input);
      continue;
    }
    try {
      loaded.push({ name: baseName(input), notebook: await readNotebook(input) });
    } catch (e) {
      const message = e instanceof NotebookError ? e.message : `${input}: ${(e as Error).message}`;
      errors.push({ path: input, message });
    }
  }
  loaded.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  await Deno.mkdir(outDir, { recursive: true });
  await writeAssets(outDir);
  const pages: ExportSummary["pages"] = [];
  for (const { name, notebook } of loaded) {
    try {
      const page = renderNotebook(notebook, { name });
      const href = name.replace(/\.ipynb$/, "") + ".html";
      const path = `${outDir}/${href}`;
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
  await writeFileAtomic(`${outDir}/index.html`, renderIndex(pages));
  return { ok: errors.length === 0, pages, errors };
}

async function listExecuted(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".ipynb")) out.push(`${dir}/${e.name}`);
    }
  } catch { /* reported by the caller */ }
  return out.sort();
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(
      "usage: deno run -A tools/export.ts [executed.ipynb ...] [--out DIR]\n" +
        "Exports executed notebooks (default dist/notebooks/*.ipynb) to HTML handouts in DIR\n" +
        "(default dist/handouts). To run the notebooks first, use `deno task handouts`.",
    );
    return 0;
  }
  const paths = positionals.length ? positionals : await listExecuted("dist/notebooks");
  if (paths.length === 0) {
    console.error(
      "export: no executed notebooks (dist/notebooks/ is empty); run `deno task nb:run`",
    );
    return 1;
  }
  const out = values.out ?? "dist/handouts";
  const s = await exportNotebooks(paths, out);
  for (const p of s.pages) {
    console.log(`${p.path}${p.status === "failed" ? "  (notebook did not run to the end)" : ""}`);
    for (const w of p.warnings) console.warn(`  warning: ${w}`);
  }
  for (const e of s.errors) console.error(`ERROR ${e.message}`);
  console.log(`export: ${s.pages.length} page(s) and index.html in ${out}`);
  return s.ok && s.pages.every((p) => p.status === "ok") ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Style sheet

const HANDOUT_CSS = `/* Course kit handouts. Light theme, system fonts, print-ready. */
:root {
  --text: #1f2937; --muted: #6b7280; --faint: #9ca3af; --line: #e5e7eb; --bg: #ffffff;
  --code-bg: #f6f8fa; --accent: #0072B2; --accent-soft: #e8f1f8; --error: #b91c1c;
  --error-bg: #fef2f2; --warn-bg: #fffbeb; --warn-line: #f59e0b;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; scroll-padding-top: 1rem; }
body { margin: 0; background: var(--bg); color: var(--text); font: 17px/1.65 var(--sans);
  font-kerning: normal; text-rendering: optimizeLegibility; }
a { color: var(--accent); text-decoration-thickness: 1px; text-underline-offset: 2px; }
code, pre { font-family: var(--mono); font-size: 0.86em; }
:not(pre) > code { background: var(--code-bg); border-radius: 4px; padding: 0.1em 0.35em; }
.topbar { display: flex; justify-content: space-between; gap: 1rem; align-items: baseline;
  padding: 0.7rem 1.5rem; border-bottom: 1px solid var(--line); font-size: 0.88rem; color: var(--muted); }
.topbar a { text-decoration: none; font-weight: 500; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr); max-width: 1240px; margin: 0 auto;
  padding: 0 1.25rem; }
@media (min-width: 1100px) {
  .layout { grid-template-columns: 240px minmax(0, 1fr); column-gap: 3rem; }
  .layout.no-toc { grid-template-columns: minmax(0, 1fr); justify-items: center; }
  .toc { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto;
    padding: 2rem 0 2rem; }
}
main.notebook { max-width: 880px; width: 100%; padding: 1.5rem 0 4rem; }
.toc { font-size: 0.88rem; line-height: 1.4; padding-top: 1.5rem; }
.toc-title { font-weight: 600; text-transform: uppercase; letter-spacing: 0.06em; font-size: 0.75rem;
  color: var(--muted); margin-bottom: 0.5rem; }
.toc ol { list-style: none; margin: 0; padding: 0; border-left: 2px solid var(--line); }
.toc li a { display: block; padding: 0.25rem 0 0.25rem 0.8rem; color: var(--text); text-decoration: none;
  margin-left: -2px; border-left: 2px solid transparent; }
.toc li a:hover { color: var(--accent); border-left-color: var(--accent); }
.toc li.toc-l2 a { padding-left: 1.6rem; color: var(--muted); }
.toc li.toc-l3 a { padding-left: 2.4rem; color: var(--muted); font-size: 0.95em; }
.toc .katex { font-size: 1em; }
h1, h2, h3, h4 { line-height: 1.25; font-weight: 650; letter-spacing: -0.01em; }
h1 { font-size: 2.1rem; margin: 1.2rem 0 0.8rem; }
h2 { font-size: 1.5rem; margin: 2.4rem 0 0.7rem; padding-bottom: 0.3rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.2rem; margin: 1.8rem 0 0.5rem; }
h1 .anchor, h2 .anchor, h3 .anchor, h4 .anchor { margin-left: 0.4rem; color: var(--faint);
  text-decoration: none; font-weight: 400; opacity: 0; }
h1:hover .anchor, h2:hover .anchor, h3:hover .anchor, h4:hover .anchor { opacity: 1; }
p, ul, ol, blockquote, table { margin: 0.7rem 0; }
blockquote { margin-left: 0; padding: 0.4rem 1rem; border-left: 4px solid var(--accent);
  background: var(--accent-soft); border-radius: 0 6px 6px 0; }
blockquote > :first-child { margin-top: 0; } blockquote > :last-child { margin-bottom: 0; }
table { border-collapse: collapse; font-size: 0.92em; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: 0.35rem 0.7rem; text-align: left; }
th { background: var(--code-bg); font-weight: 600; }
img { max-width: 100%; height: auto; }
hr { border: 0; border-top: 1px solid var(--line); margin: 2rem 0; }
.cell { position: relative; margin: 0.4rem 0; }
.cell.markdown > :first-child { margin-top: 0.8rem; }
.cell.code { margin: 1rem 0 1.2rem; }
.prompt { position: absolute; left: -3.6rem; width: 3.2rem; top: 0.55rem; text-align: right;
  font: 0.72rem/1 var(--mono); color: var(--faint); user-select: none; }
@media (max-width: 1299px) { .prompt { position: static; width: auto; text-align: left; margin-bottom: 0.15rem; } }
pre { margin: 0; overflow-x: auto; }
pre.source { background: var(--code-bg); border: 1px solid var(--line); border-left: 3px solid var(--accent);
  border-radius: 6px; padding: 0.75rem 1rem; line-height: 1.5; tab-size: 2; }
pre.hljs { padding: 0.75rem 1rem; border-radius: 6px; background: var(--code-bg); line-height: 1.5; }
.hljs { background: var(--code-bg) !important; }
.source-fold summary { cursor: pointer; color: var(--muted); font-size: 0.85rem; }
.outputs { margin-top: 0.4rem; padding-left: 0.2rem; }
.outputs > * + * { margin-top: 0.5rem; }
.output-text, .output-stream { padding: 0.35rem 0.2rem 0.35rem 0.9rem; border-left: 3px solid var(--line);
  line-height: 1.45; white-space: pre-wrap; word-break: break-word; }
.output-stream.stderr { background: var(--warn-bg); border-left-color: var(--warn-line); }
.output-error { border: 1px solid #fecaca; background: var(--error-bg); border-radius: 6px; padding: 0.6rem 0.9rem; }
.output-error .error-name { color: var(--error); font-weight: 650; margin-bottom: 0.3rem; }
.output-error pre { white-space: pre-wrap; word-break: break-word; }
.cell.failed pre.source { border-left-color: var(--error); }
.run-failed { margin: 1rem 0; padding: 0.8rem 1rem; border: 1px solid #fecaca; background: var(--error-bg);
  border-radius: 8px; color: #7f1d1d; }
.output-html { overflow-x: auto; }
.output-image { display: block; max-width: 100%; }
.plot-figure { margin: 0.6rem 0; }
.plot { width: 100%; }
.plot-missing { display: flex; align-items: center; justify-content: center; color: var(--muted);
  border: 1px dashed var(--line); border-radius: 6px; }
.math-display { display: block; overflow-x: auto; overflow-y: hidden; margin: 0.9rem 0; }
.katex { font-size: 1.08em; }
.katex-error { color: var(--error); font-family: var(--mono); }
.page-footer { margin-top: 4rem; padding-top: 1rem; border-top: 1px solid var(--line); color: var(--muted);
  font-size: 0.85rem; }
/* ANSI colours, tuned for a light background */
.ansi-black { color: #1f2937; } .ansi-red { color: #c62828; } .ansi-green { color: #2e7d32; }
.ansi-yellow { color: #a05a00; } .ansi-blue { color: #1565c0; } .ansi-magenta { color: #8e24aa; }
.ansi-cyan { color: #00838f; } .ansi-white { color: #6b7280; }
.ansi-bright-black { color: #6b7280; } .ansi-bright-red { color: #e53935; } .ansi-bright-green { color: #43a047; }
.ansi-bright-yellow { color: #b7791f; } .ansi-bright-blue { color: #1e88e5; } .ansi-bright-magenta { color: #ab47bc; }
.ansi-bright-cyan { color: #0097a7; } .ansi-bright-white { color: #9ca3af; }
.ansi-bg-black { background: #1f2937; color: #fff; } .ansi-bg-red { background: #fde2e2; }
.ansi-bg-green { background: #dcfce7; } .ansi-bg-yellow { background: #fef3c7; } .ansi-bg-blue { background: #dbeafe; }
.ansi-bg-magenta { background: #f3e8ff; } .ansi-bg-cyan { background: #cffafe; } .ansi-bg-white { background: #f3f4f6; }
.ansi-inverse-fg { color: #fff; } .ansi-bg-inverse-bg { background: #1f2937; }
.ansi-bold { font-weight: 700; } .ansi-dim { opacity: 0.7; } .ansi-italic { font-style: italic; }
.ansi-underline { text-decoration: underline; }
/* Index */
main.index { max-width: 860px; margin: 0 auto; padding: 3rem 1.25rem 4rem; }
main.index h1 { font-size: 2.3rem; margin-bottom: 0.4rem; }
.lead { color: var(--muted); font-size: 1.05rem; }
.nb-list { list-style: none; padding: 0; margin: 2rem 0; display: grid; gap: 1rem; }
.nb-card { border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; transition: border-color .15s, box-shadow .15s; }
.nb-card:hover { border-color: var(--accent); box-shadow: 0 2px 10px rgba(0, 114, 178, 0.08); }
.nb-card > a { display: flex; gap: 0.8rem; align-items: baseline; text-decoration: none; color: var(--text); }
.nb-num { font: 600 0.9rem var(--mono); color: var(--accent); }
.nb-title { font-size: 1.2rem; font-weight: 650; }
.nb-card p { margin: 0.4rem 0 0.3rem; color: #374151; }
.nb-file { font: 0.78rem var(--mono); color: var(--faint); }
.badge.failed { display: inline-block; margin-left: 0.6rem; font-size: 0.75rem; color: var(--error);
  border: 1px solid #fecaca; background: var(--error-bg); border-radius: 999px; padding: 0.05rem 0.55rem; }
.nb-card.failed { border-color: #fecaca; }
/* Paper */
@media print {
  @page { margin: 16mm 15mm 18mm; }
  body { font-size: 10.5pt; line-height: 1.5; }
  .topbar, .toc, .anchor, .source-fold summary { display: none !important; }
  .layout { display: block; max-width: none; padding: 0; }
  main.notebook, main.index { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  h2 { margin-top: 1.6rem; }
  pre, pre.source, .output-text, .output-stream, .output-error pre { white-space: pre-wrap; word-break: break-word;
    overflow: visible; }
  pre.source { border-left-width: 2px; }
  .prompt { position: static; text-align: left; width: auto; }
  .plot-figure, .output-image, .math-display, figure, table, .output-error, blockquote { break-inside: avoid; page-break-inside: avoid; }
  .cell.code { break-inside: auto; }
  .source-fold[open] > pre, .source-fold > pre { display: block; }
  .page-footer { margin-top: 1.5rem; }
  .nb-card { break-inside: avoid; }
}
`;

if (import.meta.main) await runMain(main);
