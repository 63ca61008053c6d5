/**
 * `deno task handouts`: runs every notebook on the Deno kernel (tools/run.ts), writes the
 * executed notebooks to `dist/notebooks/`, then exports them to offline HTML in
 * `dist/handouts/` (tools/export.ts): one page per notebook and `index.html`.
 *
 * A broken notebook does not stop the others:
 * - a notebook whose cell fails (error, timeout, dying kernel) is still exported up to the
 *   failing cell; its page opens with a red banner naming the cell and shows the error where it
 *   happened, and the index flags it "did not run to the end";
 * - an invalid notebook file (not JSON, schema, not a Deno notebook) gets no page, and a stale
 *   page of the same name is removed.
 * The command exits 1 when any notebook failed or was invalid, 0 otherwise.
 *
 * CLI: `deno task handouts [paths...] [--jobs N] [--timeout SECONDS]`
 * (default: every `notebooks/*.ipynb`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatFailure, type NotebookRun, runNotebooks, type RunSummary } from "./run.ts";
import { exportNotebooks, type ExportSummary } from "./export.ts";
import { projectNotebooks } from "./notebook.ts";
import { positiveOption, runMain } from "./cli.ts";

/** Options of {@link buildHandouts}. */
export interface HandoutOptions {
  /** Kernels at once (default: the number of cores). */
  concurrency?: number;
  /** Per-cell timeout in ms (default 120 000). */
  timeoutMs?: number;
  /** Executed notebooks go here (default "dist/notebooks"). */
  notebooksDir?: string;
  /** Handouts go here (default "dist/handouts"). */
  handoutsDir?: string;
  /** Remove pages of notebooks that are not in `paths` (default false; the CLI sets it when it runs the whole folder). */
  prune?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The outcome of {@link buildHandouts}. */
export interface HandoutSummary {
  /** True when every notebook ran and every page was written. */
  ok: boolean;
  run: RunSummary;
  export: ExportSummary;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Runs the notebooks, then exports every one that produced an executed notebook (failed ones
 * included, flagged on their page and on the index).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { buildHandouts } from "../tools/handouts.ts";
 * const dir = await Deno.makeTempDir();
 * const s = await buildHandouts(["notebooks/00_welcome.ipynb"], {
 *   notebooksDir: `${dir}/nb`, handoutsDir: `${dir}/html`,
 * });
 * assert.ok(s.ok && s.export.pages[0].href === "00_welcome.html");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function buildHandouts(
  paths: readonly string[],
  opts: HandoutOptions = {},
): Promise<HandoutSummary> {
  const handoutsDir = opts.handoutsDir ?? "dist/handouts";
  const log = opts.log ?? (() => {});
  const run = await runNotebooks(paths, {
    concurrency: opts.concurrency,
    timeoutMs: opts.timeoutMs,
    outDir: opts.notebooksDir ?? "dist/notebooks",
    onProgress: (p) => {
      if (p.phase === "start") log(`${p.path}: running (${p.total} code cells)`);
      if (p.phase === "done") {
        log(
          p.status === "invalid"
            ? `${p.path}: invalid notebook file`
            : `${p.path}: ${p.status} after ${p.cell}/${p.total} code cells, ${
              (p.elapsedMs / 1000).toFixed(1)
            } s`,
        );
      }
    },
  });
  const executed = run.runs.filter((
    r,
  ): r is NotebookRun & { notebook: NonNullable<NotebookRun["notebook"]> } =>
    r.notebook !== undefined
  );
  const exported = await exportNotebooks(
    executed.map((r) => ({ name: baseName(r.path), notebook: r.notebook })),
    handoutsDir,
  );
  // No stale page for a notebook that has no executed version this time.
  const keep = new Set(exported.pages.map((p) => p.href));
  const stale: string[] = [];
  for (const r of run.runs) {
    const href = baseName(r.path).replace(/\.ipynb$/, "") + ".html";
    if (!keep.has(href)) stale.push(href);
  }
  if (opts.prune) {
    for await (const e of Deno.readDir(handoutsDir)) {
      if (e.isFile && e.name.endsWith(".html") && e.name !== "index.html" && !keep.has(e.name)) {
        stale.push(e.name);
      }
    }
  }
  for (const href of new Set(stale)) {
    await Deno.remove(`${handoutsDir}/${href}`).catch(() => {});
  }
  return { ok: run.ok && exported.ok, run, export: exported };
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      jobs: { type: "string", short: "j" },
      timeout: { type: "string", short: "t" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task handouts [paths...] [--jobs N] [--timeout SECONDS]\n" +
        "Runs the notebooks (default notebooks/*.ipynb) on the Deno kernel, writes them to\n" +
        "dist/notebooks/ and their HTML handouts to dist/handouts/ (open index.html).\n" +
        "Exits 1 if any notebook failed or is invalid.",
    );
    return 0;
  }
  const jobs = positiveOption("handouts", "jobs", values.jobs);
  const timeout = positiveOption("handouts", "timeout", values.timeout);
  const paths = positionals.length ? positionals : await projectNotebooks();
  if (paths.length === 0) {
    console.error("handouts: no notebooks found in notebooks/; nothing to do.");
    return 1;
  }
  console.log(`handouts: ${paths.length} notebook(s)`);
  const s = await buildHandouts(paths, {
    concurrency: jobs === undefined ? undefined : Math.floor(jobs),
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    prune: positionals.length === 0,
    log: (l) => console.log(l),
  });
  for (const r of s.run.runs) if (r.status !== "ok") console.error("\n" + formatFailure(r));
  for (const p of s.export.pages) {
    for (const w of p.warnings) console.warn(`warning: ${w}`);
  }
  for (const e of s.export.errors) console.error(`ERROR ${e.message}`);
  const failed = s.run.runs.filter((r) => r.status === "failed").map((r) => baseName(r.path));
  console.log(
    `\nhandouts: ${s.export.pages.length} page(s) in dist/handouts/ (open dist/handouts/index.html)` +
      (failed.length ? `; exported with their error: ${failed.join(", ")}` : "") +
      (s.run.failed ? `; ${s.run.failed} notebook(s) failed` : ""),
  );
  return s.ok ? 0 : 1;
}

if (import.meta.main) await runMain(main);
