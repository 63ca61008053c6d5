/**
 * The grader on 30 submissions of one notebook (the grading fixture: 10 with the solutions, 10
 * untouched student versions, 10 with one wrong answer), with `--jobs 1` (the baseline) and
 * `--jobs 2`. Each submission runs in its own sandboxed `deno repl` process, so the work spreads
 * over processes; feedback pages are left out (`noFeedback`), the CSV and summary are written.
 *
 * Run: `deno bench -A bench/grade_bench.ts`; `BENCH_SMOKE=1` grades 4 submissions.
 */
import { gradeAll } from "../tools/grade/grade.ts";
import { studentNotebook } from "../tools/notebook/exercises.ts";
import type { Notebook } from "../tools/notebook/io.ts";
import { bench, SMOKE } from "./_stats.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const notebooks = `${root}/tests/fixtures/grade/notebooks`;
const NB = "90_grading_fixture.ipynb";
const instructor: Notebook = JSON.parse(await Deno.readTextFile(`${notebooks}/${NB}`));
const wrong = JSON.stringify(instructor).replace("1 / (1 - p)", "1 - p");
const versions = [JSON.stringify(instructor), JSON.stringify(studentNotebook(instructor)), wrong];
const COUNT = SMOKE ? 4 : 30;

const dir = await Deno.makeTempDir({ prefix: "grade_bench_" });
for (let i = 0; i < COUNT; i++) {
  const s = `${dir}/subs/student${String(i).padStart(2, "0")}`;
  await Deno.mkdir(s, { recursive: true });
  await Deno.writeTextFile(`${s}/${NB}`, versions[i % 3]);
}
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

async function run(jobs: number): Promise<void> {
  const { records } = await gradeAll({
    submissions: `${dir}/subs`,
    notebooks,
    out: `${dir}/out${jobs}`,
    jobs,
    timeoutSec: 60,
    memoryMb: 1024,
    quiet: true,
    noFeedback: true,
  });
  const total = records.reduce((s, r) => s + r.rows.reduce((t, x) => t + x.points, 0), 0);
  const expected = [10, 0, 7].reduce(
    (s, p, k) =>
      s + p * Array.from({ length: COUNT }, (_, i) => i % 3 === k).filter(Boolean).length,
    0,
  );
  if (total !== expected) throw new Error(`grade_bench: ${total} points, expected ${expected}`);
}

const group = `grading ${COUNT} submissions of one notebook`;
bench({
  group,
  name: "--jobs 1",
  baseline: true,
  n: SMOKE ? 1 : 5,
  warmup: 1,
  fn: async () => await run(1),
});
bench({ group, name: "--jobs 2", n: SMOKE ? 1 : 5, warmup: 1, fn: async () => await run(2) });
