/**
 * `deno task new`: the starter notebook type-checks, runs green on the kernel, has a working
 * exercise (student version and grade marks), and an existing file is never overwritten.
 */
import assert from "node:assert/strict";
import { starterNotebook } from "../tools/new.ts";
import { checkNotebooks } from "../tools/notebook/check.ts";
import { runNotebooks } from "../tools/run.ts";
import { checkCells, studentNotebook } from "../tools/notebook/exercises.ts";
import { writeNotebook } from "../tools/notebook/io.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "deno task new: the starter notebook checks, runs green and grades",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Inside the kit, as notebooks/ is: the kernel finds deno.json and `@kit/` from there.
    await Deno.mkdir(`${ROOT}dist`, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: `${ROOT}dist`, prefix: "new-test-" });
    try {
      const path = `${dir}/11_label_noise.ipynb`;
      const nb = starterNotebook("11_label_noise", "Label noise");
      await writeNotebook(path, nb);
      const checked = await checkNotebooks([path]);
      assert.deepEqual(checked.diagnostics, [], "type errors in the starter notebook");
      assert.ok(checked.ok, `${JSON.stringify(checked.errors)} ${checked.raw}`);
      const run = await runNotebooks([path], { outDir: `${dir}/out` });
      assert.equal(run.runs[0].status, "ok", run.runs[0].message);
      const executed = JSON.parse(await Deno.readTextFile(`${dir}/out/11_label_noise.ipynb`));
      const figures = executed.cells.flatMap((c: { outputs?: { data?: object }[] }) =>
        c.outputs ?? []
      ).filter((o: { data?: object }) => o.data && "application/vnd.plotly.v1+json" in o.data);
      assert.equal(figures.length, 1, "the example figure is drawn");
      assert.deepEqual(checkCells(nb, path).map((c) => [c.id, c.points, c.hidden]), [
        ["11-ex1-visible", 0, false],
        ["11-ex1", 10, true],
      ]);
      const student = JSON.stringify(studentNotebook(nb, path));
      assert.ok(student.includes("Exercise 1: your code here"), "the solution becomes a stub");
      assert.ok(!student.includes("sd / Math.sqrt(n)"), "no solution in the student version");

      // The command: refuses a bad name and an existing file, writes a new one.
      const cmd = (...args: string[]) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-read", "--allow-write", `${ROOT}tools/new.ts`, ...args],
          stdout: "piped",
          stderr: "piped",
        }).output();
      assert.equal((await cmd("Label Noise", "--dir", dir)).code, 2);
      const before = await Deno.readTextFile(path);
      const again = await cmd("11_label_noise", "--dir", dir);
      assert.equal(again.code, 1);
      assert.match(new TextDecoder().decode(again.stderr), /exists/);
      assert.equal(await Deno.readTextFile(path), before, "not overwritten");
      const fresh = await cmd("12_my_topic", "--dir", dir);
      assert.equal(fresh.code, 0, new TextDecoder().decode(fresh.stderr));
      const made = JSON.parse(await Deno.readTextFile(`${dir}/12_my_topic.ipynb`));
      assert.equal(made.cells[0].source[0], "# My topic\n");
      assert.equal(made.metadata.kernelspec.name, "deno-kit");
      assert.equal((await cmd("--help")).code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
