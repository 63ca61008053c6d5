/**
 * What a notebook may bring into a page. Notebooks are hostile until proven otherwise (a student
 * submission, a contributed exercise): every piece of HTML they produce (markdown with raw HTML,
 * `text/html` and `text/markdown` outputs, headings in the contents and the index) goes through
 * npm `sanitize-html` with the allowlist below, and every value put into an attribute is
 * escaped or validated. The page's Content-Security-Policy ({@link CSP}) is the second line:
 * a case missed here still cannot run script or reach the network.
 *
 * Markup the exporter itself produces (KaTeX, highlight.js, anchors) is rendered after
 * sanitizing, from placeholders ({@link TrustedFragments}), so the allowlist stays small.
 *
 * @module
 */
// @ts-types="@types/sanitize-html"
import sanitizeHtml from "sanitize-html";

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./sanitize.ts";
 * assert.equal(escapeHtml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** JSON safe inside a `<script type="application/json">` element. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * The Content-Security-Policy of every page: scripts only from files (the shipped `assets/`),
 * no inline script or event handler, no network at all (images, fonts and styles from the page's
 * folder or `data:`), no frames, plugins, forms or `<base>`. Inline styles stay allowed: KaTeX
 * and Plotly position their output with them. `'unsafe-eval'` is NOT granted.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'none'",
  "frame-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const IMAGE_MIMES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** True for non-empty, well-formed base64 (whitespace ignored). */
export function isBase64(s: string): boolean {
  const t = s.replace(/\s+/g, "");
  return t.length > 0 && t.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(t);
}

/**
 * A `data:` URL for image bytes given as base64, or null when the type is not a raster image
 * type or the data is not base64 (an attribute-breaking payload, for instance). SVG goes through
 * {@link svgDataUrl}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageDataUrl } from "./sanitize.ts";
 * assert.equal(imageDataUrl("image/png", "iVBORw0KGgo=\n"), "data:image/png;base64,iVBORw0KGgo=");
 * assert.equal(imageDataUrl("image/png", 'x" onerror="alert(1)'), null);
 * assert.equal(imageDataUrl("text/html", "PHA+"), null);
 * ```
 */
export function imageDataUrl(mime: string, base64: string): string | null {
  if (!IMAGE_MIMES.has(mime) || !isBase64(base64)) return null;
  return `data:${mime};base64,${base64.replace(/\s+/g, "")}`;
}

/**
 * SVG as a `data:` URL for an `<img>`: an image never runs the SVG's scripts or loads its
 * external references, so the markup itself needs no cleaning.
 */
export function svgDataUrl(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:image/svg+xml;base64,${btoa(bin)}`;
}

const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const DATA_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=]+$/;
const headingAttrs = ["id"];

/**
 * The allowlist. Instructors may write in markdown: text formatting (`<b>`, `<i>`, `<em>`,
 * `<strong>`, `<sub>`, `<sup>`, `<kbd>`, `<mark>`, `<abbr title>`, `<small>`, `<u>`, `<s>`,
 * `<del>`, `<ins>`, `<br>`), blocks (`<p>`, `<div>`, `<span>`, `<blockquote>`, `<pre>`, `<code>`,
 * `<hr>`, headings, lists, `<dl>`), tables (with `colspan`, `rowspan` and `text-align`),
 * `<details>`/`<summary>`, `<figure>`/`<figcaption>`, links to `http(s):`, `mailto:` and relative
 * paths, and images from `data:image/...;base64` or relative paths. Everything else is removed:
 * `<script>`, `<style>`, `<iframe>`, `<object>`, `<svg>`/`<math>` markup, forms, `<meta>`,
 * `<base>`, `<link>`, event handlers, `style` (except `text-align` in tables), `class`
 * (except `dataframe` and `kit-claims` on tables), `id` (except the lower-case anchors headings
 * get), `target`, and every other URL scheme.
 */
export const ALLOWLIST: sanitizeHtml.IOptions = {
  allowedTags: [
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "var",
    "wbr",
  ],
  allowedAttributes: {
    a: ["href", "title", "rel"],
    abbr: ["title"],
    img: ["src", "alt", "title", "width", "height"],
    td: ["colspan", "rowspan", "style"],
    th: ["colspan", "rowspan", "style", "scope"],
    ol: ["start"],
    details: ["open"],
    table: ["class"],
    h1: headingAttrs,
    h2: headingAttrs,
    h3: headingAttrs,
    h4: headingAttrs,
    h5: headingAttrs,
    h6: headingAttrs,
  },
  allowedClasses: { table: ["dataframe", "kit-claims"] }, // kit-claims: lib/claim.ts
  allowedStyles: {
    td: { "text-align": [/^(?:left|right|center)$/] },
    th: { "text-align": [/^(?:left|right|center)$/] },
  },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["data"] },
  allowedSchemesAppliedToAttributes: ["href", "src", "cite"],
  allowProtocolRelative: false,
  disallowedTagsMode: "discard",
  transformTags: {
    // Raster or SVG images only, as base64; anything else under data: is dropped.
    img: (tagName, attribs) => {
      const src = attribs.src ?? "";
      if (/^data:/i.test(src) && !DATA_IMAGE.test(src)) {
        const { src: _drop, ...rest } = attribs;
        return { tagName, attribs: rest };
      }
      return { tagName, attribs };
    },
    // Only slug-shaped ids (what headings get): no clobbering of globals like `Plotly`.
    ...Object.fromEntries(["h1", "h2", "h3", "h4", "h5", "h6"].map((h) => [
      h,
      (tagName: string, attribs: sanitizeHtml.Attributes) => {
        if (attribs.id !== undefined && !SLUG.test(attribs.id)) {
          const { id: _drop, ...rest } = attribs;
          return { tagName, attribs: rest };
        }
        return { tagName, attribs };
      },
    ])),
  },
};

/**
 * Cleans HTML from a notebook with {@link ALLOWLIST}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitize } from "./sanitize.ts";
 * assert.equal(
 *   sanitize('<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">l</a></p>'),
 *   "<p>Hi <a>l</a></p>",
 * );
 * assert.equal(sanitize("<details><summary>More</summary><kbd>Ctrl</kbd></details>"),
 *   "<details><summary>More</summary><kbd>Ctrl</kbd></details>");
 * ```
 */
export function sanitize(html: string): string {
  return sanitizeHtml(html, ALLOWLIST);
}

/**
 * The text of an HTML fragment: tags removed, the content of `<script>`, `<style>` and the like
 * dropped, entities decoded, white space collapsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plainText } from "./sanitize.ts";
 * assert.equal(plainText("Dropout <b>&amp;</b> <script>alert(1)</script> noise"), "Dropout & noise");
 * ```
 */
export function plainText(html: string): string {
  return sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} })
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
}

/**
 * Markup the exporter renders itself (formulas, highlighted code, heading anchors), kept aside
 * while a notebook's HTML is sanitized and put back afterwards. A placeholder carries a random
 * nonce, so a notebook cannot forge one; it never appears in the output.
 */
export class TrustedFragments {
  readonly #nonce = crypto.randomUUID().replace(/-/g, "");
  readonly #parts: string[] = [];

  /** A placeholder (plain text, survives sanitizing) for trusted `html`. */
  hold(html: string): string {
    this.#parts.push(html);
    return `\u2063kit${this.#nonce}x${this.#parts.length - 1}\u2063`;
  }

  /** Sanitizes `html` (which may contain placeholders), then puts the trusted markup back. */
  clean(html: string): string {
    const re = new RegExp(`\u2063kit${this.#nonce}x(\\d+)\u2063`, "g");
    return sanitize(html).replace(re, (_m, i) => this.#parts[Number(i)] ?? "");
  }
}
