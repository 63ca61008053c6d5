/**
 * The `text/html` fallback of a figure's MIME bundle: a div plus a script that loads plotly.js
 * when the page lacks it. Internal.
 *
 * @module
 */
import { isPlainObject } from "./_template.ts";
import { type Layout, PLOTLY_CDN } from "./types.ts";

export function sliderPrefix(layout: Layout): string {
  const s = layout.sliders;
  if (!Array.isArray(s) || !isPlainObject(s[0])) return "";
  const cv = s[0].currentvalue;
  if (!isPlainObject(cv) || typeof cv.prefix !== "string") return "";
  return cv.prefix.replace(/\s*=\s*$/, "");
}

/**
 * A div plus a script that draws the figure once plotly.js is there: `window.Plotly` when the
 * page has it; otherwise one shared promise that loads it (require.js in the classic Notebook,
 * where a plain script tag would hit "Mismatched anonymous define()"; a script tag elsewhere).
 * The promise is cached on `window`, so several figures never load plotly.js twice and none
 * draws before it has loaded.
 */
export function fallbackHtml(id: string, json: string, layout: Layout): string {
  const height = typeof layout.height === "number" ? layout.height : 420;
  const width = typeof layout.width === "number" ? `${layout.width}px` : "100%";
  const src = PLOTLY_CDN;
  const amdPath = src.replace(/\.js$/, "");
  return `<div id="${id}" class="kit-plot" style="width:${width};height:${height}px;"></div>
<script type="text/javascript">
(function () {
  var fig = ${scriptSafe(json)};
  var el = document.getElementById(${JSON.stringify(id)});
  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!window.__kitPlotly) {
      window.__kitPlotly = new Promise(function (resolve, reject) {
        if (typeof window.requirejs === "function" && typeof window.define === "function" && window.define.amd) {
          window.requirejs.config({ paths: { "kit-plotly": ${JSON.stringify(amdPath)} } });
          // plotly.js 4 sets window.Plotly and defines no AMD module: P is then undefined.
          window.requirejs(["kit-plotly"], function (P) {
            P = P || window.Plotly;
            if (P) { window.Plotly = P; resolve(P); } else reject(new Error("plotly.js did not load"));
          }, reject);
        } else {
          var s = document.createElement("script");
          s.src = ${JSON.stringify(src)};
          s.onload = function () { resolve(window.Plotly); };
          s.onerror = function () { reject(new Error("could not load " + s.src)); };
          document.head.appendChild(s);
        }
      }).catch(function (e) { window.__kitPlotly = null; throw e; });
    }
    return window.__kitPlotly;
  }
  loadPlotly().then(function (Plotly) { return Plotly.newPlot(el, fig); }).catch(function (e) {
    el.style.height = "auto";
    el.textContent = "Plotly figure not drawn: " + (e && e.message ? e.message : e);
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

/** FNV-1a 32-bit hash, hex: a short, stable content fingerprint for figure ids. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
