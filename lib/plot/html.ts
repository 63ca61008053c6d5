/**
 * The `text/html` rendering of a figure's MIME bundle: a static block that names the figure
 * (and, in executed notebooks, shows its image), and a script that replaces it with the
 * interactive figure once plotly.js is there. Internal; `tools/export/figures.ts` uses
 * {@link withStaticImage}.
 *
 * Why the static block lives inside the HTML: the classic Notebook and nbconvert pick
 * `text/html` over `image/png` whenever both are there, also for an untrusted notebook, where
 * the HTML is sanitized (no script, no inline style). Without text of its own the output would
 * be an empty box.
 *
 * @module
 */
import { isPlainObject } from "./_template.ts";
import { type Layout, PLOTLY_CDN, PLOTLY_KERNELSPEC_PATH } from "./types.ts";

export function sliderPrefix(layout: Layout): string {
  const s = layout.sliders;
  if (!Array.isArray(s) || !isPlainObject(s[0])) return "";
  const cv = s[0].currentvalue;
  if (!isPlainObject(cv) || typeof cv.prefix !== "string") return "";
  return cv.prefix.replace(/\s*=\s*$/, "");
}

/** "λ = 0.01, step 2 of 5" for a slider figure (the step its layout shows), else "". */
export function sliderStep(layout: Layout): string {
  const s = layout.sliders;
  if (!Array.isArray(s) || !isPlainObject(s[0]) || !Array.isArray(s[0].steps)) return "";
  const steps = s[0].steps as unknown[];
  const active = typeof s[0].active === "number" ? s[0].active : 0;
  const step = steps[active];
  if (!isPlainObject(step)) return "";
  const label = String(step.label ?? "");
  const prefix = sliderPrefix(layout);
  return `${prefix ? `${prefix} = ` : ""}${label}, step ${active + 1} of ${steps.length}`;
}

/** Plain text of a Plotly label: tags removed (`<br>` becomes a space), entities kept as text. */
function plainText(s: string): string {
  return s.replace(/<br\s*\/?>/gi, " ").replace(/<[^>]*>/g, "").replace(/\s+/g, " ").trim();
}

/** How the static block names a figure: its title, else the one-line summary. */
export function figureName(layout: Layout, summary: string): string {
  const t = layout.title;
  const text = typeof t === "string"
    ? t
    : isPlainObject(t) && typeof t.text === "string"
    ? t.text
    : "";
  return plainText(text) || summary;
}

/** A static image of the figure for {@link staticBlock}: base64 PNG and its size in pixels. */
export interface StaticImage {
  png: string;
  width: number;
  height: number;
}

const STATIC_OPEN = '<div class="kit-plot-static">';
const STATIC_CLOSE = "</div><!--/kit-plot-static-->";

/**
 * What a page shows where scripts do not run: the figure's name and how to see it drawn, and
 * its image when there is one. Plain markup without inline styles (sanitizers strip them),
 * except the image's `max-width`, which only helps where it survives.
 */
export function staticBlock(name: string, step: string, image?: StaticImage): string {
  const what = `<b>Figure “${escapeHtml(name)}”</b>${step ? ` (${escapeHtml(step)})` : ""}`;
  const how = "run the cell, or trust the notebook (classic Notebook: File &gt; Trust Notebook; " +
    "JupyterLab: Trust Notebook in the command palette)";
  if (!image) {
    return `${STATIC_OPEN}\n<p>${what}: not drawn, its script did not run here. To draw it, ${how}.` +
      `</p>\n${STATIC_CLOSE}`;
  }
  return `${STATIC_OPEN}\n<img src="data:image/png;base64,${image.png}" alt="${
    escapeAttr(name + (step ? ` (${step})` : ""))
  }" width="${image.width}" height="${image.height}" style="max-width:100%;height:auto">\n` +
    `<p>${what}: a static image. For the interactive figure, ${how}.</p>\n${STATIC_CLOSE}`;
}

/**
 * The figure's HTML with its static block replaced by one that shows `image`; the HTML as it
 * was when it has no static block (a figure made before the kit had one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as plot from "@kit/plot.ts";
 * import { withStaticImage } from "./html.ts";
 * const html = plot.line([1, 2], { title: "T" }).toMimeBundle()["text/html"];
 * const out = withStaticImage(html, "T", "", { png: "iVBORw0KGgo=", width: 720, height: 420 });
 * assert.ok(out.includes('<img src="data:image/png;base64,iVBORw0KGgo="'));
 * assert.equal(withStaticImage(out, "T", "", { png: "AAAA", width: 1, height: 1 })
 *   .match(/<img/g)?.length, 1, "replaces, never adds a second image");
 * ```
 */
export function withStaticImage(
  html: string,
  name: string,
  step: string,
  image: StaticImage,
): string {
  const start = html.indexOf(STATIC_OPEN);
  const end = html.indexOf(STATIC_CLOSE, start);
  if (start < 0 || end < 0) return html;
  return html.slice(0, start) + staticBlock(name, step, image) +
    html.slice(end + STATIC_CLOSE.length);
}

/**
 * The figure's `text/html`: a div holding the static block, plus a script that draws the
 * figure once plotly.js is there. plotly.js comes from, in this order:
 *
 * 1. `window.Plotly`, when the page has it;
 * 2. the kit's own copy, `<base_url>kernelspecs/deno-kit/plotly.min.js`, served by the Jupyter
 *    server the page came from (the base URL is the classic Notebook's `data-base-url` or the
 *    `baseUrl` of JupyterLab's and Notebook 7's page config); no request leaves the machine;
 * 3. the CDN, when nothing above worked (a page without a Jupyter server, the kit's kernel not
 *    installed).
 *
 * Through require.js where the page has it (the classic Notebook: a plain script tag would hit
 * "Mismatched anonymous define()"), a script tag elsewhere. One promise cached on `window`
 * serves every figure of the page, so plotly.js loads once and no figure draws before it has
 * loaded; every figure carries this loader, so any one of them draws on a freshly loaded page
 * (a reload while the kernel runs, a reopened notebook). If all sources fail, the static block
 * stays and says why.
 */
export function fallbackHtml(
  id: string,
  json: string,
  layout: Layout,
  name: string,
  step: string,
): string {
  const height = typeof layout.height === "number" ? layout.height : 420;
  const width = typeof layout.width === "number" ? `${layout.width}px` : "100%";
  return `<div id="${id}" class="kit-plot">
${staticBlock(name, step)}
</div>
<script type="text/javascript">
(function () {
  var fig = ${scriptSafe(json)};
  var el = document.getElementById(${JSON.stringify(id)});
  if (!el) return;
  var LOCAL = ${JSON.stringify(PLOTLY_KERNELSPEC_PATH)};
  var CDN = ${JSON.stringify(PLOTLY_CDN)};
  function baseUrl() {
    var b = document.body && document.body.getAttribute("data-base-url");
    if (b) return decodeURIComponent(b);
    var c = document.getElementById("jupyter-config-data");
    if (c) {
      try {
        var u = JSON.parse(c.textContent).baseUrl;
        if (typeof u === "string") return u;
      } catch (e) { /* not JSON: no base URL */ }
    }
    return null;
  }
  function loadOne(src, name) {
    return new Promise(function (resolve, reject) {
      var r = window.requirejs;
      if (typeof r === "function" && typeof window.define === "function" && window.define.amd) {
        var paths = {};
        paths[name] = src.replace(/\\.js$/, "");
        r.config({ paths: paths });
        // plotly.js 4 defines no AMD module: P is undefined and window.Plotly is set.
        r([name], function (P) {
          P = P || window.Plotly;
          if (P) resolve(P); else reject(new Error(src + " defined no Plotly"));
        }, function () {
          if (r.undef) r.undef(name);
          reject(new Error("could not load " + src));
        });
      } else {
        var s = document.createElement("script");
        s.src = src;
        s.onload = function () {
          if (window.Plotly) resolve(window.Plotly); else reject(new Error(src + " defined no Plotly"));
        };
        s.onerror = function () { reject(new Error("could not load " + src)); };
        document.head.appendChild(s);
      }
    });
  }
  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!window.__kitPlotly) {
      var base = baseUrl();
      var sources = [];
      if (base !== null) sources.push([base.replace(/\\/?$/, "/") + LOCAL, "kit-plotly-local"]);
      sources.push([CDN, "kit-plotly-cdn"]);
      var tried = [];
      window.__kitPlotly = sources.reduce(function (prev, s) {
        return prev.catch(function () { tried.push(s[0]); return loadOne(s[0], s[1]); });
      }, Promise.reject(null)).then(function (P) {
        window.Plotly = P;
        return P;
      }, function () {
        window.__kitPlotly = null;
        throw new Error("plotly.js could not be loaded from " + tried.join(" or "));
      });
    }
    return window.__kitPlotly;
  }
  var stat = el.querySelector(".kit-plot-static");
  loadPlotly().then(function (Plotly) {
    if (stat && stat.parentNode === el) el.removeChild(stat);
    el.style.width = ${JSON.stringify(width)};
    el.style.height = "${height}px";
    return Plotly.newPlot(el, fig);
  }).then(function () {
    el.setAttribute("data-kit-plot", "drawn");
  }, function (e) {
    if (window.Plotly && window.Plotly.purge) {
      try { window.Plotly.purge(el); } catch (x) { /* nothing drawn */ }
    }
    el.style.height = "auto";
    el.textContent = "";
    if (stat) el.appendChild(stat);
    var p = document.createElement("p");
    p.className = "kit-plot-error";
    p.textContent = "Plotly figure not drawn: " + (e && e.message ? e.message : e) +
      (window.Plotly ? "" : ". Offline, the kit's kernel serves plotly.js: install it " +
        "(npx -y deno@2.9.6 task kernel:install) and reload the page.");
    el.appendChild(p);
    el.setAttribute("data-kit-plot", "failed");
  });
})();
</script>`;
}

/** JSON that is safe inside a <script> element (no "</script>", no "<!--", no U+2028/9). */
function scriptSafe(json: string): string {
  return json.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttr(s: string): string {
  return escapeHtml(s).replace(/"/g, "&quot;");
}

/** FNV-1a 32-bit hash, hex: a short, stable content fingerprint for figure ids. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
