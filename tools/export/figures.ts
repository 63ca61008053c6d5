/**
 * Static images of the figures in executed notebooks, for every place where a figure's script
 * does not run: GitHub's and nbviewer's notebook views, `jupyter nbconvert --to html` read
 * without JavaScript, an untrusted notebook in the classic Notebook or JupyterLab, print.
 *
 * Each Plotly figure output of a notebook gets a PNG, drawn by headless Chromium (npm
 * `playwright-core`, Debian's `/usr/bin/chromium`) with the pinned plotly.js and the handouts'
 * own page script (`assets/handout.js`, so titles wrap as on the handout page), at
 * {@link IMAGE_WIDTH} px wide and the figure's own height, then stored as an RGB PNG at zlib's
 * highest level (npm `fast-png`; lossless, and smaller than Chromium's RGBA PNG). The PNG
 * goes into the output twice:
 * as `image/png` (viewers that pick images) and inside the static block of its `text/html`
 * (the classic Notebook and nbconvert pick HTML first). A slider figure is drawn at its default
 * step, with the slider showing that step.
 *
 * The page that draws them loads nothing from the network and runs no script but plotly.js and
 * the page script (Content-Security-Policy); figure JSON is data. Images are deterministic: the
 * same notebook gives the same bytes on the same machine (same Chromium and fonts).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { Buffer } from "node:buffer";
import { decode, encode } from "fast-png";
import { figureName, sliderStep, withStaticImage } from "../../lib/plot/html.ts";
import type { Layout } from "../../lib/plot/types.ts";
import { type MimeBundle, type Notebook, readNotebook, writeNotebook } from "../notebook/io.ts";
import { CHROMIUM, launchChromium } from "./pdf.ts";
import { scriptJson } from "./sanitize.ts";
import { text } from "./outputs.ts";

/**
 * Width of the images in CSS pixels, drawn at one device pixel each: about the width of a
 * notebook's output area on a laptop (the handouts' text column is 880 px), so an image is shown
 * at its own size or scaled down, never blown up; one device pixel per CSS pixel keeps the bytes
 * down, and every image is stored twice in its notebook.
 */
export const IMAGE_WIDTH = 720;

const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const ORIGIN = "http://kit-figures.invalid";

/** The outcome of {@link addFigureImages}. */
export interface FigureImageSummary {
  /** Notebooks rewritten with images. */
  written: string[];
  /** Figures that got an image. */
  figures: number;
  /** Bytes the images added to the notebook files (new size minus old). */
  addedBytes: number;
  /** Problems, one line each (a notebook that could not be read, a figure that did not draw). */
  errors: string[];
  /** Wall time of the whole step, Chromium's start included. */
  elapsedMs: number;
}

/** One figure of a notebook: where its bundle is, and its JSON. */
interface FigureRef {
  data: MimeBundle;
  fig: { data?: unknown; layout?: Layout; frames?: unknown };
}

function figuresOf(nb: Notebook): FigureRef[] {
  const out: FigureRef[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    for (const o of cell.outputs) {
      if (o.output_type !== "display_data" && o.output_type !== "execute_result") continue;
      const fig = o.data?.[PLOTLY_MIME];
      if (fig && typeof fig === "object" && !Array.isArray(fig)) {
        out.push({ data: o.data, fig: fig as FigureRef["fig"] });
      }
    }
  }
  return out;
}

const packageFile = (spec: string) => fileURLToPath(import.meta.resolve(spec));
const handoutJs = fileURLToPath(new URL("./assets/handout.js", import.meta.url));

/**
 * A PNG as small as fast-png makes it, losslessly: RGB when every pixel is opaque, zlib level 9.
 * Returns the original when that is smaller.
 */
export function recompressPng(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  const img = decode(bytes);
  if (img.depth !== 8 || (img.channels !== 4 && img.channels !== 3) || img.palette) return base64;
  const src = img.data as Uint8Array;
  const n = img.width * img.height;
  let opaque = img.channels === 3;
  if (!opaque) {
    opaque = true;
    for (let i = 3; i < src.length; i += 4) {
      if (src[i] !== 255) {
        opaque = false;
        break;
      }
    }
  }
  let data = src, channels = img.channels;
  if (opaque && img.channels === 4) {
    data = new Uint8Array(n * 3);
    for (let i = 0, j = 0; i < src.length; i += 4, j += 3) {
      data[j] = src[i];
      data[j + 1] = src[i + 1];
      data[j + 2] = src[i + 2];
    }
    channels = 3;
  }
  const png = encode(
    { width: img.width, height: img.height, data, depth: 8, channels },
    { zlib: { level: 9 } },
  );
  return png.length < bytes.length ? Buffer.from(png).toString("base64") : base64;
}

/** The page that draws one notebook's figures: one container each, as on a handout page. */
function pageHtml(figs: FigureRef[], width: number): string {
  const csp = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; " +
    "img-src data: blob:; font-src data:";
  const items = figs.map((f, i) =>
    `<div class="plot" id="figure-${i + 1}"></div>` +
    `<script type="application/json" class="plot-data" data-target="figure-${i + 1}">${
      scriptJson({ data: f.fig.data, layout: f.fig.layout, frames: f.fig.frames })
    }</script>`
  ).join("\n");
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style>body{margin:0;font-family:system-ui,sans-serif}.plot{width:${width}px;margin-bottom:8px}</style>
</head><body>
${items}
<script src="${ORIGIN}/plotly.min.js"></script>
<script src="${ORIGIN}/handout.js"></script>
</body></html>`;
}

/** Draws the figures and returns one base64 PNG (with its size) or an error per figure. */
async function render(
  page: Page,
  figs: FigureRef[],
  width: number,
): Promise<({ png: string; width: number; height: number } | { error: string })[]> {
  const html = pageHtml(figs, width);
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = route.request().url();
    if (url === `${ORIGIN}/figures.html`) {
      return await route.fulfill({ body: html, contentType: "text/html; charset=utf-8" });
    }
    if (url === `${ORIGIN}/plotly.min.js`) {
      return await route.fulfill({
        path: packageFile("plotly.js-dist-min"),
        contentType: "text/javascript",
      });
    }
    if (url === `${ORIGIN}/handout.js`) {
      return await route.fulfill({ path: handoutJs, contentType: "text/javascript" });
    }
    return await route.abort();
  });
  try {
    await page.goto(`${ORIGIN}/figures.html`, { waitUntil: "load" });
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll(".plot")].every((p) =>
          p.getAttribute("data-rendered") === "true" || p.getAttribute("data-rendered") === "error"
        ),
      undefined,
      { timeout: 120_000 },
    );
    await page.evaluate(() => document.fonts.ready);
    return await page.evaluate(async () => {
      // deno-lint-ignore no-explicit-any
      const Plotly = (window as any).Plotly;
      const out: ({ png: string; width: number; height: number } | { error: string })[] = [];
      for (const el of document.querySelectorAll(".plot")) {
        if (el.getAttribute("data-rendered") !== "true") {
          out.push({ error: el.getAttribute("data-error") ?? "not drawn" });
          continue;
        }
        // deno-lint-ignore no-explicit-any
        const full = (el as any)._fullLayout;
        const w = Math.round(full.width), h = Math.round(full.height);
        try {
          const url: string = await Plotly.toImage(el, {
            format: "png",
            width: w,
            height: h,
            scale: 1,
          });
          out.push({ png: url.slice(url.indexOf(",") + 1), width: w, height: h });
        } catch (e) {
          out.push({ error: String((e as Error)?.message ?? e) });
        }
      }
      return out;
    });
  } finally {
    await page.unroute(`${ORIGIN}/**`);
  }
}

/**
 * Adds a static image to every Plotly figure of the executed notebooks at `paths` and rewrites
 * them (atomically). A notebook that cannot be read or a figure that does not draw is reported;
 * the others still get their images. Pass `browser` to reuse a running Chromium.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addFigureImages } from "./figures.ts";
 * // A notebook without figures is left as it is (and no browser is started for it).
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.ipynb`, JSON.stringify({
 *   nbformat: 4, nbformat_minor: 5, cells: [],
 *   metadata: {
 *     kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
 *     language_info: { name: "typescript" },
 *   },
 * }));
 * const s = await addFigureImages([`${dir}/a.ipynb`, `${dir}/missing.ipynb`]);
 * assert.deepEqual([s.figures, s.written], [0, []]);
 * assert.match(s.errors[0], /missing\.ipynb/, "an unreadable notebook is reported");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function addFigureImages(
  paths: readonly string[],
  opts: { browser?: Browser; width?: number; log?: (line: string) => void } = {},
): Promise<FigureImageSummary> {
  const t0 = performance.now();
  const summary: FigureImageSummary = {
    written: [],
    figures: 0,
    addedBytes: 0,
    errors: [],
    elapsedMs: 0,
  };
  const width = opts.width ?? IMAGE_WIDTH;
  const loaded: { path: string; nb: Notebook; figs: FigureRef[]; size: number }[] = [];
  for (const path of paths) {
    try {
      const nb = await readNotebook(path);
      const figs = figuresOf(nb);
      if (figs.length) loaded.push({ path, nb, figs, size: (await Deno.stat(path)).size });
    } catch (e) {
      summary.errors.push(`${path}: ${(e as Error).message}; no images added`);
    }
  }
  if (loaded.length === 0) return { ...summary, elapsedMs: performance.now() - t0 };
  const browser = opts.browser ?? await launchChromium();
  try {
    const context = await browser.newContext({
      viewport: { width: width + 40, height: 900 },
      deviceScaleFactor: 1,
    });
    // Nothing but the routed page and its two scripts: every other request is aborted.
    await context.route(
      "**/*",
      (route) => route.request().url().startsWith(`${ORIGIN}/`) ? route.fallback() : route.abort(),
    );
    const page = await context.newPage();
    try {
      for (const { path, nb, figs, size } of loaded) {
        const images = await render(page, figs, width);
        let added = 0;
        images.forEach((img, i) => {
          const where = `${path}: figure ${i + 1} of ${figs.length}`;
          if ("error" in img) {
            summary.errors.push(`${where}: not drawn (${img.error}); no image`);
            return;
          }
          const { data, fig } = figs[i];
          const layout = fig.layout ?? {};
          img.png = recompressPng(img.png);
          data["image/png"] = img.png;
          if (data["text/html"] !== undefined) {
            const summaryText = data["text/plain"] !== undefined
              ? text(data["text/plain"])
              : "Plotly figure";
            data["text/html"] = withStaticImage(
              text(data["text/html"]),
              figureName(layout, summaryText),
              sliderStep(layout),
              img,
            );
          }
          added++;
        });
        if (added === 0) continue;
        await writeNotebook(path, nb);
        summary.written.push(path);
        summary.figures += added;
        summary.addedBytes += (await Deno.stat(path)).size - size;
        opts.log?.(`${path}: ${added} figure image(s)`);
      }
    } finally {
      await context.close();
    }
  } finally {
    if (!opts.browser) await browser.close();
  }
  summary.elapsedMs = performance.now() - t0;
  return summary;
}

/** True when the Chromium that draws the images is installed. */
export function haveChromium(): boolean {
  try {
    Deno.statSync(CHROMIUM);
    return true;
  } catch {
    return false;
  }
}
