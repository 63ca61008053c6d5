/**
 * `deno task nb:run [paths...] [--jobs N] [--timeout SECONDS] [--out DIR] [--untrusted |
 * --allow-all]`: runs notebooks on the Deno kernel (default: every `notebooks/*.ipynb`) with the
 * runner (`runner.ts`) and writes the executed notebooks to DIR (default `dist/notebooks/`).
 * Cells run sandboxed unless `--allow-all` (`jupyter/untrusted.ts`). Exits 1 if any notebook is
 * invalid or fails, 2 on bad options.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename } from "node:path";
import { formatFailure, runNotebooks } from "./runner.ts";
import { projectNotebooks } from "./notebook/io.ts";
import { MAX_TIMER_MS } from "./jupyter/wire.ts";
import { positiveOption, runMain } from "./cli.ts";
import { TRUST_HELP, trustOption } from "./jupyter/untrusted.ts";

function fmtSec(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      jobs: { type: "string", short: "j" },
      timeout: { type: "string", short: "t" },
      out: { type: "string", short: "o" },
      untrusted: { type: "boolean" },
      "allow-all": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task nb:run [paths...] [--jobs N] [--timeout SECONDS] [--out DIR]\n" +
        "       [--untrusted | --allow-all]\n" +
        "Runs notebooks on the Deno kernel (default: notebooks/*.ipynb) and writes the executed\n" +
        "notebooks to DIR (default dist/notebooks). Exits 1 if any notebook fails.\n" +
        TRUST_HELP,
    );
    return 0;
  }
  const trust = trustOption("nb:run", values.untrusted, values["allow-all"]);
  const jobs = Math.floor(
    positiveOption("nb:run", "jobs", values.jobs) ?? navigator.hardwareConcurrency ?? 1,
  );
  const timeoutMs = (positiveOption("nb:run", "timeout", values.timeout) ?? 120) * 1000;
  if (timeoutMs > MAX_TIMER_MS) {
    throw new Error(
      `nb:run: --timeout must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds` +
        ` (what a timer can wait), got ${values.timeout}`,
    );
  }
  const paths = positionals.length ? positionals : await projectNotebooks();
  if (paths.length === 0) {
    console.error("nb:run: no notebooks found (notebooks/*.ipynb is empty); nothing to run.");
    return 1;
  }
  const tty = Deno.stdout.isTerminal();
  const state = new Map<string, string>();
  const lastLine = new Map<string, number>();
  const redraw = () => {
    const line = [...state.entries()].map(([p, s]) => `${basename(p)} ${s}`).join(" | ");
    Deno.stdout.writeSync(new TextEncoder().encode(`\r\x1b[2K${line.slice(0, 200)}`));
  };
  const print = (text: string) => {
    if (tty) Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[2K"));
    console.log(text);
    if (tty && state.size) redraw();
  };
  console.log(
    `nb:run: ${paths.length} notebook(s), ${jobs} at a time, cell timeout ${timeoutMs / 1000} s, ` +
      (trust === "all" ? "every permission (--allow-all)" : "sandboxed"),
  );
  const summary = await runNotebooks(paths, {
    concurrency: jobs,
    timeoutMs,
    outDir: values.out ?? "dist/notebooks",
    trust,
    onProgress: (p) => {
      if (p.phase === "start") {
        if (tty) {
          state.set(p.path, `0/${p.total}`);
          redraw();
        } else print(`${p.path}: started (${p.total} code cells)`);
      } else if (p.phase === "cell") {
        if (tty) {
          state.set(p.path, `cell ${p.cell}/${p.total} ${fmtSec(p.elapsedMs)}`);
          redraw();
        } else if (p.elapsedMs - (lastLine.get(p.path) ?? 0) >= 5000) {
          // Plain logs (CI): one line per notebook every 5 s at most.
          lastLine.set(p.path, p.elapsedMs);
          print(`${p.path}: cell ${p.cell}/${p.total} ${fmtSec(p.elapsedMs)}`);
        }
      } else {
        state.delete(p.path);
        print(
          p.status === "invalid"
            ? `${p.path}: invalid notebook file (see below)`
            : `${p.path}: ${p.status} after ${p.cell}/${p.total} code cells, ${
              fmtSec(p.elapsedMs)
            }`,
        );
      }
    },
  });
  if (tty) Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[2K"));
  for (const r of summary.runs) {
    if (r.status !== "ok") console.error("\n" + formatFailure(r));
  }
  const ok = summary.runs.length - summary.failed;
  console.log(
    `\nnb:run: ${ok} passed, ${summary.failed} failed, ${fmtSec(summary.elapsedMs)}` +
      (summary.runs.some((r) => r.outPath)
        ? `; executed notebooks in ${values.out ?? "dist/notebooks"}`
        : ""),
  );
  return summary.ok ? 0 : 1;
}

if (import.meta.main) await runMain(main);
