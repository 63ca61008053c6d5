/**
 * Cell outputs to HTML. Everything from a notebook is escaped or sanitized here:
 *
 * - `application/vnd.plotly.v1+json`: the figure JSON in a `<script type="application/json">`
 *   (escaped for that context) next to an empty container; the page's own script
 *   (`assets/handout.js`) draws it with the shipped plotly.js. Never the HTML fallback.
 * - `text/html`, `text/markdown`: sanitized with the allowlist of `sanitize.ts`.
 * - `image/png|jpeg|gif|webp`: validated base64 in a `data:` URL; `image/svg+xml` through
 *   `<img>` (no script runs inside an image).
 * - `text/plain`, streams, tracebacks: escaped, ANSI colours to `<span>`s by npm `ansi_up`.
 *
 * @module
 */
import { AnsiUp } from "ansi_up";
import type { MimeBundle, Output } from "../notebook/io.ts";
import { highlight, MD, type RenderEnv, renderTex } from "./markdown.ts";
import { escapeHtml, imageDataUrl, scriptJson, svgDataUrl } from "./sanitize.ts";

/**
 * Text with ANSI SGR codes (colours, bold, italic, underline) to escaped HTML with `<span>`s
 * (classes `ansi-<colour>-fg`/`-bg`, 256 and true colours as inline styles); other escape
 * sequences are dropped. A carriage return keeps only what was written last on a line, as a
 * terminal shows a progress bar.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ansiToHtml } from "./outputs.ts";
 * assert.equal(ansiToHtml("\x1b[33m42\x1b[39m <b>\n10%\r100%"),
 *   '<span class="ansi-yellow-fg">42</span> &lt;b&gt;\n100%');
 * ```
 */
export function ansiToHtml(text: string): string {
  const lines = text.split("\n").map((l) => {
    const parts = l.split("\r");
    return parts.length > 1 ? parts.filter((p) => p !== "").pop() ?? "" : l;
  }).join("\n");
  const ansi = new AnsiUp();
  ansi.use_classes = true;
  ansi.escape_html = true;
  return ansi.ansi_to_html(lines);
}

/** Text of a multiline string or JSON value. */
export function text(v: unknown): string {
  if (Array.isArray(v)) return v.join("");
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** Per-page state while outputs render. */
export interface OutputState {
  figures: number;
  env: RenderEnv;
}

function renderBundle(data: MimeBundle, page: OutputState): string {
  const fig = data[PLOTLY_MIME];
  if (fig !== undefined && fig !== null && typeof fig === "object" && !Array.isArray(fig)) {
    page.figures += 1;
    const id = `figure-${page.figures}`;
    const layout = (fig as { layout?: { height?: unknown } }).layout;
    const h = typeof layout?.height === "number" && layout.height > 0 && layout.height < 5000
      ? Math.round(layout.height)
      : 420;
    const summary = data["text/plain"] !== undefined ? text(data["text/plain"]) : "Plotly figure";
    return `<figure class="plot-figure"><div class="plot" id="${id}" role="img" aria-label="${
      escapeHtml(summary)
    }" style="min-height:${h}px"></div>` +
      `<script type="application/json" class="plot-data" data-target="${id}">${
        scriptJson(fig)
      }</script></figure>`;
  }
  if (data["text/html"] !== undefined) {
    return `<div class="output-html">${page.env.trusted!.clean(text(data["text/html"]))}</div>`;
  }
  if (data["image/svg+xml"] !== undefined) {
    return `<img class="output-image" alt="" src="${
      escapeHtml(svgDataUrl(text(data["image/svg+xml"])))
    }">`;
  }
  for (const mime of ["image/png", "image/jpeg", "image/gif", "image/webp"]) {
    if (data[mime] === undefined) continue;
    const url = imageDataUrl(mime, text(data[mime]));
    if (url) return `<img class="output-image" alt="" src="${escapeHtml(url)}">`;
    page.env.warnings.push(`${page.env.where}: ${mime} output is not valid base64; not shown`);
    return `<p class="output-unsupported">(${mime} output with invalid data not shown)</p>`;
  }
  if (data["text/markdown"] !== undefined) {
    const html = MD.render(text(data["text/markdown"]), page.env);
    return `<div class="output-markdown">${page.env.trusted!.clean(html)}</div>`;
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

/** A cell's outputs as HTML; consecutive stream outputs of one name merge, as in Jupyter. */
export function renderOutputs(outputs: readonly Output[], page: OutputState): string {
  const parts: string[] = [];
  const merged: Output[] = [];
  for (const o of outputs) {
    const prev = merged[merged.length - 1];
    if (o.output_type === "stream" && prev?.output_type === "stream" && prev.name === o.name) {
      merged[merged.length - 1] = { ...prev, text: text(prev.text) + text(o.text) };
    } else merged.push(o);
  }
  for (const o of merged) {
    switch (o.output_type) {
      case "stream": {
        // The name becomes a class: only the two Jupyter knows.
        const name = o.name === "stderr" ? "stderr" : "stdout";
        parts.push(`<pre class="output-stream ${name}">${ansiToHtml(text(o.text))}</pre>`);
        break;
      }
      case "display_data":
      case "execute_result":
        if (o.data && typeof o.data === "object") parts.push(renderBundle(o.data, page));
        break;
      case "error": {
        const tb = Array.isArray(o.traceback) && o.traceback.length
          ? o.traceback.map(String).join("\n")
          : `${o.ename}: ${o.evalue}`;
        parts.push(
          `<div class="output-error" role="alert"><div class="error-name">${
            escapeHtml(String(o.ename))
          }</div><pre>${ansiToHtml(tb)}</pre></div>`,
        );
        break;
      }
    }
  }
  return parts.join("\n");
}
