/**
 * Medians for `deno bench`, which reports mean, min, max and percentiles but no median. Register
 * benches with {@link bench} instead of `Deno.bench`: each call is also timed on the side, and
 * when the file's benches are done one table per group is printed:
 *
 * ```text
 * medians: matmul n=256
 * | benchmark | runs | median | GFLOP/s | speed vs baseline |
 * ```
 *
 * "speed vs baseline" is the baseline's median divided by this row's median: above 1 is faster than
 * the baseline. Deno's warm-up calls are left out: with an explicit `n` only the last `n` calls
 * count, without it the second half of them. `BENCH_SMOKE=1` ({@link SMOKE}) caps every bench at
 * 3 measured calls, for `tests/bench_smoke_test.ts`.
 *
 * @module
 */

/** True under `BENCH_SMOKE=1`: every bench file shrinks its sizes, iterations and notebooks. */
export const SMOKE = Deno.env.get("BENCH_SMOKE") === "1";

/** One benchmark. */
export interface Case {
  group: string;
  name: string;
  /** The group's reference row: the ratio column is relative to it. */
  baseline?: boolean;
  /** Floating-point operations per call: the table then shows GFLOP/s. */
  flops?: number;
  /** Measured calls (Deno's `n`); default: as many as fit in Deno's time budget. */
  n?: number;
  /** Deno's warm-up calls. */
  warmup?: number;
  /** Runs before each call, outside both timers (e.g. switching the tfjs backend). */
  before?: () => void | Promise<void>;
  /**
   * The code measured; an `async` function is awaited. A number returned is the call's time in
   * ms as measured by the callee (e.g. in a child process) and replaces the side timer's.
   */
  fn: () => void | number | Promise<void | number>;
}

interface Row {
  c: Case;
  /** Deno's `n`. */
  n?: number;
  /** Every call's time in ms, warm-up calls included. */
  times: number[];
}
const groups = new Map<string, Row[]>();

/** `Deno.bench` with a side timer for the median table. */
export function bench(c: Case): void {
  const times: number[] = [];
  const n = SMOKE ? Math.min(c.n ?? 3, 3) : c.n;
  if (!groups.has(c.group)) groups.set(c.group, []);
  groups.get(c.group)!.push({ c, n, times });
  const timed = (t0: number, r: void | number) =>
    times.push(typeof r === "number" ? r : performance.now() - t0);
  const opts = { name: c.name, group: c.group, baseline: c.baseline, n, warmup: c.warmup };
  if (c.before || c.fn.constructor.name === "AsyncFunction") {
    // b.start/b.end keep `before` out of Deno's own numbers too.
    Deno.bench({
      ...opts,
      async fn(b) {
        await c.before?.();
        b.start();
        const t0 = performance.now();
        timed(t0, await c.fn());
        b.end();
      },
    });
  } else {
    Deno.bench({
      ...opts,
      fn() {
        const t0 = performance.now(), r = c.fn();
        if (r instanceof Promise) throw new Error(`${c.name}: declare fn async`);
        timed(t0, r);
      },
    });
  }
}

/** The measured calls (ms), sorted: Deno's warm-up calls left out. */
function measured({ n, times }: Row): number[] {
  return (n ? times.slice(-n) : times.slice(times.length >> 1)).sort((a, b) => a - b);
}

function median(s: number[]): number {
  const h = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** 3 significant digits in µs, ms or s. */
function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  const [v, unit] = ms < 1 ? [ms * 1e3, "µs"] : ms < 1e3 ? [ms, "ms"] : [ms / 1e3, "s"];
  return `${v.toPrecision(3)} ${unit}`;
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(3, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    `| ${r.map((x, j) => (j === 0 ? x.padEnd(w[j]) : x.padStart(w[j]))).join(" | ")} |`;
  const rule = `| ${
    w.map((x, j) => (j === 0 ? "-".repeat(x) : "-".repeat(x - 1) + ":")).join(" | ")
  } |`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join("\n");
}

globalThis.addEventListener("unload", () => {
  for (const [group, cases] of groups) {
    const runs = cases.map(measured);
    const med = runs.map(median);
    const base = med[cases.findIndex(({ c }) => c.baseline)];
    const gflops = cases.some(({ c }) => c.flops);
    const head = ["benchmark", "runs", "median", ...(gflops ? ["GFLOP/s"] : [])];
    if (base !== undefined) head.push("speed vs baseline");
    const rows = cases.map(({ c }, i) => {
      const r = [c.name, String(runs[i].length), fmtMs(med[i])];
      if (gflops) r.push(c.flops ? (c.flops / med[i] / 1e6).toFixed(2) : "");
      if (base !== undefined) {
        const x = base / med[i];
        r.push(c.baseline ? "baseline" : `${x < 0.1 ? x.toPrecision(2) : x.toFixed(2)}x`);
      }
      return r;
    });
    console.log(`\nmedians: ${group}\n${table([head, ...rows])}`);
  }
});
