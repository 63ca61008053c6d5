/**
 * Markdown and math for the handouts: markdown-it with raw HTML allowed (then sanitized, see
 * `sanitize.ts`), `$...$`/`$$...$$` rendered to KaTeX at build time with Pandoc's rules
 * ({@link mathPlugin}), heading anchors for the contents, links between notebooks rewritten to
 * their pages, fenced code highlighted with highlight.js.
 *
 * Math and anchors are two small markdown-it rules of the kit's own, not npm plugins: the math
 * rule follows Pandoc/Jupyter exactly on the cases tests/export_test.ts pins down (`$5 and $6`,
 * `\$`, code spans, TeX escapes inside math), and the anchor rule also collects the heading list
 * the contents need. A plugin such as `markdown-it-texmath` could replace the math rule if it
 * passes the same tests; that was not tried.
 *
 * @module
 */
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
import type { MimeBundle } from "../notebook/io.ts";
import {
  escapeHtml,
  imageDataUrl,
  isBase64,
  plainText,
  svgDataUrl,
  TrustedFragments,
} from "./sanitize.ts";

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

/** A heading of a page, for the table of contents. */
export interface Heading {
  level: number;
  /** Anchor id (unique on the page). */
  id: string;
  /** Plain text (math as its TeX source). */
  text: string;
  /** Inline HTML (math rendered), sanitized. */
  html: string;
}

/** State shared by the rules while one page renders. */
export interface RenderEnv {
  [key: string | symbol]: unknown;
  slugs: Set<string>;
  headings: Heading[];
  warnings: string[];
  where: string;
  attachments?: Record<string, MimeBundle>;
  /** Set: trusted markup is held as placeholders until the notebook's HTML is sanitized. */
  trusted?: TrustedFragments;
}

/** A fresh environment for one page. */
export function newEnv(where: string): RenderEnv {
  return {
    slugs: new Set(["top", "contents"]),
    headings: [],
    warnings: [],
    where,
    trusted: new TrustedFragments(),
  };
}

function hold(env: unknown, html: string): string {
  const t = (env as RenderEnv | undefined)?.trusted;
  return t ? t.hold(html) : html;
}

/** Renders TeX with KaTeX; a formula KaTeX rejects becomes a visible `katex-error` and a warning. */
export function renderTex(tex: string, display: boolean, envIn: unknown): string {
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
 * import MarkdownIt from "markdown-it";
 * import assert from "node:assert/strict";
 * import { mathPlugin } from "./markdown.ts";
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
    hold(
      env,
      `<span class="math math-inline">${renderTex(tokens[idx].content, false, env)}</span>`,
    );
  md.renderer.rules.math_inline_display = (tokens, idx, _o, env) =>
    hold(
      env,
      `<span class="math math-display">${renderTex(tokens[idx].content, true, env)}</span>`,
    );
  md.renderer.rules.math_block = (tokens, idx, _o, env) =>
    hold(env, `<div class="math math-display">${renderTex(tokens[idx].content, true, env)}</div>`) +
    "\n";
}

/**
 * A URL-safe anchor from heading text: accents dropped, lower case, words joined by "-".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slugify } from "./markdown.ts";
 * assert.equal(slugify("Regularización L2 & weight decay"), "regularizacion-l2-weight-decay");
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
      // The heading's text as a reader sees it (math as TeX): raw HTML in it is not part of
      // the text, nor of the anchor, and a script's content is dropped with the script.
      const text = plainText(
        (inline.children ?? []).map((c) =>
          c.type === "softbreak"
            ? " "
            : c.type === "html_inline"
            ? c.content
            : escapeHtml(c.content)
        ).join(""),
      );
      let id = slugify(text);
      if (env.slugs.has(id)) {
        let k = 2;
        while (env.slugs.has(`${id}-${k}`)) k++;
        id = `${id}-${k}`;
      }
      env.slugs.add(id);
      t.attrSet("id", id);
      const raw = md.renderer.renderInline(inline.children ?? [], md.options, env);
      const html = env.trusted ? env.trusted.clean(raw) : raw;
      env.headings.push({ level: Number(t.tag.slice(1)), id, text, html });
    }
  });
  md.renderer.rules.heading_close = (tokens, idx, _o, env) => {
    const id = tokens[idx - 2]?.attrGet("id");
    const anchor = id
      ? hold(
        env,
        `<a class="anchor" href="#${
          escapeHtml(String(id))
        }" aria-label="Link to this section">#</a>`,
      )
      : "";
    return `${anchor}</${tokens[idx].tag}>\n`;
  };
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
    if (src.startsWith("attachment:")) {
      const bundle = env?.attachments?.[decodeURIComponent(src.slice("attachment:".length))];
      let url: string | null = null;
      if (bundle && typeof bundle === "object") {
        for (const [mime, value] of Object.entries(bundle)) {
          const v = Array.isArray(value) ? value.join("") : String(value);
          if (mime !== "image/svg+xml") url = imageDataUrl(mime, v);
          else if (/^\s*</.test(v)) url = svgDataUrl(v);
          else if (isBase64(v)) url = `data:image/svg+xml;base64,${v.replace(/\s+/g, "")}`;
          if (url) break;
        }
      }
      if (!url) env?.warnings.push(`${env.where}: attachment ${src} missing or not an image`);
      t.attrSet("src", url ?? "");
    }
    return defaultImage(tokens, idx, options, env, self);
  };
}

/** Highlighted (escaped) HTML of code; unknown languages are only escaped. */
export function highlight(code: string, lang: string): string {
  const name = LANG_ALIASES[lang.toLowerCase()];
  if (!name) return escapeHtml(code);
  return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
}

/** The markdown renderer of the handouts (markdown-it + math + anchors + highlighting). */
export function createMarkdown(): Md {
  const md: Md = new MarkdownIt({ html: true, linkify: true, typographer: false });
  md.renderer.rules.fence = (tokens, idx, _o, env) => {
    const lang = tokens[idx].info.trim().split(/\s+/)[0] || "text";
    return hold(
      env,
      `<pre class="hljs"><code class="language-${escapeHtml(lang)}">${
        highlight(tokens[idx].content, lang)
      }</code></pre>`,
    ) + "\n";
  };
  md.use(mathPlugin).use(headingPlugin).use(linkPlugin);
  return md;
}

/** The shared renderer. */
export const MD: Md = createMarkdown();

/**
 * Renders markdown from a notebook to sanitized HTML, with math, as the handouts do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderMarkdown } from "./markdown.ts";
 * const html = renderMarkdown("## Loss $\\mathcal{L}(w)$ <img src=x onerror=alert(1)>");
 * assert.ok(html.startsWith('<h2 id="loss-mathcal-l-w"') && html.includes('class="katex"'));
 * assert.ok(!html.includes("onerror"));
 * ```
 */
export function renderMarkdown(text: string, env: RenderEnv = newEnv("markdown")): string {
  const trusted = env.trusted ?? new TrustedFragments();
  const e = { ...env, trusted };
  return trusted.clean(MD.render(text, e));
}
