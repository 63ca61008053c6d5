/**
 * What the Spanish edition adds to the handouts build: `deno task handouts` and
 * `deno task handouts --lang es`, interleaved (the order alternates each round, so a change in
 * the machine's load hits both), wall time of each run with the load average when it started,
 * then the medians, their difference and ratio.
 *
 * `deno run -A bench/handouts_lang.ts [--rounds N]` (default 3) from the kit's root. It writes
 * the real `dist/handouts/` and `dist/handouts/es/`. A script rather than a `deno bench` file:
 * one round takes minutes, and `deno task bench` must stay a few minutes long.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(
    "usage: deno run -A bench/handouts_lang.ts [--rounds N]\n" +
      "Times deno task handouts and deno task handouts --lang es, interleaved, N rounds (3).",
  );
  Deno.exit(0);
}
const rounds = Number(values.rounds ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds ${values.rounds}: give a whole number >= 1`);
  Deno.exit(2);
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "?";
  }
}

async function timed(args: string[]): Promise<{ seconds: number; load: string }> {
  const load = loadAverage();
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "handouts", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) {
    console.error(new TextDecoder().decode(out.stderr).slice(-2000));
    throw new Error(`deno task handouts ${args.join(" ")} failed`);
  }
  return { seconds, load };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const times: Record<"en" | "es", number[]> = { en: [], es: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? (["en", "es"] as const) : (["es", "en"] as const);
  for (const lang of order) {
    const { seconds, load } = await timed(lang === "en" ? [] : ["--lang", "es"]);
    times[lang].push(seconds);
    console.log(`round ${r + 1} ${lang}: ${seconds.toFixed(1)} s (load average ${load})`);
  }
}
const en = median(times.en), es = median(times.es);
console.log(
  `medians: English ${en.toFixed(1)} s, Spanish ${es.toFixed(1)} s; the Spanish build adds ` +
    `${es.toFixed(1)} s to the English one (${(es / en).toFixed(2)}x its time), ` +
    `load average now ${loadAverage()}`,
);
