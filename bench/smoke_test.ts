// Smoke run of the benchmark suite: `deno bench` of bench/ with BENCH_SMOKE=1 (small sizes, few
// iterations, one notebook; about 20 s) must pass and print every group's median table, each row
// with a measured median, and the tfjs baselines where the group has one. Runs with the
// benchmarks' own config (bench/deno.json): `deno test -A --config bench/deno.json bench/`.
import assert from "node:assert";
import { fmaFused } from "@kit/kernels.ts";

const root = new URL("..", import.meta.url).pathname;
/** The FMA kernel's rows, where this CPU fuses WebAssembly's relaxed multiply-add. */
const FMA = fmaFused() ? ["ours gemmFma"] : [];

/** The median tables in the output: group -> rows of cells (header row first). */
function medianTables(out: string): Map<string, string[][]> {
  const tables = new Map<string, string[][]>();
  for (const block of out.split("\nmedians: ").slice(1)) {
    const [group, ...lines] = block.split("\n");
    const rows: string[][] = [];
    for (const l of lines) {
      const cells = l.split("|").slice(1, -1).map((c) => c.trim());
      // Deno's own table rows may follow without a blank line: they have other columns.
      if (!l.startsWith("|") || (rows.length && cells.length !== rows[0].length)) break;
      if (!/^[|\s:-]+$/.test(l)) rows.push(cells); // not the separator row
    }
    tables.set(group, rows);
  }
  return tables;
}

Deno.test("bench: the suite runs in smoke mode and prints every group's medians", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    // bench/ is type-checked by `deno task check`; checking tfjs's types again here costs seconds
    args: ["bench", "-A", "--no-check", "--config", "bench/deno.json", "bench/"],
    cwd: root,
    env: { BENCH_SMOKE: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Echo each group as it finishes: the run takes about 20 s and should not look hung.
  let out = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      for (const m of text.matchAll(/^medians: (.*)$/gm)) {
        console.log(`  bench group done: ${m[1]}`);
      }
      out += text;
    }
  })();
  const [{ code }, stderrBytes] = await Promise.all([
    child.status,
    new Response(child.stderr).arrayBuffer(),
    reading,
  ]);
  const stderr = new Uint8Array(stderrBytes);
  const tail = `\n--- stdout (end) ---\n${out.slice(-3000)}\n--- stderr (end) ---\n${
    new TextDecoder().decode(stderr).slice(-3000)
  }`;
  assert.strictEqual(code, 0, `deno bench exited with ${code}${tail}`);

  const tables = medianTables(out);
  const expected: [string, string[]][] = [
    ["matmul n=32", ["tfjs-wasm", "tfjs-cpu", ...FMA, "ours gemmSimd", "ours gemmBlocked"]],
    ["matmul n=64", ["tfjs-wasm", "tfjs-cpu", ...FMA, "ours gemmSimd", "ours gemmBlocked"]],
    ["train step MLP 64-128-128-10 (batch 64, cross-entropy, Adam)", ["tfjs-wasm", "ours"]],
    ["train step MLP 2-16-16-1 (batch 32, mse, Adam)", ["tfjs-wasm", "ours"]],
    ["double-descent sweep", ["ml-matrix", "minNormLstsqRaw"]],
    ["double-descent sweep on Web Workers (2 seeds x 30 fits)", ["main thread", "parallelMap"]],
    ["notebooks (end to end on the Deno kernel)", [".ipynb"]],
    ["kernel", ["start + shutdown"]],
    ["grading 4 submissions of one notebook", ["--jobs 1", "--jobs 2"]],
  ];
  for (const [group, names] of expected) {
    const rows = tables.get(group);
    assert.ok(rows, `no median table "medians: ${group}"; tables: ${[...tables.keys()]}${tail}`);
    const [head, ...body] = rows;
    assert.deepStrictEqual(head.slice(0, 3), ["benchmark", "runs", "median"], group);
    for (const name of names) {
      assert.ok(body.some((r) => r[0].includes(name)), `${group}: no row for "${name}"`);
    }
    for (const r of body) {
      assert.match(r[2], /^\d[\d.]* (µs|ms|s)$/, `${group}, ${r[0]}: median "${r[2]}"`);
      assert.ok(Number(r[1]) >= 1, `${group}, ${r[0]}: no measured runs`);
      if (group.startsWith("matmul")) assert.ok(Number(r[3]) > 0, `${group}, ${r[0]}: GFLOP/s`);
    }
    if (
      names[0].startsWith("tfjs") || ["ml-matrix", "main thread", "--jobs 1"].includes(names[0])
    ) {
      assert.strictEqual(body[0].at(-1), "baseline", `${group}: the first row is the baseline`);
      for (const r of body.slice(1)) assert.match(r.at(-1)!, /^\d[\d.e-]*x$/, `${group}: ratio`);
    }
  }
});
