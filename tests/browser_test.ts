/**
 * Browser test: the handouts, opened offline in headless Chromium (Debian's /usr/bin/chromium
 * driven by npm playwright-core), show every Plotly figure and every formula, with no console
 * error and no request to the network.
 *
 * It runs `buildHandouts` on every notebook (the real kernel) into dist/browser-test/, plus a
 * gallery page made from every builder of lib/plot.ts, then checks each page. Screenshots (and
 * a PDF of the first notebook, to judge the print style) go to dist/screenshots/.
 *
 * With CI=true the test must run: a missing Chromium fails it. Elsewhere it is skipped with a
 * loud message.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { buildHandouts } from "../tools/handouts.ts";
import { exportNotebooks } from "../tools/export.ts";
import type { Notebook, Output } from "../tools/notebook.ts";
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

Deno.test({
  name: "handouts render offline in Chromium: plots, math, no console errors, no network",
  ignore: !haveChromium && !inCI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    assert.ok(
      haveChromium,
      `CI=true but ${CHROMIUM} is missing: install it (apt-get install -y chromium; .ci/run does)`,
    );
    const notebooks = [...Deno.readDirSync(`${ROOT}notebooks`)]
      .filter((e) => e.isFile && e.name.endsWith(".ipynb")).map((e) => `${ROOT}notebooks/${e.name}`)
      .sort();
    assert.ok(notebooks.length > 0, "no notebooks in notebooks/");
    await Deno.remove(OUT, { recursive: true }).catch(() => {});
    const built = await buildHandouts(notebooks, {
      notebooksDir: `${OUT}/notebooks`,
      handoutsDir: `${OUT}/handouts`,
    });
    const failures = built.run.runs.filter((r) => r.status !== "ok").map((r) =>
      r.message ?? r.path
    );
    assert.ok(built.ok, `handouts did not build:\n${failures.join("\n")}`);
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
    await Deno.mkdir(SHOTS, { recursive: true });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--no-first-run",
          // 3-D figures need WebGL; without a GPU Chromium provides it in software only on request.
          "--enable-unsafe-swiftshader",
        ],
      });
      const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
      const external: string[] = [];
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file://") || url.startsWith("data:")) return route.continue();
        external.push(url);
        return route.abort();
      });
      for (const path of pages) {
        const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.html$/, "");
        await t.step(name, async () => {
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
          await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
          if (name.startsWith("00_")) {
            await page.emulateMedia({ media: "print" });
            const tocShown = await page.evaluate(() => {
              const toc = document.querySelector("nav.toc");
              return toc ? getComputedStyle(toc).display !== "none" : false;
            });
            assert.equal(tocShown, false, "print hides the sidebar");
            await page.pdf({ path: `${SHOTS}/${name}.pdf`, format: "A4", printBackground: true });
            await page.emulateMedia({ media: "screen" });
          }
          assert.deepEqual(problems, [], `${name}: errors in the browser`);
          await page.close();
        });
      }
      assert.deepEqual(external, [], "pages must not reach the network");
    } finally {
      await browser?.close();
    }
  },
});

Deno.test({
  name: "the text/html fallback of lib/plot.ts draws in a plain page, loading plotly.js once",
  ignore: !haveChromium && !inCI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(haveChromium, `CI=true but ${CHROMIUM} is missing`);
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
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      const page = await browser.newPage();
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
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
