/**
 * The kernel client before and after a change, in one run: each round starts a child `deno run`
 * per tree (alternating which goes first) that imports that tree's `tools/jupyter/kernel.ts`,
 * starts Deno's kernel three times (the start-up is timed) and runs 60 `1 + 1` cells on the first
 * one (the round trip is timed, the first 10 dropped as warm-up). Prints the medians over the
 * rounds and the ratios (after / before: below 1 is faster now).
 *
 * ```sh
 * git worktree add --detach /tmp/base 9a08572
 * deno run -A bench/kernel_before_after.ts /tmp/base [--rounds 5]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

const USAGE = `usage: deno run -A bench/kernel_before_after.ts BASE_DIR [--rounds N]

Times Deno's kernel start-up and a 1 + 1 round trip through the kernel client of BASE_DIR (a
checkout of an earlier commit) and of this tree, alternately, N rounds (default 5).`;

const CHILD = `
const { Kernel } = await import(Deno.args[0] + "/tools/jupyter/kernel.ts");
const starts = [], trips = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const k = await Kernel.start();
  starts.push(performance.now() - t0);
  await k.execute("0");
  for (let j = 0; j < (i === 0 ? 60 : 0); j++) {
    const t = performance.now();
    await k.execute("1 + 1");
    trips.push(performance.now() - t);
  }
  await k.shutdown();
}
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(JSON.stringify({ start: med(starts), trip: med(trips.slice(10)) }));
`;

/** The median of `xs`. */
function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { rounds: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rounds = Number(values.rounds ?? 5);
  if (positionals.length !== 1 || !Number.isInteger(rounds) || rounds < 1) {
    console.error(USAGE);
    return 2;
  }
  const base = positionals[0].replace(/\/$/, "");
  const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const child = await Deno.makeTempFile({ suffix: ".mjs" });
  await Deno.writeTextFile(child, CHILD);
  const res = new Map([[base, { start: [] as number[], trip: [] as number[] }], [here, {
    start: [] as number[],
    trip: [] as number[],
  }]]);
  try {
    for (let i = 0; i < rounds; i++) {
      for (const root of i % 2 ? [here, base] : [base, here]) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--config", `${root}/deno.json`, child, root],
          cwd: root,
          stderr: "inherit",
        }).output();
        if (!out.success) throw new Error(`the child for ${root} failed`);
        const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
        const r = JSON.parse(line);
        res.get(root)!.start.push(r.start);
        res.get(root)!.trip.push(r.trip);
      }
      console.log(`round ${i + 1} of ${rounds} done`);
    }
  } finally {
    await Deno.remove(child);
  }
  const b = res.get(base)!, h = res.get(here)!;
  console.log(`| | ${base} | this tree | ratio (this / base) |`);
  console.log(`| --- | ---: | ---: | ---: |`);
  for (const [name, key] of [["start-up", "start"], ["1 + 1 round trip", "trip"]] as const) {
    const [x, y] = [median(b[key]), median(h[key])];
    console.log(`| ${name} | ${x.toFixed(2)} ms | ${y.toFixed(2)} ms | ${(y / x).toFixed(3)} |`);
  }
  console.log(`${rounds} rounds, alternating; load average ${Deno.loadavg().join(" ")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
