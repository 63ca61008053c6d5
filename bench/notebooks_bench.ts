/**
 * End-to-end time of each `notebooks/*.ipynb` on the real Deno Jupyter kernel, as the runner
 * does it (tools/run.ts: read and validate, start a kernel, run every code cell, shut down;
 * nothing written), one kernel at a time; and of the whole handouts build (tools/handouts.ts:
 * every notebook, as many kernels at once as cores, then the HTML export, into a temporary
 * folder), without and with the figures' static images (tools/export/figures.ts). The work runs in a child process (see _kernel_child.ts); a failing notebook fails
 * its bench.
 *
 * Each call takes seconds, so n is small; Deno also makes two warm-up calls first.
 * `BENCH_SMOKE=1` runs only the first notebook, once, and skips the handouts build.
 *
 * Run: `deno bench -A bench/notebooks_bench.ts`.
 */
import { projectNotebooks } from "../tools/notebook/io.ts";
import { KernelChild } from "./_kernel_child.ts";
import { bench, SMOKE } from "./_stats.ts";

const root = new URL("..", import.meta.url).pathname;
const all = (await projectNotebooks()).map((p) => (p.startsWith("/") ? p : root + p));
if (all.length === 0) throw new Error("notebooks_bench: no notebooks/*.ipynb found");

const child = new KernelChild();
globalThis.addEventListener("unload", () => child.kill());

for (const path of SMOKE ? all.slice(0, 1) : all) {
  bench({
    group: "notebooks (end to end on the Deno kernel)",
    name: path.slice(path.lastIndexOf("/") + 1),
    n: SMOKE ? 1 : 3,
    fn: async () => await child.run({ cmd: "notebook", path }),
  });
}

if (!SMOKE) {
  const name =
    `${all.length} notebooks, ${navigator.hardwareConcurrency} kernels at once, and export`;
  bench({
    group: "handouts build",
    name,
    baseline: true,
    n: 1,
    fn: async () => await child.run({ cmd: "handouts", paths: all }),
  });
  // The same build with a static image of every figure (Chromium; tools/export/figures.ts).
  bench({
    group: "handouts build",
    name: `${name}, with figure images`,
    n: 1,
    fn: async () => await child.run({ cmd: "handouts", paths: all, images: true }),
  });
}
