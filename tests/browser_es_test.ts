/**
 * The Spanish edition end to end, built once (the notebooks generated from `i18n/es/*.po`, run
 * on the kernel and exported, as `deno task handouts --lang es` does, into
 * dist/browser-test-es/):
 *
 * - without a browser: every Spanish notebook runs green through the kit's runner, says
 *   `setLanguage("es")`, prints its claims as "✓ afirmación" and heads its claims table in
 *   Spanish, and its claims fail under their rivals as in English;
 * - through the installed kernel in nbconvert (`kernel:install` into a fresh Jupyter data
 *   folder): every Spanish notebook runs without an error and prints the same claim lines as
 *   through the runner;
 * - in Chromium, the same checks as the English handouts (tests/browser_test.ts): every page
 *   offline with its figures drawn and formulas rendered, no dialog, no console error, no
 *   request to the network; at 390 px no page scrolls sideways and no text box of a figure
 *   overlaps another or is cut off at its edge (the Spanish strings are longer); the page is
 *   `lang="es"` and links no English page that was not built; and in each notebook whose catalog
 *   translates a figure title, a figure on the page shows a translated title.
 *
 * With CI=true the browser and nbconvert parts must run; elsewhere they are skipped loudly when
 * Chromium or nbconvert is missing.
 */
import assert from "node:assert/strict";
import { basename } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildHandouts, studentPage } from "../tools/handouts.ts";
import { withoutOutputs } from "../tools/export/mod.ts";
import { launchChromium } from "../tools/export/pdf.ts";
import { type Notebook, readNotebook } from "../tools/notebook/io.ts";
import { claimProblems } from "../tools/notebook/claims.ts";
import { writeLocalized } from "../tools/i18n/cli.ts";
import { catalogPath, notebookStatus, readCatalog } from "../tools/i18n/catalog.ts";

const CHROMIUM = "/usr/bin/chromium";
const NBCONVERT = "/usr/bin/jupyter-nbconvert";
const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}dist/browser-test-es`;
const SHOTS = `${ROOT}dist/screenshots/es`;
const inCI = Deno.env.get("CI") === "true";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
const haveChromium = exists(CHROMIUM);
const haveNbconvert = exists(NBCONVERT);
for (
  const [have, what, fix] of [
    [haveChromium, `the Chromium checks (${CHROMIUM} not found)`, "apt-get install -y chromium"],
    [haveNbconvert, "the nbconvert run (jupyter-nbconvert not found)", "see .ci/run"],
  ] as const
) {
  if (!have && !inCI) {
    console.warn(
      `\n!! tests/browser_es_test.ts: SKIPPING ${what}; install it (${fix}). With CI=true ` +
        "this test fails instead.\n",
    );
  }
}

const sources = [...Deno.readDirSync(`${ROOT}notebooks`)]
  .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
  .map((e) => `${ROOT}notebooks/${e.name}`).sort();

let building: ReturnType<typeof build> | null = null;
async function build() {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  // Inside the kit, so the kernel finds deno.json's import map from the notebooks' folder.
  const generated = await writeLocalized(sources, "es", `${OUT}/src`);
  const broken = generated.filter((g) => g.error).map((g) => g.error);
  assert.deepEqual(broken, [], "the Spanish notebooks are generated");
  const handouts = await buildHandouts(generated.map((g) => g.written!), {
    notebooksDir: `${OUT}/notebooks`,
    handoutsDir: `${OUT}/handouts/es`,
    lang: "es",
    // The English edition is not built here: the pages must not link it.
    translations: [{ lang: "en", outDir: `${OUT}/handouts` }],
    transform: studentPage,
    download: withoutOutputs,
    log: console.log,
  });
  return { generated, handouts };
}
/** The Spanish edition, built once for every test of this file. */
function built(): ReturnType<typeof build> {
  building ??= build();
  return building;
}

/** The printed lines of an executed notebook that report a claim, in order. */
function claimLines(nb: Notebook): string[] {
  return nb.cells.flatMap((c) =>
    c.cell_type !== "code"
      ? []
      : c.outputs.flatMap((o) =>
        o.output_type === "stream"
          ? (Array.isArray(o.text) ? o.text.join("") : o.text).split("\n")
            .filter((l) => l.startsWith("✓ "))
          : []
      )
  );
}

Deno.test({
  name: "the Spanish notebooks run green on the Deno kernel, the kit's own words in Spanish",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { generated, handouts } = await built();
    for (const g of generated) {
      assert.equal(g.languageCalls, 1, `${g.path}: setLanguage("es") in its import cell`);
    }
    const failures = handouts.run.runs.filter((r) => r.status !== "ok").map((r) =>
      r.message ?? r.path
    );
    assert.deepEqual(failures, [], "every Spanish notebook runs green");
    assert.equal(handouts.export.pages.length, sources.length, "every notebook has a page");
    assert.ok(handouts.ok);
    const problems: string[] = [];
    for (const path of sources) {
      const name = basename(path);
      const nb = await readNotebook(`${OUT}/notebooks/${name}`);
      assert.equal(nb.metadata.lang, "es", name);
      if (name.startsWith("00_")) continue;
      const lines = claimLines(nb);
      assert.ok(lines.length > 0 && lines.every((l) => l.startsWith("✓ afirmación: ")), name);
      const html = JSON.stringify(nb.cells.flatMap((c) => c.cell_type === "code" ? c.outputs : []));
      assert.ok(html.includes("<th>afirmación</th><th>medido</th>"), `${name}: claims table`);
      for (const p of claimProblems(nb)) problems.push(`${name}: ${p}`);
    }
    assert.deepEqual(problems, [], "the claims hold, and fail under their rivals, in Spanish");
    // Each figure's static image (for untrusted notebooks) is described in Spanish.
    if (handouts.images && handouts.images.figures > 0) {
      const nb = await readNotebook(`${OUT}/notebooks/00_welcome.ipynb`);
      const html = JSON.stringify(nb.cells.flatMap((c) => c.cell_type === "code" ? c.outputs : []));
      assert.ok(html.includes("una imagen estática"), "the static image's caption in Spanish");
      assert.ok(!html.includes("a static image"));
    }
  },
});

Deno.test({
  name: "the Spanish notebooks run green through the installed kernel in nbconvert",
  ignore: !haveNbconvert && !inCI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(haveNbconvert, "CI=true but jupyter-nbconvert is missing (see .ci/run)");
    const { generated } = await built();
    const home = await Deno.makeTempDir({ prefix: "i18n_nbconvert_" });
    try {
      const env = { JUPYTER_DATA_DIR: `${home}/jupyter`, NO_COLOR: "1" };
      const install = await new Deno.Command(Deno.execPath(), {
        args: ["task", "kernel:install"],
        cwd: ROOT,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(install.success, new TextDecoder().decode(install.stderr));
      const files = generated.map((g) => g.written!);
      // Two nbconvert processes, a notebook at a time each: the machine has two cores.
      const halves = [files.filter((_, i) => i % 2 === 0), files.filter((_, i) => i % 2 === 1)];
      const runs = await Promise.all(halves.map((list) =>
        new Deno.Command(NBCONVERT, {
          args: [
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.kernel_name=deno-kit",
            "--ExecutePreprocessor.timeout=600",
            "--output-dir",
            `${home}/out`,
            ...list,
          ],
          cwd: `${OUT}/src`,
          env,
          stdout: "piped",
          stderr: "piped",
        }).output()
      ));
      for (const r of runs) {
        assert.ok(r.success, new TextDecoder().decode(r.stderr).slice(-3000));
      }
      for (const file of files) {
        const name = basename(file);
        const nb = await readNotebook(`${home}/out/${name}`);
        const errors = nb.cells.flatMap((c) =>
          c.cell_type === "code" ? c.outputs.filter((o) => o.output_type === "error") : []
        );
        assert.deepEqual(errors, [], `${name}: no error through nbconvert`);
        const runner = await readNotebook(`${OUT}/notebooks/${name}`);
        assert.deepEqual(
          claimLines(nb),
          claimLines(runner),
          `${name}: the same claim lines through nbconvert as through the kit's runner`,
        );
      }
    } finally {
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * The figure titles a notebook's catalog translates, as patterns of the text a drawn figure
 * shows (tags and blanks removed; a template's placeholders match anything).
 */
async function translatedTitles(path: string): Promise<RegExp[]> {
  const nb = await readNotebook(path);
  const cat = await readCatalog(catalogPath(path, "es"));
  const byCtx = new Map((cat?.entries ?? []).map((e) => [e.ctx, e.str]));
  const plain = (s: string) => s.replace(/<[^>]*>/g, "").replace(/\s+/g, "");
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return notebookStatus(nb, cat, path)
    .filter((s) => s.state === "ok" && s.unit.note === 'option "title"')
    .map(({ unit }) => {
      let text = byCtx.get(unit.ctx)!;
      const chunks: string[] = [];
      for (const p of unit.placeholders ?? []) {
        const at = text.indexOf(p.source);
        chunks.push(text.slice(0, at));
        text = text.slice(at + p.source.length);
      }
      chunks.push(text);
      // The literal's escapes as the figure shows them.
      const cooked = chunks.map((c) => c.replace(/\\(["'`\\])/g, "$1"));
      return new RegExp(cooked.map((c) => esc(plain(c))).join("[\\s\\S]*?"));
    });
}

/** In the page: the text of every figure title and panel heading, blanks removed. */
function shownTitles(): string[] {
  return [...document.querySelectorAll(".plot .gtitle, .plot .annotation-text-g text")]
    .map((t) => (t.textContent ?? "").replace(/\s+/g, ""));
}

/**
 * In the page: pairs of text boxes in one figure that overlap by more than 2 px in both
 * directions, and text that sticks out of its figure (as tests/browser_test.ts checks the
 * English pages).
 */
function figureTextProblems(): string[] {
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
  for (const plotEl of document.querySelectorAll(".plot")) {
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
        problems.push(`${plotEl.id}: ${b.what} sticks out of the figure`);
      }
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 2 && h > 2) {
          problems.push(
            `${plotEl.id}: ${boxes[i].what} overlaps ${boxes[j].what} (${w.toFixed(0)}x${
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
 * panel headings cut off at the figure's edge, and a mode bar on top of one (as
 * tests/browser_test.ts checks the English pages).
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

/** Waits until the page script has drawn every figure (in `layout`), failing on an error. */
async function waitForFigures(page: Page, layout?: "narrow" | "wide"): Promise<void> {
  await page.waitForFunction(
    (layout) =>
      [...document.querySelectorAll(".plot")].every((p) =>
        p.getAttribute("data-rendered") === "error" ||
        (p.getAttribute("data-rendered") === "true" &&
          (!layout || p.getAttribute("data-layout") === layout))
      ),
    layout,
    // A ceiling, not a deadline: 13 pages at 2 per 2 cores beside other jobs.
    { timeout: 300_000 },
  );
  const errors = await page.evaluate(() =>
    [...document.querySelectorAll(".plot[data-rendered='error']")].map((p) =>
      `${p.id}: ${p.getAttribute("data-error")}`
    )
  );
  assert.deepEqual(errors, [], "figures the page script failed to draw");
}

Deno.test({
  name: "Spanish handouts in Chromium: offline, no dialog, 390 px, Spanish figure titles",
  ignore: !haveChromium && !inCI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    assert.ok(haveChromium, `CI=true but ${CHROMIUM} is missing (apt-get install -y chromium)`);
    await Deno.mkdir(SHOTS, { recursive: true });
    const { handouts } = await built(); // before the browser starts: the kernels get the cores
    assert.ok(handouts.ok, "the Spanish handouts did not build: see the test above");
    const browser: Browser = await launchChromium();
    const external: string[] = [];
    const context: BrowserContext = await browser.newContext({
      viewport: { width: 1280, height: 900 },
    });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file://") || url.startsWith("data:")) return route.continue();
      external.push(url);
      return route.abort();
    });
    const untitled: string[] = [];
    try {
      const pages = [
        `${OUT}/handouts/es/index.html`,
        ...handouts.export.pages.map((p) => `${OUT}/handouts/es/${p.href}`),
      ];
      const checkPage = (path: string) => {
        const name = basename(path, ".html");
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
            page.on("dialog", (d) => {
              problems.push(`dialog: ${d.type()}: ${d.message()}`);
              d.dismiss().catch(() => {});
            });
            await page.goto(`file://${path}`, { waitUntil: "load", timeout: 300_000 });
            await waitForFigures(page);
            await page.evaluate(() => document.fonts.ready);
            const r = await page.evaluate(() => {
              const plots = [...document.querySelectorAll(".plot")];
              const maths = [...document.querySelectorAll(".math")];
              return {
                lang: document.documentElement.lang,
                langLinks: document.querySelectorAll(".lang-link").length,
                plots: plots.length,
                drawn: plots.filter((p) => p.querySelector("svg.main-svg") !== null).length,
                maths: maths.length,
                mathsWithKatex: maths.filter((m) => m.querySelector(".katex") !== null).length,
                katexErrors: document.querySelectorAll(".katex-error").length,
                brokenToc: [...document.querySelectorAll('nav.toc a[href^="#"]')]
                  .map((a) => a.getAttribute("href")!.slice(1))
                  .filter((id) => !document.getElementById(id)),
                index: document.querySelector(".nav-index")?.textContent ?? null,
              };
            });
            assert.equal(r.lang, "es", `${name}: <html lang="es">`);
            assert.equal(r.langLinks, 0, `${name}: no link to the English page, not built`);
            const expected = name === "index"
              ? 0
              : (await Deno.readTextFile(path)).split('class="plot-data"').length - 1;
            assert.equal(r.plots, expected, `${name}: plot containers`);
            assert.equal(r.drawn, r.plots, `${name}: ${r.plots - r.drawn} figure(s) not drawn`);
            assert.equal(r.mathsWithKatex, r.maths, `${name}: formulas without KaTeX markup`);
            assert.equal(r.katexErrors, 0, `${name}: KaTeX errors`);
            assert.deepEqual(r.brokenToc, [], `${name}: TOC links without a target`);
            if (name !== "index") {
              assert.match(r.index ?? "", /Todos los notebooks/, `${name}: Spanish chrome`);
              const want = await translatedTitles(`${ROOT}notebooks/${name}.ipynb`);
              if (want.length === 0) untitled.push(name);
              else {
                const shown = await page.evaluate(shownTitles);
                assert.ok(
                  want.some((re) => shown.some((s) => re.test(s))),
                  `${name}: no figure shows a translated title; shown: ${shown.join(" | ")}`,
                );
              }
            }
            await page.screenshot({ path: `${SHOTS}/${name}.png` });
            if (name !== "index") {
              assert.deepEqual(
                await page.evaluate(titleProblems),
                [],
                `${name} at 1280 px: titles clipped or under the mode bar`,
              );
              await page.setViewportSize({ width: 390, height: 844 });
              await waitForFigures(page, "narrow");
              const width = await page.evaluate(() => document.documentElement.scrollWidth);
              assert.ok(width <= 390, `${name}: the page scrolls sideways at 390 px (${width})`);
              assert.deepEqual(await page.evaluate(figureTextProblems), [], `${name} at 390 px`);
              assert.deepEqual(
                await page.evaluate(titleProblems),
                [],
                `${name} at 390 px: titles clipped or under the mode bar`,
              );
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
      // Notebooks whose catalog translates no figure title yet (the catalog test fails for them).
      if (untitled.length) {
        console.warn(`Spanish figure titles not checked (none translated yet): ${untitled}`);
      }
      const complete: string[] = [];
      for (const path of sources) {
        const nb = await readNotebook(path);
        const st = notebookStatus(nb, await readCatalog(catalogPath(path, "es")), path);
        if (st.every((s) => s.state === "ok")) complete.push(basename(path, ".ipynb"));
      }
      const missed = complete.filter((n) => untitled.includes(n));
      assert.deepEqual(missed, [], "a fully translated notebook has a translated figure title");
    } finally {
      await context.close();
      await browser.close();
    }
  },
});
