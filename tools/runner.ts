/**
 * The notebook runner: executes notebooks on the real Deno Jupyter kernel (`jupyter/kernel.ts`),
 * several in parallel, and writes the executed notebooks (validated, atomically). Its command
 * line is `tools/run.ts` (`deno task nb:run`); `tools/handouts.ts` builds on it.
 *
 * What is written:
 * - a notebook that passes: every code cell with fresh outputs and execution counts;
 * - a notebook that fails (error, timeout, dying kernel): the cells up to and including the
 *   failing one, with its error output (timeouts and deaths get a synthetic `error` output),
 *   later cells cleared, as nbclient leaves it: the handout then shows the failure instead of a
 *   stale success. `metadata.kit.status` says which it is;
 * - an invalid input file (not JSON, schema, not a Deno notebook): nothing, and an older
 *   output of the same name is removed so `dist/` never shows stale results.
 *
 * Outputs are deterministic (no timestamps in them); the run's elapsed time goes to
 * `metadata.kit.elapsed_seconds` only.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { Kernel } from "./jupyter/kernel.ts";
import type { ExecuteResult } from "./jupyter/kernel.ts";
import {
  type CodeCell,
  type Notebook,
  NotebookError,
  readNotebook,
  sourceText,
  writeNotebook,
} from "./notebook/io.ts";
import { MAX_TIMER_MS } from "./jupyter/wire.ts";
import { stripAnsi } from "./ansi.ts";
import { pool } from "./pool.ts";
import { REVOKE_CELL, sandboxAvailable, sandboxCommand, type Trust } from "./jupyter/untrusted.ts";

/** Progress of one notebook, reported after start-up and after each code cell. */
export interface Progress {
  path: string;
  phase: "start" | "cell" | "done";
  /** Code cells finished so far. */
  cell: number;
  /** Code cells in the notebook. */
  total: number;
  elapsedMs: number;
  status?: NotebookStatus;
}

/** "ok": every cell ran; "failed": a cell failed; "invalid": the file was not usable. */
export type NotebookStatus = "ok" | "failed" | "invalid";

/** Where and how a notebook failed. */
export interface CellFailure {
  /** 1-based position of the cell among all cells (markdown included), as Jupyter shows it. */
  cellNumber: number;
  /** 1-based position among code cells. */
  codeCellNumber: number;
  /** The cell's first non-empty source line. */
  firstLine: string;
  /** "error", "timeout", "died" or "lost" (output that did not arrive or had no cell). */
  status: ExecuteResult["status"];
  ename: string;
  evalue: string;
  /** Traceback lines, ANSI colour codes stripped. */
  traceback: string[];
}

/** The outcome for one notebook. */
export interface NotebookRun {
  path: string;
  status: NotebookStatus;
  /** Where the executed notebook was written, or null (invalid input, or `outDir: null`). */
  outPath: string | null;
  /** A readable message for "failed" and "invalid" (names file, cell, error). */
  message?: string;
  failure?: CellFailure;
  /** The executed notebook (absent for invalid input). */
  notebook?: Notebook;
  codeCells: number;
  /** Code cells that ran, the failing one included. */
  cellsRun: number;
  elapsedMs: number;
  /** Kernel start-up time in ms. */
  kernelStartMs?: number;
  /** Process id of the kernel the notebook ran on (gone once the run returns). */
  kernelPid?: number;
}

/** The outcome of {@link runNotebooks}. */
export interface RunSummary {
  ok: boolean;
  runs: NotebookRun[];
  failed: number;
  elapsedMs: number;
}

/** Options of {@link runNotebooks}. */
export interface RunOptions {
  /** Kernels running at once. Default: `navigator.hardwareConcurrency`. */
  concurrency?: number;
  /** Per-cell timeout in ms. Default 120 000. */
  timeoutMs?: number;
  /** Grace between interrupt and kill on a timeout, ms. Default 2 000. */
  graceMs?: number;
  /** How long a finished cell's end-of-cell marker may take, ms. Default 10 000. */
  markerTimeoutMs?: number;
  /** Output folder; null writes nothing. Default "dist/notebooks". */
  outDir?: string | null;
  /** Called on start, after every code cell and at the end of each notebook. */
  onProgress?: (p: Progress) => void;
  /**
   * "untrusted": cells run sandboxed, with every permission but read revoked
   * (`jupyter/untrusted.ts`; Linux with bubblewrap, else {@link runNotebooks} throws before
   * running anything). "all" (default): every permission, as `deno jupyter` grants them.
   */
  trust?: Trust;
}

function firstLine(source: string): string {
  return source.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
}

/**
 * Formats a failed or invalid run as the runner prints it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatFailure } from "./runner.ts";
 * const text = formatFailure({
 *   path: "nb.ipynb", status: "failed", outPath: null, codeCells: 2, cellsRun: 2, elapsedMs: 5,
 *   failure: {
 *     cellNumber: 3, codeCellNumber: 2, firstLine: "assert(false)", status: "error",
 *     ename: "AssertionError", evalue: "boom", traceback: ["AssertionError: boom"],
 *   },
 * });
 * assert.ok(text.includes("cell 3 (code cell 2)") && text.includes("AssertionError"));
 * ```
 */
export function formatFailure(run: NotebookRun): string {
  if (run.status === "invalid") return `INVALID ${run.message ?? run.path}`;
  if (!run.failure && run.message) return `FAILED ${run.message}`;
  const f = run.failure;
  if (!f) return `FAILED ${run.path}: ${run.message ?? "unknown error"}`;
  const what = f.status === "timeout"
    ? "timed out"
    : f.status === "died"
    ? "killed the kernel"
    : f.status === "lost"
    ? "lost output"
    : "raised an error";
  const tb = f.traceback.length ? "\n" + f.traceback.map((l) => `    ${l}`).join("\n") : "";
  return `FAILED ${run.path}: cell ${f.cellNumber} (code cell ${f.codeCellNumber}) ${what}\n` +
    `  first line: ${f.firstLine}\n` +
    `  ${f.ename}: ${f.evalue}${tb}`;
}

/**
 * Runs the code cells of an in-memory notebook on a fresh kernel started in `cwd`, filling
 * outputs and execution counts in place (old outputs cleared). Stops at the first failing
 * cell. Never throws for cell problems; throws only if the kernel cannot start.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { executeNotebook } from "./runner.ts";
 * const nb = {
 *   nbformat: 4 as const, nbformat_minor: 5,
 *   metadata: {
 *     kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
 *     language_info: { name: "typescript" },
 *   },
 *   cells: [{
 *     cell_type: "code" as const, id: "a", metadata: {}, source: "21 * 2",
 *     outputs: [], execution_count: null,
 *   }],
 * };
 * const r = await executeNotebook(nb, { cwd: "." });
 * assert.ok(r.failure === undefined && JSON.stringify(nb.cells[0]).includes("42"));
 * ```
 */
export async function executeNotebook(
  nb: Notebook,
  opts: {
    cwd: string;
    timeoutMs?: number;
    graceMs?: number;
    markerTimeoutMs?: number;
    onCell?: (done: number, total: number) => void;
    /** See {@link RunOptions.trust}. Default "all". */
    trust?: Trust;
  },
): Promise<
  { failure?: CellFailure; cellsRun: number; kernelStartMs: number; kernelPid: number }
> {
  const code = nb.cells
    .map((c, i) => ({ cell: c, number: i + 1 }))
    .filter((x): x is { cell: CodeCell; number: number } => x.cell.cell_type === "code");
  for (const { cell } of code) {
    cell.outputs = [];
    cell.execution_count = null;
  }
  const untrusted = opts.trust === "untrusted";
  const kernel = await Kernel.start({
    cwd: opts.cwd,
    command: untrusted ? sandboxCommand : undefined,
  });
  if (untrusted) {
    // Before any cell of the notebook: a kernel whose permissions are not revoked runs nothing.
    const r = await kernel.execute(REVOKE_CELL, { storeHistory: false, timeoutMs: 30_000 });
    if (r.status !== "ok") {
      await kernel.shutdown();
      throw new Error(
        `the sandboxed kernel could not revoke its permissions (${r.status}: ${
          r.errorInfo?.evalue ?? ""
        }); nothing ran`,
      );
    }
  }
  const results: { cell: CodeCell; r: ExecuteResult }[] = [];
  let failure: CellFailure | undefined;
  try {
    for (const [k, { cell, number }] of code.entries()) {
      const r = await kernel.execute(sourceText(cell.source), {
        timeoutMs: opts.timeoutMs,
        graceMs: opts.graceMs,
        markerTimeoutMs: opts.markerTimeoutMs,
      });
      results.push({ cell, r });
      opts.onCell?.(k + 1, code.length);
      if (r.status !== "ok") {
        const e = r.errorInfo ?? { ename: "Error", evalue: r.status, traceback: [] };
        failure = {
          cellNumber: number,
          codeCellNumber: k + 1,
          firstLine: firstLine(sourceText(cell.source)),
          status: r.status,
          ename: e.ename,
          evalue: stripAnsi(e.evalue),
          traceback: e.traceback.map(stripAnsi),
        };
        if (r.status !== "error") {
          // Timeouts and deaths leave no error output: add one so the notebook shows why.
          r.outputs.push({
            output_type: "error",
            ename: e.ename,
            evalue: e.evalue,
            traceback: e.traceback,
          });
        }
        break;
      }
    }
    // Late IOPub messages (execute_result after idle) land in their own cells' outputs. Output
    // that did not arrive, or arrived for no known cell, fails the notebook: never a silent "ok".
    if (kernel.alive && !failure) {
      try {
        await kernel.settle();
      } catch (e) {
        const last = results.length - 1;
        failure = lostFailure(code[last], last, (e as Error).message);
        results[last].r.outputs.push({
          output_type: "error",
          ename: failure.ename,
          evalue: failure.evalue,
          traceback: [],
        });
      }
    }
    // An error reported after its cell had ended (a rejection, a throw in a timer) still fails.
    if (!failure) {
      const k = results.findIndex(({ r }) => r.outputs.some((o) => o.output_type === "error"));
      if (k >= 0) {
        const err = results[k].r.outputs.find((o) => o.output_type === "error");
        if (err && err.output_type === "error") {
          failure = {
            cellNumber: code[k].number,
            codeCellNumber: k + 1,
            firstLine: firstLine(sourceText(code[k].cell.source)),
            status: "error",
            ename: err.ename,
            evalue: stripAnsi(err.evalue),
            traceback: err.traceback.map(stripAnsi),
          };
        }
      }
    }
  } finally {
    await kernel.shutdown();
  }
  for (const { cell, r } of results) {
    cell.execution_count = r.executionCount;
    cell.outputs = structuredClone(r.outputs);
  }
  return {
    failure,
    cellsRun: results.length,
    kernelStartMs: kernel.startupMs,
    kernelPid: kernel.pid,
  };
}

function lostFailure(
  at: { cell: CodeCell; number: number },
  index: number,
  message: string,
): CellFailure {
  return {
    cellNumber: at.number,
    codeCellNumber: index + 1,
    firstLine: firstLine(sourceText(at.cell.source)),
    status: "lost",
    ename: "LostOutput",
    evalue: message,
    traceback: [],
  };
}

async function runOne(path: string, opts: RunOptions): Promise<NotebookRun> {
  const t0 = performance.now();
  const outDir = opts.outDir === undefined ? "dist/notebooks" : opts.outDir;
  const outPath = outDir === null ? null : `${outDir}/${basename(path)}`;
  const elapsed = () => performance.now() - t0;
  let nb: Notebook;
  try {
    nb = await readNotebook(path);
  } catch (e) {
    if (outPath) await Deno.remove(outPath).catch(() => {});
    const message = e instanceof NotebookError ? e.message : `${path}: ${(e as Error).message}`;
    opts.onProgress?.({
      path,
      phase: "done",
      cell: 0,
      total: 0,
      elapsedMs: elapsed(),
      status: "invalid",
    });
    return {
      path,
      status: "invalid",
      outPath: null,
      message,
      codeCells: 0,
      cellsRun: 0,
      elapsedMs: elapsed(),
    };
  }
  const total = nb.cells.filter((c) => c.cell_type === "code").length;
  opts.onProgress?.({ path, phase: "start", cell: 0, total, elapsedMs: elapsed() });
  let exec: Awaited<ReturnType<typeof executeNotebook>>;
  try {
    exec = await executeNotebook(nb, {
      cwd: dirname(path),
      timeoutMs: opts.timeoutMs,
      graceMs: opts.graceMs,
      markerTimeoutMs: opts.markerTimeoutMs,
      trust: opts.trust,
      onCell: (done) =>
        opts.onProgress?.({ path, phase: "cell", cell: done, total, elapsedMs: elapsed() }),
    });
  } catch (e) {
    // The kernel did not start: nothing ran, nothing is written.
    opts.onProgress?.({
      path,
      phase: "done",
      cell: 0,
      total,
      elapsedMs: elapsed(),
      status: "failed",
    });
    return {
      path,
      status: "failed",
      outPath: null,
      message: `${path}: ${(e as Error).message}`,
      codeCells: total,
      cellsRun: 0,
      elapsedMs: elapsed(),
    };
  }
  const status: NotebookStatus = exec.failure ? "failed" : "ok";
  nb.metadata.kit = {
    status: exec.failure ? exec.failure.status : "ok",
    elapsed_seconds: Math.round(elapsed() / 10) / 100,
    ...(exec.failure ? { failed_cell: exec.failure.cellNumber } : {}),
  };
  const run: NotebookRun = {
    path,
    status,
    outPath,
    notebook: nb,
    failure: exec.failure,
    codeCells: total,
    cellsRun: exec.cellsRun,
    elapsedMs: elapsed(),
    kernelStartMs: exec.kernelStartMs,
    kernelPid: exec.kernelPid,
  };
  if (exec.failure) run.message = formatFailure(run);
  if (outPath) {
    try {
      await writeNotebook(outPath, nb);
    } catch (e) {
      run.status = "failed";
      run.outPath = null;
      run.message = `${path}: the executed notebook could not be written to ${outPath}: ${
        (e as Error).message
      }`;
    }
  }
  opts.onProgress?.({
    path,
    phase: "done",
    cell: exec.cellsRun,
    total,
    elapsedMs: elapsed(),
    status: run.status,
  });
  return run;
}

/**
 * Runs notebooks on the Deno kernel, `concurrency` at a time, and writes each executed notebook
 * to `outDir`. Invalid files and failing cells are reported in the summary, never thrown;
 * the other notebooks still run.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { runNotebooks } from "./runner.ts";
 * const s = await runNotebooks(["does-not-exist.ipynb"], { outDir: null });
 * assert.ok(!s.ok && s.runs[0].status === "invalid");
 * ```
 */
export async function runNotebooks(
  paths: readonly string[],
  opts: RunOptions = {},
): Promise<RunSummary> {
  const t0 = performance.now();
  const seen = new Map<string, string>();
  for (const p of paths) {
    const b = basename(p);
    if (seen.has(b) && opts.outDir !== null) {
      throw new Error(
        `runNotebooks: ${seen.get(b)} and ${p} would both be written to ${b}; rename one of them.`,
      );
    }
    seen.set(b, p);
  }
  if (opts.outDir !== null) await checkWritable(opts.outDir ?? "dist/notebooks");
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0 && opts.timeoutMs <= MAX_TIMER_MS)) {
    throw new Error(
      `runNotebooks: the cell timeout must be between 1 ms and ${MAX_TIMER_MS} ms` +
        ` (about 24.8 days), got ${opts.timeoutMs}`,
    );
  }
  if (opts.trust === "untrusted") {
    const sandbox = sandboxAvailable();
    if (!sandbox.ok) {
      throw new Error(
        `runNotebooks: untrusted notebooks need the sandbox, and ${sandbox.reason}. ` +
          "Install it, or run only notebooks you trust with --allow-all.",
      );
    }
  }
  const concurrency = opts.concurrency ?? navigator.hardwareConcurrency ?? 1;
  const runs = await pool(paths, concurrency, (path) => runOne(path, opts));
  const failed = runs.filter((r) => r.status !== "ok").length;
  return { ok: failed === 0, runs, failed, elapsedMs: performance.now() - t0 };
}

/** Fails early, naming the folder, when executed notebooks could not be written there. */
async function checkWritable(dir: string): Promise<void> {
  const probe = `${dir}/.kit-write-check-${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    await Deno.remove(probe).catch(() => {});
    throw new Error(
      `nb:run: cannot write executed notebooks to ${dir}: ${(e as Error).message}. ` +
        "Choose a writable folder with --out.",
    );
  }
}
