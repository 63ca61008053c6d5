/**
 * Figures in a real Jupyter frontend: the classic Notebook (Debian's `jupyter-notebook` 6.4)
 * driven by headless Chromium, with every request that does not go to the local Jupyter server
 * aborted and counted.
 *
 * - Two lecture notebooks run with Restart & Run All through the kit's kernel, installed with
 *   `installKernel` (what `deno task kernel:install` does) into a temporary Jupyter data folder;
 *   every figure draws (a Plotly SVG in its output), plotly.js comes from the kit kernel's
 *   folder on the Jupyter server, and no request leaves the machine.
 * - Saved and reloaded while the kernel runs, every figure draws again (each loads plotly.js
 *   itself on a fresh page).
 * - Reopened untrusted (the file changed outside Jupyter): every figure output shows the text
 *   naming the figure, none is empty; after `addFigureImages` (what `deno task handouts` does
 *   to executed notebooks), every one shows its image.
 *
 * With CI=true it must run: a missing Chromium or jupyter-notebook fails it. Elsewhere it is
 * skipped with a loud message.
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import * as plot from "@kit/plot.ts";
import { installKernel, KERNEL_NAME } from "../tools/jupyter/kernelspec.ts";
import { PLOTLY_ASSET } from "../tools/jupyter/plotly_asset.ts";
import { addFigureImages } from "../tools/export/figures.ts";
import { CHROMIUM, launchChromium } from "../tools/export/pdf.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const NOTEBOOK_APP = "/usr/bin/jupyter-notebook";
/** Two lecture notebooks: 01 has slider, contour and 3-D figures; 06 is quick. */
const LECTURES = ["01_norm_penalties.ipynb", "06_early_stopping.ipynb"];
const PLOTLY_MIME = "application/vnd.plotly.v1+json";

const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};
const ready = exists(CHROMIUM) && exists(NOTEBOOK_APP);
const inCI = Deno.env.get("CI") === "true";
if (!ready && !inCI) {
  console.warn(
    "\n" + "!".repeat(78) + "\n" +
      `!! SKIPPING the Jupyter frontend test: ${CHROMIUM} or ${NOTEBOOK_APP} not found.\n` +
      "!! apt-get install -y chromium jupyter-notebook; with CI=true this test fails instead.\n" +
      "!".repeat(78) + "\n",
  );
}

Deno.test("the figures' HTML asks for plotly.js where kernel:install puts it", () => {
  assert.equal(plot.PLOTLY_KERNELSPEC_PATH, `kernelspecs/${KERNEL_NAME}/${PLOTLY_ASSET}`);
});

/** Starts the classic Notebook on a free port; resolves once it listens. */
async function startNotebook(dir: string, env: Record<string, string>, token: string) {
  for (let attempt = 0;; attempt++) {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const child = new Deno.Command(NOTEBOOK_APP, {
      args: [
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        `--port=${port}`,
        "--port-retries=0",
        `--NotebookApp.token=${token}`,
        `--notebook-dir=${dir}`,
        // Trust lives in memory: a notebook changed on disk is untrusted when reopened.
        "--NotebookNotary.db_file=:memory:",
      ],
      env,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // The server says it is running (or dies) on stderr: wait for that line, not for a clock.
    const log: string[] = [];
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let up = false;
    let buf = "";
    while (!up) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      log.push(value);
      up = /is running at/.test(buf);
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* drop */ }
      } catch { /* closed */ }
    })();
    if (up) return { child, port, log };
    await child.status;
    if (attempt >= 3) throw new Error(`jupyter-notebook did not start:\n${log.join("")}`);
  }
}

interface FigureReport {
  expected: number;
  outputs: { kind: string; drawn: boolean; text: string; height: number; image: boolean }[];
  trusted: boolean;
}

/** Opens a notebook page and waits for the notebook and its kernel. */
async function openNotebook(page: Page, port: number, name: string, token: string) {
  await page.goto(`http://127.0.0.1:${port}/notebooks/${name}?token=${token}`);
  await page.waitForFunction(
    // deno-lint-ignore no-explicit-any
    () => (window as any).Jupyter?.notebook?.kernel?.is_connected?.() === true,
    undefined,
    { timeout: 300_000 },
  );
}

/** Every figure output of the page: how the frontend shows it, once each has settled. */
async function figureReport(page: Page, wantScripts: boolean): Promise<FigureReport> {
  if (wantScripts) {
    // Each figure's script marks it drawn or failed: wait for all of them.
    await page.waitForFunction(
      (mime) => {
        // deno-lint-ignore no-explicit-any
        const nb = (window as any).Jupyter.notebook;
        // deno-lint-ignore no-explicit-any
        const n = nb.get_cells().flatMap((c: any) => c.output_area?.outputs ?? [])
          // deno-lint-ignore no-explicit-any
          .filter((o: any) => o.data?.[mime]).length;
        return document.querySelectorAll(".kit-plot[data-kit-plot]").length === n;
      },
      PLOTLY_MIME,
      { timeout: 300_000 },
    );
  }
  await page.evaluate(() => document.fonts.ready);
  // Images decode before their size is known.
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll(".kit-plot img")].every((i) =>
        (i as HTMLImageElement).complete
      ),
    undefined,
    { timeout: 60_000 },
  );
  return await page.evaluate((mime) => {
    // deno-lint-ignore no-explicit-any
    const nb = (window as any).Jupyter.notebook;
    const outputs: FigureReport["outputs"] = [];
    let expected = 0;
    for (const cell of nb.get_cells()) {
      if (cell.cell_type !== "code") continue;
      const models = cell.output_area.outputs;
      const areas = cell.element[0].querySelectorAll(".output_area");
      // deno-lint-ignore no-explicit-any
      models.forEach((o: any, i: number) => {
        if (!o.data?.[mime]) return;
        expected++;
        const area = areas[i] as HTMLElement | undefined;
        const sub = area?.querySelector(".output_subarea") as HTMLElement | null;
        const img = sub?.querySelector("img") as HTMLImageElement | null;
        outputs.push({
          kind: sub?.className ?? "(no output area)",
          drawn: sub?.querySelector("svg.main-svg") !== null && sub !== null,
          text: (sub?.innerText ?? "").trim().slice(0, 600),
          height: sub?.getBoundingClientRect().height ?? 0,
          image: img !== null && img.naturalWidth > 100 && img.getBoundingClientRect().height > 50,
        });
      });
    }
    return { expected, outputs, trusted: nb.trusted === true };
  }, PLOTLY_MIME);
}

Deno.test({
  name: "classic Notebook offline: Restart & Run All draws every figure, reload, untrusted",
  ignore: !ready && !inCI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    assert.ok(ready, `CI=true but ${CHROMIUM} or ${NOTEBOOK_APP} is missing (see .ci/run)`);
    // Inside the kit (dist/ is git-ignored): Deno's kernel finds the kit's deno.json, and with
    // it the `@kit/` imports, by walking up from the notebook's folder.
    await Deno.mkdir(`${ROOT}dist`, { recursive: true });
    const tmp = await Deno.makeTempDir({ dir: `${ROOT}dist`, prefix: "frontend-test-" });
    const token = crypto.randomUUID().replaceAll("-", "");
    const jupyterData = `${tmp}/jupyter`;
    const env = {
      ...Deno.env.toObject(),
      JUPYTER_DATA_DIR: jupyterData,
      JUPYTER_CONFIG_DIR: `${tmp}/config`,
      JUPYTER_RUNTIME_DIR: `${tmp}/runtime`,
      NO_COLOR: "1",
    };
    // Notebooks read ../data/*.csv, as from the kit's notebooks/ folder.
    await Deno.mkdir(`${tmp}/notebooks`);
    await Deno.symlink(`${ROOT}data`, `${tmp}/data`);
    for (const n of LECTURES) await Deno.copyFile(`${ROOT}notebooks/${n}`, `${tmp}/notebooks/${n}`);
    const specDir = await installKernel({ dataDir: jupyterData });
    assert.ok(exists(`${specDir}/${PLOTLY_ASSET}`), "kernel:install put plotly.js in the spec");

    const server = await startNotebook(`${tmp}/notebooks`, env, token);
    const local = `http://127.0.0.1:${server.port}/`;
    const browser = await launchChromium();
    const external: string[] = [];
    const plotlyRequests: string[] = [];
    let context: BrowserContext | undefined;
    try {
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith(local)) {
          if (url.includes(`kernelspecs/${KERNEL_NAME}/${PLOTLY_ASSET}`)) plotlyRequests.push(url);
          return route.continue();
        }
        external.push(url);
        return route.abort();
      });
      for (const name of LECTURES) {
        await t.step(`${name}: Restart & Run All, reload, reopen untrusted`, async () => {
          const page = await context!.newPage();
          const errors: string[] = [];
          page.on("pageerror", (e) => errors.push(e.message));
          await openNotebook(page, server.port, name, token);
          const kernelName = await page.evaluate(() =>
            // deno-lint-ignore no-explicit-any
            (window as any).Jupyter.notebook.kernel.name
          );
          assert.equal(kernelName, KERNEL_NAME, "the notebook runs on the kit's kernel");
          const before = plotlyRequests.length;
          await page.evaluate(() =>
            // deno-lint-ignore no-explicit-any
            (window as any).Jupyter.notebook.restart_run_all({ confirm: false })
          );
          // Every code cell gets its number, or one fails: wait for either.
          const run = await page.waitForFunction(
            () => {
              // deno-lint-ignore no-explicit-any
              const cells = (window as any).Jupyter.notebook.get_cells()
                // deno-lint-ignore no-explicit-any
                .filter((c: any) => c.cell_type === "code");
              // deno-lint-ignore no-explicit-any
              const failed = cells.find((c: any) =>
                // deno-lint-ignore no-explicit-any
                c.output_area.outputs.some((o: any) => o.output_type === "error")
              );
              if (failed) {
                // deno-lint-ignore no-explicit-any
                const e = failed.output_area.outputs.find((o: any) => o.output_type === "error");
                return `error in a cell: ${
                  failed.get_text().slice(0, 80)
                }\n${e.ename}: ${e.evalue}`;
              }
              // deno-lint-ignore no-explicit-any
              return cells.every((c: any) => typeof c.input_prompt_number === "number") && "ok";
            },
            undefined,
            // A ceiling, not an expectation: 01 takes minutes on a loaded 2-core machine.
            { timeout: 900_000, polling: 250 },
          );
          assert.equal(await run.jsonValue(), "ok", `${name}: Restart & Run All`);
          const live = await figureReport(page, true);
          assert.ok(live.expected >= 5, `${name}: figures in the notebook (${live.expected})`);
          assert.equal(live.outputs.length, live.expected);
          const notDrawn = live.outputs.filter((o) => !o.drawn);
          assert.deepEqual(notDrawn, [], `${name}: figures without a Plotly SVG`);
          assert.equal(plotlyRequests.length - before <= 1, true, "plotly.js loaded at most once");
          assert.ok(plotlyRequests.length >= 1, "plotly.js came from the kit kernel's folder");

          // Saved, then reloaded while the kernel runs: a fresh page, every figure draws again.
          await page.evaluate(() =>
            // deno-lint-ignore no-explicit-any
            (window as any).Jupyter.notebook.save_notebook()
          );
          await page.reload();
          await openNotebook(page, server.port, name, token);
          const reloaded = await figureReport(page, true);
          assert.ok(reloaded.trusted, "a notebook saved by Jupyter is trusted");
          assert.deepEqual(reloaded.outputs.filter((o) => !o.drawn), [], `${name} after reload`);

          // Changed outside Jupyter, it is untrusted: no script runs, no figure is empty.
          const path = `${tmp}/notebooks/${name}`;
          const saved = JSON.parse(await Deno.readTextFile(path));
          saved.metadata.kit_frontend_test = "changed on disk";
          await Deno.writeTextFile(path, JSON.stringify(saved, null, 1) + "\n");
          await page.reload();
          await openNotebook(page, server.port, name, token);
          const untrusted = await figureReport(page, false);
          assert.equal(untrusted.trusted, false, "reopened untrusted");
          assert.equal(untrusted.outputs.length, live.expected);
          const blank = untrusted.outputs.filter((o) =>
            o.drawn || o.height < 20 || !/^Figure “.+”/.test(o.text) ||
            !o.text.includes("trust the notebook")
          );
          assert.deepEqual(blank, [], `${name} untrusted: outputs without the naming text`);

          // With the static images the handouts build adds, each shows its image.
          const images = await addFigureImages([path], { browser });
          assert.deepEqual(images.errors, []);
          assert.equal(images.figures, live.expected);
          await page.reload();
          await openNotebook(page, server.port, name, token);
          const pictured = await figureReport(page, false);
          assert.equal(pictured.trusted, false);
          assert.deepEqual(
            pictured.outputs.filter((o) => !o.image || !/^Figure “.+”/.test(o.text)),
            [],
            `${name} untrusted, with images: outputs without their image`,
          );
          assert.deepEqual(errors, [], `${name}: page errors`);
          await page.close();
        });
      }
      assert.deepEqual(external, [], "requests that left the machine");
    } finally {
      await context?.close();
      await browser.close();
      try {
        server.child.kill("SIGTERM");
      } catch { /* already gone */ }
      await server.child.status;
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
