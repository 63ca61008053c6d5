/**
 * Browser tests, in one headless Chromium (Debian's /usr/bin/chromium driven by npm
 * playwright-core) shared by every step:
 *
 * - a hostile notebook (tests/hostile_notebook.ts) exported and opened with its index: no
 *   dialog fires, no network request is made, no event handler or `javascript:` URL reaches
 *   the DOM, and the benign content (math, a Plotly figure, tables, `<details>`) renders;
 * - first, without a browser: every notebook runs green on the real kernel and is exported
 *   (`buildHandouts`, into dist/browser-test/); the browser steps then open these pages;
 * - the handouts of every notebook
 *   plus a gallery page of every builder of lib/plot.ts show every figure and formula offline,
 *   with no console error and no request to the network;
 * - at 390 px wide no two text boxes of a figure (titles, axis titles, tick labels, legend,
 *   annotations, colour bars) overlap, and no page scrolls sideways;
 * - PDFs (tools/export/pdf.ts): every figure title is in the text (`pdftotext`, Debian's
 *   poppler-utils) and no page but the last is more than half blank (`pdftoppm` page images);
 * - the text/html fallback of lib/plot.ts draws in a plain page.
 *
 * Screenshots and PDFs go to dist/screenshots/.
 *
 * With CI=true the test must run: a missing Chromium fails it. Elsewhere it is skipped with a
 * loud message.
 */
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildHandouts } from "../tools/handouts.ts";
import { exportNotebooks } from "../tools/export/mod.ts";
import { launchChromium, writePdfs } from "../tools/export/pdf.ts";
import { addFigureImages } from "../tools/export/figures.ts";
import { type Notebook, type Output, readNotebook } from "../tools/notebook/io.ts";
import { claimProblems } from "../tools/notebook/claims.ts";
import { hostileNotebook } from "./hostile_notebook.ts";
import * as plot from "@kit/plot.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}dist/browser-test`;
const SHOTS = `${ROOT}dist/screenshots`;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const haveChromium = exists(CHROMIUM);
const havePoppler = exists("/usr/bin/pdftotext") && exists("/usr/bin/pdftoppm");
const haveNbconvert = exists("/usr/bin/jupyter-nbconvert");
const inCI = Deno.env.get("CI") === "true";
if (!haveChromium && !inCI) {
  console.warn(
    "\n" + "!".repeat(78) + "\n" +
      `!! SKIPPING the browser test: ${CHROMIUM} not found.\n` +
      "!! Install it (apt-get install -y chromium) to check that the handouts render;\n" +
      "!! with CI=true this test fails instead of skipping.\n" +
      "!".repeat(78) + "\n",
  );
}

/** A notebook whose outputs are every plot builder, and math that stresses the renderer. */
function galleryNotebook(): Notebook {
  plot.resetFigureIds();
  const xs = Array.from({ length: 30 }, (_, i) => i / 5);
  const f = (x: number, y: number) => x * x + 8 * y * y;
  const history = (s: number) => ({
    epoch: [0, 1, 2, 3, 4],
    trainLoss: [1, 0.6, 0.4, 0.3, 0.25].map((v) => v * s),
    valLoss: [1.1, 0.7, 0.55, 0.5, 0.52].map((v) => v * s),
    trainAcc: [0.5, 0.7, 0.8, 0.85, 0.9],
    valAcc: [0.45, 0.65, 0.72, 0.75, 0.74],
    bestEpoch: 3,
  });
  const figures: plot.Figure[] = [
    plot.line(xs, { sin: xs.map(Math.sin), cos: xs.map(Math.cos) }, { title: "line" }),
    plot.scatter(xs, xs.map((x) => x % 2), {
      groups: xs.map((x) => Math.round(x) % 2),
      title: "scatter",
    }),
    plot.histogram({ a: xs, b: xs.map((x) => x / 2) }, { bins: 10, title: "histogram" }),
    plot.bar(["SGD", "Adam"], { train: [0.9, 0.95], val: [0.8, 0.85] }, { title: "bar" }),
    plot.trainingCurves({ small: history(1), large: history(1.2) }, { title: "trainingCurves" }),
    plot.contourPaths(f, {
      xRange: [-2, 2],
      yRange: [-1, 1],
      resolution: 40,
      paths: [{ name: "GD", points: [[-1.8, 0.8], [-1.5, -0.6], [-1.2, 0.5], [-1, -0.3]] }],
      minimum: [0, 0],
      title: "contourPaths",
    }),
    plot.heatmap([[1, -1, 0.5], [0, 2, -2]], { diverging: true, title: "heatmap" }),
    plot.surface3d(f, {
      xRange: [-2, 2],
      yRange: [-1, 1],
      resolution: 20,
      paths: [{ name: "GD", points: [[-1.8, 0.8], [-1, -0.3]] }],
      title: "surface3d",
    }),
    plot.slider(
      [0.5, 1, 2].map((k) => ({ label: k, data: plot.line(xs, xs.map((x) => k * x)) })),
      { sliderLabel: "k", title: "slider" },
    ),
    plot.decisionBoundary(
      (pts) => pts.map(([x, y]) => 1 / (1 + Math.exp(-4 * (x * x + y * y - 1)))),
      {
        xRange: [-2, 2],
        yRange: [-2, 2],
        resolution: 40,
        points: { x: [0, 0.2, 1.5, -1.6], y: [0, -0.3, 1.2, 0.4], groups: [0, 0, 1, 1] },
        title: "decisionBoundary",
      },
    ),
    plot.subplots([plot.line([1, 2, 3], { title: "a" }), plot.line([3, 1, 2], { title: "b" })], {
      title: "subplots",
    }),
  ];
  const outputs: Output[] = figures.map((fig, i) => ({
    output_type: "execute_result",
    execution_count: i + 1,
    data: fig.toMimeBundle() as unknown as Record<string, unknown>,
    metadata: {},
  }));
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: [
      {
        cell_type: "markdown",
        metadata: {},
        source: [
          "# Gallery of figures and formulas\n",
          "\n",
          "Inline $\\hat{y}_i = \\sigma(w^\\top x_i + b)$, $a_1 * b_2$ and $\\|w\\|_2^2$.\n",
          "\n",
          "## Display math with $\\lambda$\n",
          "\n",
          "$$\n\\begin{aligned}\nm_t &= \\beta_1 m_{t-1} + (1-\\beta_1) g_t \\\\\n",
          "v_t &= \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2\n\\end{aligned}\n$$\n",
          "\n",
          "| rule | update |\n|---|---|\n| SGD | $w \\leftarrow w - \\eta g$ |\n",
        ],
      },
      ...outputs.map((o, i) => ({
        cell_type: "code" as const,
        metadata: {},
        source: `figure ${i + 1}`,
        outputs: [o],
        execution_count: i + 1,
      })),
    ],
  };
}

interface PageReport {
  plots: number;
  rendered: number;
  /** 3-D figures whose WebGL canvas is missing or that show Plotly's "WebGL not supported". */
  brokenGl: string[];
  maths: number;
  mathsWithKatex: number;
  katexErrors: number;
  rawMath: string[];
  brokenTocLinks: string[];
  katexFontLoaded: boolean;
}

async function inspect(page: Page): Promise<PageReport> {
  // Every figure reports data-rendered after Plotly.newPlot resolved (or the wait times out).
  await page.waitForFunction(
    () => {
      const plots = document.querySelectorAll(".plot");
      return [...plots].every((p) => p.getAttribute("data-rendered") === "true");
    },
    undefined,
    { timeout: 30_000 },
  ).catch(() => {});
  await page.evaluate(() => document.fonts.ready);
  return await page.evaluate(() => {
    const plots = [...document.querySelectorAll(".plot")];
    const maths = [...document.querySelectorAll(".math")];
    // Text that markdown shows, without formulas and code: a raw "$...$" there is unrendered math.
    const raw: string[] = [];
    for (const el of document.querySelectorAll(".cell.markdown, .output-markdown")) {
      const clone = el.cloneNode(true) as HTMLElement;
      clone.querySelectorAll(".katex, code, pre").forEach((n) => n.remove());
      const m = (clone.textContent ?? "").match(/\$[^$\n]+\$|\$\$/g);
      if (m) raw.push(...m);
    }
    const brokenGl = plots.filter((p) => {
      const json = document.querySelector(`script.plot-data[data-target="${p.id}"]`)?.textContent;
      const types: string[] = JSON.parse(json ?? '{"data":[]}').data.map((t: { type?: string }) =>
        t.type
      );
      if (!types.some((t) => t === "surface" || t === "scatter3d")) return false;
      return p.querySelector(".gl-container canvas") === null || /WebGL/.test(p.textContent ?? "");
    }).map((p) => p.id);
    const broken = [...document.querySelectorAll('nav.toc a[href^="#"]')]
      .map((a) => a.getAttribute("href")!.slice(1))
      .filter((id) => !document.getElementById(id));
    return {
      plots: plots.length,
      rendered: plots.filter((p) => p.querySelector("svg.main-svg") !== null).length,
      brokenGl,
      maths: maths.length,
      mathsWithKatex: maths.filter((m) => m.querySelector(".katex") !== null).length,
      katexErrors: document.querySelectorAll(".katex-error").length,
      rawMath: raw,
      brokenTocLinks: broken,
      katexFontLoaded: maths.length === 0 || document.fonts.check("16px KaTeX_Main"),
    };
  });
}

/**
 * In the page: pairs of text boxes in one figure that overlap by more than 2 px in both
 * directions (a bounding box includes the font's line gap, so touching lines overlap by ~1 px),
 * and text that sticks out of its figure.
 */
function figureTextProblems(rootSelector?: string): string[] {
  const SELECTORS = [
    ".gtitle",
    ".g-xtitle text",
    ".g-ytitle text",
    ".xtick text",
    ".ytick text",
    ".annotation-text-g text",
    ".legendtext",
    ".cbtitle text",
    ".cbaxis text",
    ".slider-group text",
  ];
  const problems: string[] = [];
  for (const [k, plotEl] of [...document.querySelectorAll(rootSelector ?? ".plot")].entries()) {
    const name = plotEl.id || `${rootSelector} ${k + 1}`;
    const boxes: { what: string; r: DOMRect }[] = [];
    const seen = new Set<Element>();
    for (const sel of SELECTORS) {
      for (const el of plotEl.querySelectorAll(sel)) {
        if (seen.has(el)) continue;
        seen.add(el);
        const r = el.getBoundingClientRect();
        const text = (el.textContent ?? "").trim();
        if (r.width < 1 || r.height < 1 || text === "") continue;
        if (getComputedStyle(el).visibility === "hidden") continue;
        boxes.push({ what: `${sel} "${text.slice(0, 40)}"`, r });
      }
    }
    const pr = plotEl.getBoundingClientRect();
    for (const b of boxes) {
      if (b.r.left < pr.left - 2 || b.r.right > pr.right + 2) {
        problems.push(`${name}: ${b.what} sticks out of the figure`);
      }
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 2 && h > 2) {
          problems.push(
            `${name}: ${boxes[i].what} overlaps ${boxes[j].what} (${w.toFixed(0)}x${
              h.toFixed(0)
            } px)`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * In the page: for every figure, as drawn and after its slider moved to each step, titles and
 * panel headings that stick out of the figure (clipped), and a mode bar on top of one.
 */
async function titleProblems(): Promise<string[]> {
  // deno-lint-ignore no-explicit-any
  const Plotly = (window as any).Plotly;
  const problems: string[] = [];
  const check = (el: Element, when: string) => {
    const pr = el.getBoundingClientRect();
    const titles = [...el.querySelectorAll(".gtitle, .annotation-text-g text")].filter((t) =>
      (t.textContent ?? "").trim() !== "" && t.getBoundingClientRect().width > 0
    );
    const bar = el.querySelector(".modebar-container .modebar");
    const mb = bar && getComputedStyle(bar.parentElement!).display !== "none"
      ? bar.getBoundingClientRect()
      : null;
    for (const t of titles) {
      const r = t.getBoundingClientRect();
      const what = `"${(t.textContent ?? "").trim().slice(0, 50)}"`;
      if (r.left < pr.left - 2 || r.right > pr.right + 2 || r.top < pr.top - 2) {
        problems.push(`${el.id} ${when}: title ${what} clipped at the figure's edge`);
      }
      if (
        mb && mb.width > 0 &&
        Math.min(mb.right, r.right) - Math.max(mb.left, r.left) > 0 &&
        Math.min(mb.bottom, r.bottom) - Math.max(mb.top, r.top) > 0
      ) problems.push(`${el.id} ${when}: the mode bar covers title ${what}`);
    }
  };
  for (const el of document.querySelectorAll(".plot")) {
    check(el, "as drawn");
    // deno-lint-ignore no-explicit-any
    const frames: { name: string }[] = (el as any)._transitionData?._frames ?? [];
    for (const fr of frames) {
      await Plotly.animate(el, [fr.name], {
        mode: "immediate",
        frame: { duration: 0, redraw: true },
        transition: { duration: 0 },
      });
      check(el, `at slider step ${fr.name}`);
    }
  }
  return problems;
}

/** Waits until the page script has drawn every figure (or failed on one, which throws). */
async function waitForFigures(page: Page, layout?: "narrow"): Promise<void> {
  await page.waitForFunction(
    (layout) =>
      [...document.querySelectorAll(".plot")].every((p) =>
        p.getAttribute("data-rendered") === "error" ||
        (p.getAttribute("data-rendered") === "true" &&
          (!layout || p.getAttribute("data-layout") === layout))
      ),
    layout,
    { timeout: 60_000 },
  );
  const errors = await page.evaluate(() =>
    [...document.querySelectorAll(".plot[data-rendered='error']")].map((p) =>
      `${p.id}: ${p.getAttribute("data-error")}`
    )
  );
  assert.deepEqual(errors, [], "figures the page script failed to draw");
}

/** The source of every folded code cell of a handout page, as the page shows it. */
async function foldedSources(path: string): Promise<string[]> {
  const html = await Deno.readTextFile(path);
  const out: string[] = [];
  for (
    const m of html.matchAll(
      /<details class="source-fold[^"]*">[\s\S]*?<pre[^>]*>([\s\S]*?)<\/pre>/g,
    )
  ) {
    out.push(
      m[1].replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"').replace(
          /&#x([0-9a-f]+);/gi,
          (_, h) => String.fromCodePoint(parseInt(h, 16)),
        )
        .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&amp;/g, "&"),
    );
  }
  return out;
}

/**
 * Text of a PDF (pdftotext from poppler-utils); `raw` keeps the order the text was drawn in
 * (code with runs of spaces would otherwise be split into columns).
 */
async function pdfText(path: string, raw = false): Promise<string> {
  const r = await new Deno.Command("pdftotext", { args: [...(raw ? ["-raw"] : []), path, "-"] })
    .output();
  assert.ok(r.success, `pdftotext ${path}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

/**
 * For each page of a PDF, the blank fraction of its body (between the 14 mm top and 18 mm
 * bottom margins) below the lowest inked row, from 24 dpi grey images (pdftoppm).
 */
async function blankBelow(path: string): Promise<number[]> {
  const dir = await Deno.makeTempDir();
  try {
    const r = await new Deno.Command("pdftoppm", { args: ["-gray", "-r", "24", path, `${dir}/p`] })
      .output();
    assert.ok(r.success, `pdftoppm ${path}: ${new TextDecoder().decode(r.stderr)}`);
    const out: number[] = [];
    for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
      const b = await Deno.readFile(`${dir}/${name}`);
      // Binary PGM: "P5", width, height, maxval, separated by whitespace, then the pixels.
      const fields: string[] = [];
      let pos = 0;
      while (fields.length < 4) {
        while (b[pos] === 0x20 || b[pos] === 0x0a) pos++;
        let s = "";
        while (b[pos] !== 0x20 && b[pos] !== 0x0a) s += String.fromCharCode(b[pos++]);
        fields.push(s);
      }
      pos++;
      const [w, h] = [Number(fields[1]), Number(fields[2])];
      const top = Math.round((h * 14) / 297), bottom = h - Math.round((h * 18) / 297);
      let last = top;
      for (let y = top; y < bottom; y++) {
        for (let x = 0; x < w; x++) {
          if (b[pos + y * w + x] < 235) {
            last = y;
            break;
          }
        }
      }
      out.push((bottom - last) / (bottom - top));
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Titles of the Plotly figures of an executed notebook, tags removed. */
function figureTitles(nb: Notebook): string[] {
  const titles: string[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    for (const o of cell.outputs) {
      if (o.output_type !== "display_data" && o.output_type !== "execute_result") continue;
      const fig = o.data["application/vnd.plotly.v1+json"] as
        | { layout?: { title?: string | { text?: string } } }
        | undefined;
      const t = fig?.layout?.title;
      const text = typeof t === "string" ? t : t?.text;
      if (text) titles.push(text.replace(/<br\s*\/?>/gi, " ").replace(/<[^>]*>/g, ""));
    }
  }
  return titles;
}

let building: ReturnType<typeof buildHandouts> | null = null;
/** Runs every notebook on the Deno kernel and exports its handout, once for both tests below. */
function builtHandouts(): ReturnType<typeof buildHandouts> {
  building ??= (async () => {
    await Deno.remove(OUT, { recursive: true }).catch(() => {});
    return await buildHandouts(
      [...Deno.readDirSync(`${ROOT}notebooks`)]
        .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
        .map((e) => `${ROOT}notebooks/${e.name}`).sort(),
      // A line per notebook: the build takes half a minute and a silent test looks hung.
      { notebooksDir: `${OUT}/notebooks`, handoutsDir: `${OUT}/handouts`, log: console.log },
    );
  })();
  return building;
}

// Needs no browser: the lecture notebooks run end to end on every machine.
Deno.test({
  name: "every notebook runs green on the Deno kernel and is exported to a handout",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const built = await builtHandouts();
    const failures = built.run.runs.filter((r) => r.status !== "ok").map((r) =>
      r.message ?? r.path
    );
    const expected = [...Deno.readDirSync(`${ROOT}notebooks`)]
      .filter((e) => e.isFile && e.name.endsWith(".ipynb")).length;
    assert.ok(expected >= 13, `the welcome notebook and twelve lectures, found ${expected}`);
    assert.equal(built.run.runs.length, expected, "every notebook ran");
    assert.deepEqual(failures, [], "every notebook runs green");
    assert.equal(built.export.pages.length, expected, "every notebook has a handout");
    assert.ok(built.ok, `handouts did not build:\n${failures.join("\n")}`);
  },
});

// Needs no browser: reads the executed notebooks of the build above.
Deno.test({
  name: "every lecture notebook ends with a claims table whose claims fail under their rivals",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await builtHandouts();
    const problems: string[] = [];
    const lectures = [...Deno.readDirSync(`${OUT}/notebooks`)]
      .map((e) => e.name).filter((n) => /^\d\d_.*\.ipynb$/.test(n) && !n.startsWith("00_")).sort();
    assert.ok(lectures.length >= 12, `twelve lecture notebooks executed, found ${lectures.length}`);
    for (const name of lectures) {
      const nb = await readNotebook(`${OUT}/notebooks/${name}`);
      for (const p of claimProblems(nb)) problems.push(`${name}: ${p}`);
    }
    assert.deepEqual(problems, []);
  },
});

Deno.test({
  name: "handouts in Chromium: hostile notebook, every page offline, 390 px, PDF, plot fallback",
  ignore: !haveChromium && !inCI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    assert.ok(
      haveChromium,
      `CI=true but ${CHROMIUM} is missing: install it (apt-get install -y chromium; .ci/run does)`,
    );
    await Deno.mkdir(SHOTS, { recursive: true });
    const built = await builtHandouts(); // before the browser starts: the kernels get the cores
    const browser: Browser = await launchChromium();
    /** A context that aborts and records every request that is not a local file. */
    const offline = async (width: number, external: string[]): Promise<BrowserContext> => {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file://") || url.startsWith("data:")) return route.continue();
        external.push(url);
        return route.abort();
      });
      return context;
    };
    try {
      await t.step("a hostile notebook runs no script and reaches no network", async () => {
        const s = await exportNotebooks(
          [{ name: "hostile.ipynb", notebook: hostileNotebook() }],
          `${OUT}/hostile`,
        );
        assert.ok(s.ok, JSON.stringify(s.errors));
        const external: string[] = [];
        const context = await offline(1280, external);
        for (const name of ["hostile.html", "index.html"]) {
          const page = await context.newPage();
          const dialogs: string[] = [];
          page.on("dialog", (d) => {
            dialogs.push(`${d.type()}: ${d.message()}`);
            d.dismiss().catch(() => {});
          });
          const errors: string[] = [];
          page.on("pageerror", (e) => errors.push(e.message));
          await page.goto(`file://${OUT}/hostile/${name}`, { waitUntil: "load" });
          await waitForFigures(page);
          // Give late handlers (onload of images, meta refresh) their chance.
          await page.waitForTimeout(500);
          const r = await page.evaluate(() => {
            const all = [...document.querySelectorAll("*")];
            return {
              handlers: all.flatMap((e) =>
                [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) =>
                  `${e.tagName}.${a.name}`
                )
              ),
              badUrls: all.flatMap((e) =>
                ["href", "src", "action", "data", "formaction"].map((k) => e.getAttribute(k))
                  .filter((v): v is string =>
                    v !== null && /^\s*(javascript|vbscript|data:text)/i.test(v)
                  )
              ),
              forbidden: document.querySelectorAll(
                "body script:not([src]):not([type='application/json']), iframe, object, embed, " +
                  "form, base, meta[http-equiv='refresh'], link:not([href^='assets/'])",
              ).length,
              plots: document.querySelectorAll(".plot svg.main-svg").length > 0,
              katex: document.querySelectorAll(".katex").length,
              tables: document.querySelectorAll("table").length,
              details: document.querySelectorAll("details summary").length,
              kbd: document.querySelectorAll("kbd").length,
              title: document.title,
            };
          });
          assert.deepEqual(dialogs, [], `${name}: dialogs fired`);
          assert.deepEqual(r.handlers, [], `${name}: event handler attributes in the DOM`);
          assert.deepEqual(r.badUrls, [], `${name}: script URLs in the DOM`);
          assert.equal(r.forbidden, 0, `${name}: forbidden elements in the DOM`);
          assert.deepEqual(errors, [], `${name}: page errors`);
          if (name === "hostile.html") {
            assert.ok(r.plots, "the Plotly figure is drawn");
            assert.ok(r.katex >= 5, `formulas rendered (${r.katex})`);
            assert.ok(r.tables >= 2, `markdown and HTML tables kept (${r.tables})`);
            assert.ok(r.details >= 1 && r.kbd >= 1, "<details> and <kbd> kept");
            await page.locator("details summary").first().click();
            assert.ok(await page.locator("details kbd").isVisible(), "<details> opens");
          } else {
            assert.ok(r.katex >= 1, "the summary's formula is rendered on the index");
          }
          await page.close();
        }
        assert.deepEqual(external, [], "pages must not reach the network");
        await context.close();
      });

      assert.ok(built.ok, "the handouts did not build: see the test above");
      const gallery = await exportNotebooks(
        [{ name: "gallery.ipynb", notebook: galleryNotebook() }],
        `${OUT}/gallery`,
      );
      assert.ok(gallery.ok && gallery.pages[0].warnings.length === 0, JSON.stringify(gallery));
      const pages = [
        `${OUT}/handouts/index.html`,
        ...built.export.pages.map((p) => `${OUT}/handouts/${p.href}`),
        `${OUT}/gallery/gallery.html`,
      ];
      const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1).replace(/\.html$/, "");

      await t.step(
        "every page renders offline (plots, math, no console errors); at 1280 and 390 px no title is clipped after a slider moves or under the mode bar; at 390 px no text of a figure overlaps another",
        async (t) => {
          const external: string[] = [];
          const context = await offline(1280, external);
          // Two pages at a time: rendering is CPU-bound and the machine has two cores.
          const checkPage = (path: string) => {
            const name = nameOf(path);
            return t.step({
              name,
              sanitizeOps: false,
              sanitizeResources: false,
              sanitizeExit: false,
              fn: async () => {
                const page = await context.newPage();
                const problems: string[] = [];
                page.on("console", (m) => {
                  if (m.type() === "error") problems.push(`console.error: ${m.text()}`);
                });
                page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
                page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
                await page.goto(`file://${path}`, { waitUntil: "load" });
                const r = await inspect(page);
                const expectedPlots = name === "index"
                  ? 0
                  : (await Deno.readTextFile(path)).split('class="plot-data"').length - 1;
                assert.equal(r.plots, expectedPlots, `${name}: plot containers on the page`);
                assert.equal(
                  r.rendered,
                  r.plots,
                  `${name}: ${r.plots - r.rendered} Plotly figure(s) not drawn`,
                );
                assert.deepEqual(r.brokenGl, [], `${name}: 3-D figures without WebGL drawing`);
                assert.equal(r.mathsWithKatex, r.maths, `${name}: formulas without KaTeX markup`);
                assert.equal(r.katexErrors, 0, `${name}: KaTeX errors on the page`);
                assert.deepEqual(r.rawMath, [], `${name}: raw $...$ left in the text`);
                assert.deepEqual(r.brokenTocLinks, [], `${name}: TOC links without a target`);
                assert.ok(r.katexFontLoaded, `${name}: the KaTeX fonts did not load from assets/`);
                if (name === "gallery") {
                  assert.equal(r.plots, 11);
                  assert.ok(r.maths >= 6, `gallery has its formulas (${r.maths})`);
                  // The slider's frames animate: the drawn trace takes the frame's data.
                  const moved = await page.evaluate(async () => {
                    // deno-lint-ignore no-explicit-any
                    const w = window as any;
                    const el = [...document.querySelectorAll(".plot")].find((p) =>
                      // deno-lint-ignore no-explicit-any
                      ((p as any).layout?.sliders ?? []).length > 0
                      // deno-lint-ignore no-explicit-any
                    ) as any;
                    await w.Plotly.animate(el, ["2"], {
                      mode: "immediate",
                      frame: { duration: 0, redraw: true },
                      transition: { duration: 0 },
                    });
                    return el.data[0].y.slice(0, 3);
                  });
                  assert.deepEqual(moved, [0, 0.4, 0.8], "slider frame k=2 shows y = 2x");
                }
                if (name !== "index" && name !== "gallery") {
                  const nav = await page.evaluate(() => ({
                    sticky: getComputedStyle(document.querySelector(".topbar")!).position,
                    download: document.querySelector("a.download")?.getAttribute("href") ?? null,
                  }));
                  assert.equal(nav.sticky, "sticky", "the top bar stays on screen");
                  assert.equal(nav.download, `ipynb/${name}.ipynb`);
                }
                await page.screenshot({ path: `${SHOTS}/${name}.png` });
                if (name !== "index") {
                  assert.deepEqual(
                    await page.evaluate(titleProblems),
                    [],
                    `${name} at 1280 px: titles clipped or under the mode bar`,
                  );
                }
                if (name !== "index") {
                  // A phone: the same page at 390 px. The page script redraws every figure in its
                  // narrow layout; then no text box of a figure may overlap another.
                  await page.setViewportSize({ width: 390, height: 844 });
                  await waitForFigures(page, "narrow");
                  const width = await page.evaluate(() => document.documentElement.scrollWidth);
                  assert.ok(
                    width <= 390,
                    `${name}: the page scrolls sideways at 390 px (${width})`,
                  );
                  assert.deepEqual(
                    await page.evaluate(figureTextProblems, ".plot"),
                    [],
                    `${name} at 390 px`,
                  );
                  assert.deepEqual(
                    await page.evaluate(titleProblems),
                    [],
                    `${name} at 390 px: titles clipped or under the mode bar`,
                  );
                  if (/^(0[1-9]|1\d)_/.test(name)) {
                    // The claims table (lib/claim.ts) on a phone: there, shown, every number
                    // on one line (a number broken digit by digit cannot be read).
                    const claims = await page.evaluate(() => {
                      const tables = [...document.querySelectorAll("table.kit-claims")];
                      const t = tables[0] as HTMLElement | undefined;
                      const broken = t
                        ? [...t.querySelectorAll("td")].filter((td) =>
                          /^[-+−]?[\d.]+(e[-+−]?\d+)?( ± [\d.]+(e[-+−]?\d+)?)?$/.test(
                            (td.textContent ?? "").trim(),
                          ) &&
                          (() => {
                            const r = document.createRange();
                            r.selectNodeContents(td);
                            const tops = new Set(
                              [...r.getClientRects()].map((b) => Math.round(b.top)),
                            );
                            return tops.size > 1;
                          })()
                        ).map((td) => td.textContent)
                        : [];
                      return {
                        count: tables.length,
                        rows: t ? t.querySelectorAll("tbody tr").length : 0,
                        height: t ? t.getBoundingClientRect().height : 0,
                        broken,
                      };
                    });
                    assert.equal(claims.count, 1, `${name}: one claims table`);
                    assert.ok(claims.rows > 0 && claims.height > 0, `${name}: claims table shown`);
                    assert.deepEqual(
                      claims.broken,
                      [],
                      `${name} at 390 px: numbers broken in the claims table`,
                    );
                  }
                  await page.screenshot({ path: `${SHOTS}/${name}-390.png` });
                }
                assert.deepEqual(problems, [], `${name}: errors in the browser`);
                await page.close();
              },
            });
          };
          const queue = [...pages];
          await Promise.all([0, 1].map(async () => {
            for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
              await checkPage(path);
            }
          }));
          assert.deepEqual(external, [], "pages must not reach the network");
          await context.close();
        },
      );

      await t.step(
        "PDF: every figure title in the text, no page but the last half blank",
        async () => {
          if (!havePoppler && !inCI) {
            console.warn(
              "\n!! SKIPPING the PDF checks: pdftotext/pdftoppm not found " +
                "(apt-get install -y poppler-utils); with CI=true they fail instead.\n",
            );
            return;
          }
          assert.ok(havePoppler, "CI=true but poppler-utils (pdftotext, pdftoppm) is missing");
          // Two notebooks (the first, and one with slider figures) keep the test short; the
          // command prints all of them the same way.
          const chosen = built.export.pages.filter((p) => /^0[01]_/.test(p.href));
          assert.equal(chosen.length, 2);
          const pdf = await writePdfs(chosen.map((p) => p.path), {
            outDir: `${OUT}/handouts/pdf`,
            browser,
          });
          assert.deepEqual(pdf.errors, []);
          for (const p of chosen) {
            const file = `${OUT}/handouts/pdf/${p.href.replace(/\.html$/, ".pdf")}`;
            assert.ok(pdf.written.includes(file), `${file} written`);
            await Deno.copyFile(file, `${SHOTS}/${file.slice(file.lastIndexOf("/") + 1)}`);
            const text = (await pdfText(file)).replace(/\s+/g, "");
            const nb = JSON.parse(await Deno.readTextFile(`${OUT}/notebooks/${p.notebook}`));
            const titles = figureTitles(nb);
            if (p.href.startsWith("01_")) assert.ok(titles.length >= 3, "01 has figures");
            for (const title of titles) {
              assert.ok(
                text.includes(title.replace(/\s+/g, "")),
                `${p.href}: "${title}" not in the PDF`,
              );
            }
            assert.ok(text.includes(p.title.replace(/\s+/g, "")), "the title is in the footer");
            assert.match(text, /1\/\d+/, "page numbers in the footer");
            const blank = await blankBelow(file);
            const bad = blank.slice(0, -1).map((b, i) => [i + 1, b]).filter(([, b]) => b > 0.5);
            assert.deepEqual(bad, [], `${p.href}: pages more than half blank [page, fraction]`);
            // Folded code prints in full: every line of every folded cell is in the text.
            const folded = await foldedSources(p.path);
            const drawn = (await pdfText(file, true)).replace(/\s+/g, "");
            if (p.href.startsWith("01_")) assert.ok(folded.length >= 3, "01 folds code cells");
            for (const src of folded) {
              const missing = src.split("\n").map((l) => l.replace(/\s+/g, ""))
                .filter((l) => l !== "" && !drawn.includes(l));
              assert.deepEqual(missing, [], `${p.href}: folded code lines not in the PDF`);
            }
          }
          // The page as printed: every slider's grid of steps, each panel naming its step, no
          // panel title on a tick label.
          const page = await browser.newPage({ viewport: { width: 680, height: 1000 } });
          try {
            const one = chosen.find((p) => p.href.startsWith("01_"))!;
            await page.goto(`file://${one.path}`, { waitUntil: "load" });
            await waitForFigures(page);
            await page.evaluate(() =>
              // deno-lint-ignore no-explicit-any
              (window as any).kitPreparePrint()
            );
            await page.emulateMedia({ media: "print" });
            const grids = await page.evaluate(() =>
              [...document.querySelectorAll(".print-frames")].map((g) => ({
                heading: g.querySelector(".print-frames-title")?.textContent ?? "",
                panels: [...g.querySelectorAll(".print-frame")].map((f) =>
                  f.querySelector(".gtitle")?.textContent ?? ""
                ),
                drawn: g.querySelectorAll(".print-frame svg.main-svg").length > 0,
              }))
            );
            assert.ok(
              grids.length >= 2,
              `01 has slider figures printed as grids (${grids.length})`,
            );
            for (const g of grids) {
              assert.ok(g.drawn, `grid "${g.heading}" drawn`);
              // The panels name different steps, and the heading names no single one of them.
              assert.equal(new Set(g.panels).size, g.panels.length, `panels of "${g.heading}"`);
              assert.match(g.heading, /step of the slider/);
            }
            assert.deepEqual(
              await page.evaluate(figureTextProblems, ".print-frame"),
              [],
              "01 printed: panel titles on tick labels",
            );
          } finally {
            await page.close();
          }
        },
      );

      await t.step(
        "nbconvert --to html of every executed notebook, read without JavaScript: one image per figure",
        async () => {
          if (!haveNbconvert && !inCI) {
            console.warn("\n!! SKIPPING the nbconvert check: jupyter-nbconvert not found.\n");
            return;
          }
          const dir = `${OUT}/nbconvert`;
          const sources = built.run.runs.map((r) =>
            `${OUT}/notebooks/${r.path.slice(r.path.lastIndexOf("/") + 1)}`
          );
          const r = await new Deno.Command("jupyter", {
            args: ["nbconvert", "--to", "html", "--output-dir", dir, ...sources],
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.ok(r.success, `nbconvert: ${new TextDecoder().decode(r.stderr).slice(-2000)}`);
          const context = await browser.newContext({
            javaScriptEnabled: false,
            viewport: { width: 1280, height: 900 },
          });
          await context.route("**/*", (route) => {
            const url = route.request().url();
            return url.startsWith("file://") || url.startsWith("data:")
              ? route.continue()
              : route.abort();
          });
          try {
            for (const src of sources) {
              const nb = JSON.parse(await Deno.readTextFile(src)) as Notebook;
              const figures = nb.cells.flatMap((c) => c.cell_type === "code" ? c.outputs : [])
                .filter((o) =>
                  (o.output_type === "display_data" || o.output_type === "execute_result") &&
                  o.data["application/vnd.plotly.v1+json"] !== undefined
                ).length;
              const html = `${dir}/${
                src.slice(src.lastIndexOf("/") + 1).replace(/\.ipynb$/, ".html")
              }`;
              const page = await context.newPage();
              await page.goto(`file://${html}`, { waitUntil: "load" });
              await page.waitForFunction(
                () => [...document.images].every((i) => i.complete),
                undefined,
                { timeout: 60_000 },
              );
              const got = await page.evaluate(() => ({
                figures: document.querySelectorAll(".kit-plot").length,
                shown: [...document.querySelectorAll(".kit-plot")].filter((f) => {
                  const imgs = f.querySelectorAll("img");
                  return imgs.length === 1 && imgs[0].naturalWidth >= 300 &&
                    imgs[0].getBoundingClientRect().height > 100;
                }).length,
                images: document.querySelectorAll('img[src^="data:image/png"]').length,
              }));
              const name = html.slice(html.lastIndexOf("/") + 1);
              assert.equal(got.figures, figures, `${name}: figure outputs in the HTML`);
              assert.equal(got.shown, figures, `${name}: figures showing their image`);
              assert.equal(got.images, figures, `${name}: one image per figure, no more`);
              await page.close();
            }
          } finally {
            await context.close();
          }
        },
      );

      await t.step(
        "figure images: deterministic, and a slider figure at its default step",
        async () => {
          // The build drew 00's figures; drawing them again gives the same bytes.
          const built0 = `${OUT}/notebooks/00_welcome.ipynb`;
          const copy = `${OUT}/00_welcome-again.ipynb`;
          await Deno.copyFile(built0, copy);
          const again = await addFigureImages([copy], { browser });
          assert.deepEqual(again.errors, []);
          const pngs = async (path: string) =>
            (JSON.parse(await Deno.readTextFile(path)) as Notebook).cells.flatMap((c) =>
              c.cell_type === "code" ? c.outputs : []
            ).flatMap((o) =>
              (o.output_type === "display_data" || o.output_type === "execute_result") &&
                o.data["image/png"] !== undefined
                ? [{ png: String(o.data["image/png"]), html: String(o.data["text/html"]) }]
                : []
            );
          const first = await pngs(built0), second = await pngs(copy);
          assert.ok(first.length >= 3, `00 has figures with images (${first.length})`);
          assert.equal(second.length, first.length);
          first.forEach((f, i) => {
            assert.ok(
              f.png === second[i].png,
              `figure ${i + 1}: the image changed between two runs`,
            );
            assert.ok(
              f.html.includes(`data:image/png;base64,${f.png}"`),
              "the same image in the HTML",
            );
          });
          // 00's first figure is a slider at its first step (λ = 0): its HTML names that step.
          assert.match(first[0].html, /\(λ = 0, step 1 of 6\)/);
          await Deno.remove(copy);
        },
      );

      await t.step(
        "the text/html fallback of lib/plot.ts draws, loading plotly.js once",
        async () => {
          plot.resetFigureIds();
          // Two figures in one output area, as Jupyter front ends without a Plotly renderer show them.
          const html = [
            plot.line([1, 3, 2], { title: "first" }),
            plot.slider([1, 2].map((k) => ({ label: k, data: plot.line([0, 1], [0, k]) })), {
              sliderLabel: "k",
            }),
          ].map((f) => f.toMimeBundle()["text/html"]).join("\n");
          const dir = await Deno.makeTempDir();
          await Deno.writeTextFile(
            `${dir}/fallback.html`,
            `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>${html}</body></html>`,
          );
          const plotlyFile = new URL(import.meta.resolve("plotly.js-dist-min")).pathname;
          const page = await browser.newPage();
          try {
            const cdn: string[] = [];
            const problems: string[] = [];
            page.on("console", (m) => {
              if (m.type() === "error") problems.push(m.text());
            });
            page.on("pageerror", (e) => problems.push(e.message));
            await page.route("**/*", async (route) => {
              const url = route.request().url();
              if (url === plot.PLOTLY_CDN) {
                cdn.push(url);
                // Answer the CDN slowly from the local copy: drawing must wait for it.
                await new Promise((r) => setTimeout(r, 500));
                return route.fulfill({
                  body: await Deno.readTextFile(plotlyFile),
                  contentType: "application/javascript",
                });
              }
              if (url.startsWith("file://")) return route.continue();
              problems.push(`unexpected request ${url}`);
              return route.abort();
            });
            await page.goto(`file://${dir}/fallback.html`);
            await page.waitForFunction(
              () => document.querySelectorAll(".kit-plot svg.main-svg").length >= 2,
              undefined,
              { timeout: 30_000 },
            );
            const drawn = await page.evaluate(() =>
              [...document.querySelectorAll(".kit-plot")].map((d) =>
                d.querySelector("svg.main-svg") !== null
              )
            );
            assert.deepEqual(drawn, [true, true]);
            assert.deepEqual(cdn, [plot.PLOTLY_CDN], "plotly.js requested exactly once");
            assert.deepEqual(problems, []);
          } finally {
            await page.close();
            await Deno.remove(dir, { recursive: true });
          }
        },
      );
    } finally {
      await browser.close();
    }
  },
});
