/**
 * `deno task new NN_topic [--title TEXT] [--dir DIR]`: starts a notebook of your own,
 * `notebooks/NN_topic.ipynb`, on the kit's kernel ("Deno (course kit)"), laid out as the lecture
 * notebooks are: a first cell with the title, learning goals, the lecture it follows and
 * references; the kit's conventions as a table to delete once read; imports from `@kit/`; a
 * claim shown by an experiment, checked by an assertion and drawn; and one graded exercise
 * (prompt, solution region, a visible and a hidden check; see docs/exercises.md). It runs green
 * as written, and `deno task check`, `deno task handouts` and `deno task student` take it as it
 * is. An existing file is never overwritten.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type Cell, type Notebook, writeNotebook } from "./notebook/io.ts";
import { runMain } from "./cli.ts";
import { DISPLAY_NAME, KERNEL_NAME } from "./jupyter/kernelspec.ts";

const lines = (text: string): string[] => {
  const parts = text.split("\n");
  return parts.map((l, i) => (i < parts.length - 1 ? `${l}\n` : l)).filter((l) => l !== "");
};
const md = (id: string, text: string): Cell => ({
  cell_type: "markdown",
  id,
  metadata: {},
  source: lines(text),
});
const code = (id: string, text: string, metadata: Record<string, unknown> = {}): Cell => ({
  cell_type: "code",
  id,
  metadata,
  source: lines(text),
  outputs: [],
  execution_count: null,
});

/**
 * The starter notebook `name` (`NN_topic`) with the given title.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { starterNotebook } from "./new.ts";
 * const nb = starterNotebook("11_label_noise", "Label noise");
 * assert.equal(nb.metadata.kernelspec?.name, "deno-kit");
 * assert.ok(nb.cells.some((c) => (c.metadata.kit as { grade?: { id: string } })?.grade?.id === "11-ex1"));
 * ```
 */
export function starterNotebook(name: string, title: string): Notebook {
  const nn = name.slice(0, 2);
  const cells: Cell[] = [
    md(
      "title",
      `# ${title}

**Learning goals.** After this notebook you can

- state the claim of the lecture this notebook checks;
- show it with an experiment and check it with an assertion;
- draw it, and see it break when a hyperparameter changes.

**Lecture.** Name the deck and the slides this notebook follows, as a reader finds them (for
example: deck 001, UNAM, "Regularización L2").

*References:* the papers and book chapters (author, title, year, section).`,
    ),
    md(
      "conventions",
      `## How the kit's notebooks are written (delete this cell once read)

| rule | why |
| --- | --- |
| imports come from \`@kit/mod.ts\` (and \`node:assert\`), never from files next to the notebook | the notebook runs in Jupyter, in \`deno task handouts\` and in the grader alike |
| short cells: a claim, the experiment that shows it, an assertion right after it | every number in the text comes from code that ran, and the message says which claim failed |
| every random draw takes a seeded generator, \`rng(seed)\` | the assertions hold on every run and every machine |
| at least three figures; a sweep (λ, p, width) as a \`plot.slider\` | figures are the point of a notebook; the handouts print every step of a slider |
| the whole notebook runs in well under 30 s | students rerun it often; the grader has a time limit |
| graded exercises at the end, marked as \`docs/exercises.md\` says | \`deno task student\` and \`deno task grade\` read these marks |
| the kernel is "${DISPLAY_NAME}" (\`${KERNEL_NAME}\`) | it keeps every output under its own cell |

Check your notebook with \`npx -y deno@2.9.6 task check\` (type errors by cell and line) and
\`npx -y deno@2.9.6 task handouts notebooks/${name}.ipynb\` (runs it, writes its page).`,
    ),
    code(
      "imports",
      `import assert from "node:assert/strict";
import { assertClose, plot, rng } from "@kit/mod.ts";`,
    ),
    md(
      "claim",
      `## A claim, its experiment and its check

Replace this example with the lecture's claim. Here: the mean of $n$ standard normal draws has
standard deviation $1/\\sqrt{n}$.`,
    ),
    code(
      "experiment",
      `const sizes = [10, 40, 160, 640];
const gen = rng(0);
const spread = sizes.map((n) => {
  const means = Array.from({ length: 400 }, () => {
    let s = 0;
    for (let i = 0; i < n; i++) s += gen.normal();
    return s / n;
  });
  const m = means.reduce((a, b) => a + b, 0) / means.length;
  return Math.sqrt(means.reduce((a, b) => a + (b - m) ** 2, 0) / (means.length - 1));
});
spread.map((s) => Number(s.toFixed(4)));`,
    ),
    code(
      "check",
      `assertClose(spread, sizes.map((n) => 1 / Math.sqrt(n)), {
  rtol: 0.15,
  msg: "the spread of the mean of n draws should be about 1/sqrt(n)",
});
"the spread of the mean shrinks as 1/sqrt(n)";`,
    ),
    code(
      "figure",
      `plot.line(
  [
    { name: "measured", x: sizes, y: spread, mode: "lines+markers" },
    { name: "1/sqrt(n)", x: sizes, y: sizes.map((n) => 1 / Math.sqrt(n)), dash: "dash" },
  ],
  { title: "Spread of the mean of n draws", xLabel: "n", yLabel: "standard deviation", logX: true, logY: true },
);`,
    ),
    md(
      "exercises",
      `## Exercises

### Exercise 1: the standard error (10 points)

Write \`ex1StandardError(values)\`: the standard deviation of the values (divide by
\`values.length - 1\`) over the square root of their number.`,
    ),
    code(
      "ex1-solution",
      `/** Exercise 1: the standard error of the mean of \`values\`. */
function ex1StandardError(values: number[]): number {
  // BEGIN SOLUTION
  const n = values.length;
  const m = values.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  return sd / Math.sqrt(n);
  // END SOLUTION
}`,
    ),
    code(
      "ex1-visible",
      `assertClose(ex1StandardError([1, 2, 3, 4]), Math.sqrt(5 / 3) / 2, {
  rtol: 1e-12,
  msg: "for [1, 2, 3, 4] the standard deviation is sqrt(5/3), over sqrt(4)",
});`,
      { kit: { grade: { id: `${nn}-ex1-visible`, points: 0, hidden: false } } },
    ),
    code(
      "ex1-hidden",
      `assertClose(ex1StandardError([2, 2, 2, 6]), 1, {
  rtol: 1e-12,
  msg: "the standard error of [2, 2, 2, 6]: divide by n - 1 in the variance",
});
assert.ok(Number.isNaN(ex1StandardError([5])) || !Number.isFinite(ex1StandardError([5])));`,
      { kit: { grade: { id: `${nn}-ex1`, points: 10, hidden: true } } },
    ),
  ];
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: KERNEL_NAME, display_name: DISPLAY_NAME, language: "typescript" },
      language_info: {
        codemirror_mode: "typescript",
        file_extension: ".ts",
        mimetype: "text/x.typescript",
        name: "typescript",
        nbconvert_exporter: "script",
        pygments_lexer: "typescript",
      },
    },
    cells,
  };
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      title: { type: "string" },
      dir: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const usage = "usage: deno task new NN_topic [--title TEXT] [--dir DIR]\n" +
    "Writes DIR/NN_topic.ipynb (default notebooks/): a notebook on the kit's kernel with the\n" +
    "lecture notebooks' layout, the kit's conventions and a graded exercise. Never overwrites.";
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const name = positionals[0]?.replace(/\.ipynb$/, "");
  if (!name || positionals.length > 1 || !/^\d\d_[a-z0-9_]+$/.test(name)) {
    console.error(
      `new: give one name like 11_label_noise (two digits, an underscore, lower-case words)` +
        `${name ? `, not "${positionals.join(" ")}"` : ""}\n${usage}`,
    );
    return 2;
  }
  const title = values.title ??
    name.slice(3).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
  const path = join(values.dir ?? "notebooks", `${name}.ipynb`);
  try {
    await Deno.lstat(path);
    console.error(`new: ${path} exists; choose another name (nothing was written)`);
    return 1;
  } catch { /* free */ }
  await writeNotebook(path, starterNotebook(name, title));
  console.log(
    `Wrote ${path}. Open it in Jupyter (kernel "${DISPLAY_NAME}"), or run it with ` +
      `\`npx -y deno@2.9.6 task handouts ${path}\`.`,
  );
  return 0;
}

if (import.meta.main) await runMain(main);
