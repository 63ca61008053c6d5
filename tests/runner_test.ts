// The notebook runner and the notebook reader/writer, on the fixture notebooks in tests/fixtures/.
// Sanitizers stay on: every kernel is shut down and its sockets closed before a test ends.
import assert from "node:assert/strict";
import { formatFailure, runNotebooks } from "../tools/runner.ts";
import { stripAnsi } from "../tools/ansi.ts";
import type { NotebookRun, Progress } from "../tools/runner.ts";
import { readNotebook, validateNotebook, writeNotebook } from "../tools/notebook/io.ts";
import type { CodeCell, Notebook } from "../tools/notebook/io.ts";
import { rng } from "@kit/random.ts";
import { commandLine, processAlive } from "../tools/proc.ts";

const root = new URL("../", import.meta.url).pathname;
const fx = "tests/fixtures/";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function codeCells(nb: Notebook): CodeCell[] {
  return nb.cells.filter((c): c is CodeCell => c.cell_type === "code");
}

function text(value: unknown): string {
  return stripAnsi(Array.isArray(value) ? value.join("") : String(value));
}

Deno.test({
  name: "runner: fixtures pass, fail with clear reports, invalid files write nothing",
  async fn(t) {
    const out = await Deno.makeTempDir({ prefix: "kit-run-" });
    // A stale output of an invalid notebook must not survive the run.
    await Deno.writeTextFile(`${out}/broken_json.ipynb`, "stale");
    const names = [
      "pass",
      "assert_fail",
      "broken_json",
      "bad_schema",
      "python_kernel",
      "timeout",
      "dies",
    ];
    const progress: string[] = [];
    const prev = Deno.cwd();
    Deno.chdir(root);
    let summary;
    try {
      const common = {
        outDir: out,
        graceMs: 500,
        onProgress: (p: Progress) => progress.push(`${p.path} ${p.phase} ${p.cell}/${p.total}`),
      };
      // Only the timeout fixture gets a short cell timeout: on a busy machine a healthy cell
      // may take seconds.
      const [others, timeout] = await Promise.all([
        runNotebooks(names.filter((n) => n !== "timeout").map((n) => `${fx}${n}.ipynb`), {
          ...common,
          timeoutMs: 60_000,
        }),
        runNotebooks([`${fx}timeout.ipynb`], { ...common, timeoutMs: 3000 }),
      ]);
      const runs = names.map((n) =>
        [...others.runs, ...timeout.runs].find((r) => r.path === `${fx}${n}.ipynb`)!
      );
      const failed = others.failed + timeout.failed;
      summary = { ok: failed === 0, runs, failed };
    } finally {
      Deno.chdir(prev);
    }
    const run = (n: string): NotebookRun => summary.runs.find((r) => r.path === `${fx}${n}.ipynb`)!;

    await t.step("summary: one passed, six failed, in input order", () => {
      assert.equal(summary.ok, false);
      assert.equal(summary.failed, 6);
      assert.deepEqual(summary.runs.map((r) => r.path), names.map((n) => `${fx}${n}.ipynb`));
      assert.deepEqual(summary.runs.map((r) => r.status), [
        "ok",
        "failed",
        "invalid",
        "invalid",
        "invalid",
        "failed",
        "failed",
      ]);
      // The kernels of these runs, not every child of this process: test files running in
      // parallel share it.
      const pids = summary.runs.flatMap((r) => r.kernelPid ? [r.kernelPid] : []);
      assert.equal(pids.length, 4, "the four valid notebooks ran on a kernel each");
      const left = pids.filter((pid) => processAlive(pid)).map((pid) =>
        `${pid}: ${commandLine(pid)}`
      );
      assert.deepEqual(left, [], "no kernel process is left");
    });

    await t.step("passing notebook: outputs, counts, cwd, import map, metadata", async () => {
      const r = run("pass");
      assert.equal(r.outPath, `${out}/pass.ipynb`);
      assert.equal(r.cellsRun, 4);
      const nb = await readNotebook(r.outPath!); // validates against the schema
      const cells = codeCells(nb);
      assert.deepEqual(cells.map((c) => c.execution_count), [1, 2, 3, 4]);
      assert.deepEqual(cells[0].outputs, [
        { output_type: "stream", name: "stdout", text: "hello\nworld\n" },
      ]);
      const result = (c: CodeCell) => {
        const o = c.outputs.find((o) => o.output_type === "execute_result");
        assert.ok(o && o.output_type === "execute_result", JSON.stringify(c.outputs));
        return text(o.data["text/plain"]);
      };
      assert.equal(result(cells[1]), "11", "diabetes.csv has 11 columns (read via ../../data)");
      assert.equal(result(cells[2]), String(rng(42).int(1000)), "@kit/random.ts in the kernel");
      assert.equal((cells[2].outputs[0] as { execution_count: number }).execution_count, 3);
      const display = cells[3].outputs.find((o) => o.output_type === "display_data");
      assert.ok(display && display.output_type === "display_data");
      assert.equal(display.data["text/html"], "<b>bold</b>");
      assert.equal((nb.metadata.kit as { status: string }).status, "ok");
      assert.ok(progress.includes(`${fx}pass.ipynb cell 4/4`), progress.join("\n"));
      assert.ok(progress.includes(`${fx}pass.ipynb done 4/4`));
    });

    await t.step(
      "failing assertion: cell number, first line, ename, evalue, traceback",
      async () => {
        const r = run("assert_fail");
        const f = r.failure!;
        assert.equal(f.status, "error");
        assert.equal(f.cellNumber, 4);
        assert.equal(f.codeCellNumber, 2);
        assert.equal(f.firstLine, "// the sum is not 3");
        assert.equal(f.ename, "AssertionError");
        assert.match(f.evalue, /1 \+ 1 should be 3 \(it is not\)/);
        assert.ok(f.traceback.length > 0);
        assert.ok(!f.traceback.join("\n").includes("\x1b["), "traceback ANSI-stripped");
        const msg = r.message!;
        for (const part of [`${fx}assert_fail.ipynb`, "cell 4 (code cell 2)", "AssertionError"]) {
          assert.ok(msg.includes(part), `message lacks "${part}":\n${msg}`);
        }
        // Written as nbclient leaves it: the error in its cell, later cells not run.
        const nb = await readNotebook(r.outPath!);
        const cells = codeCells(nb);
        assert.equal(cells[1].outputs.at(-1)?.output_type, "error");
        assert.deepEqual(cells[2].outputs, []);
        assert.equal(cells[2].execution_count, null);
        assert.deepEqual(nb.metadata.kit, {
          status: "error",
          elapsed_seconds: (nb.metadata.kit as { elapsed_seconds: number }).elapsed_seconds,
          failed_cell: 4,
        });
      },
    );

    await t.step("broken JSON, schema failure, non-Deno kernel: named, nothing written", () => {
      const broken = run("broken_json");
      assert.match(broken.message!, /broken_json\.ipynb: not JSON \(.*line 8 column 1/);
      const schema = run("bad_schema");
      assert.match(schema.message!, /bad_schema\.ipynb: not a valid nbformat 4\.5 notebook/);
      assert.match(schema.message!, /at \/cells\/0: must have required property 'outputs'/);
      assert.match(schema.message!, /at \/cells\/0\/source: must be string/);
      const py = run("python_kernel");
      assert.match(py.message!, /python_kernel\.ipynb: not a Deno notebook.*"python3"/);
      for (const n of ["broken_json", "bad_schema", "python_kernel"]) {
        assert.equal(run(n).outPath, null);
        assert.equal(exists(`${out}/${n}.ipynb`), false, `${n}: nothing written (stale removed)`);
        assert.ok(formatFailure(run(n)).startsWith(`INVALID ${fx}${n}.ipynb: `));
      }
    });

    await t.step(
      "timeout: reported with cell, kernel killed, partial notebook written",
      async () => {
        const r = run("timeout");
        assert.equal(r.failure?.status, "timeout");
        assert.equal(r.failure?.cellNumber, 2);
        assert.equal(r.failure?.firstLine, "while (true) {}");
        assert.match(r.message!, /cell 2 \(code cell 2\) timed out/);
        const nb = await readNotebook(r.outPath!);
        const cells = codeCells(nb);
        assert.deepEqual(cells[0].outputs, [
          { output_type: "stream", name: "stdout", text: "before the loop\n" },
        ]);
        const err = cells[1].outputs.at(-1);
        assert.ok(err?.output_type === "error" && err.ename === "Timeout");
      },
    );

    await t.step("dying kernel: reported as died with its exit code", () => {
      const r = run("dies");
      assert.equal(r.failure?.status, "died");
      assert.equal(r.failure?.cellNumber, 2);
      assert.equal(r.failure?.ename, "KernelDied");
      assert.match(r.failure!.evalue, /code 3/);
      assert.match(r.message!, /cell 2 \(code cell 2\) killed the kernel/);
    });

    await t.step("no temporary files left in the output folder", () => {
      const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
      assert.deepEqual(files, ["assert_fail.ipynb", "dies.ipynb", "pass.ipynb", "timeout.ipynb"]);
    });
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name: "runner: the same notebook run twice gives identical outputs",
  async fn() {
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    const path = `${root}${fx}pass.ipynb`;
    const [a, b] = await Promise.all(dirs.map((d) => runNotebooks([path], { outDir: d })));
    assert.ok(a.ok && b.ok);
    const nbA = await readNotebook(`${dirs[0]}/pass.ipynb`);
    const nbB = await readNotebook(`${dirs[1]}/pass.ipynb`);
    assert.deepEqual(nbA.cells, nbB.cells);
    assert.ok(codeCells(nbA).every((c) => c.outputs.length > 0));
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  },
});

Deno.test({
  name: "runner CLI: exit 1 and a report when a notebook fails, exit 0 when all pass",
  async fn() {
    const out = await Deno.makeTempDir();
    const cli = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "tools/run.ts", "--out", out, "--timeout", "30", ...args],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const bad = await cli(`${fx}pass.ipynb`, `${fx}broken_json.ipynb`, `${fx}assert_fail.ipynb`);
    const stdout = new TextDecoder().decode(bad.stdout);
    const stderr = new TextDecoder().decode(bad.stderr);
    assert.equal(bad.code, 1, stdout + stderr);
    assert.match(stdout, /1 passed, 2 failed/);
    assert.match(stderr, /INVALID tests\/fixtures\/broken_json\.ipynb: not JSON/);
    assert.match(stderr, /FAILED tests\/fixtures\/assert_fail\.ipynb: cell 4 \(code cell 2\)/);
    assert.match(stderr, /first line: \/\/ the sum is not 3/);
    assert.match(stderr, /AssertionError: 1 \+ 1 should be 3/);
    const good = await cli(`${fx}pass.ipynb`);
    assert.equal(good.code, 0, new TextDecoder().decode(good.stderr));
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test("notebook: writeNotebook validates first, writes atomically, Jupyter layout", async () => {
  const dir = await Deno.makeTempDir();
  const nb = await readNotebook(`${root}${fx}pass.ipynb`);
  await writeNotebook(`${dir}/ok.ipynb`, nb);
  const written = await Deno.readTextFile(`${dir}/ok.ipynb`);
  assert.ok(written.startsWith('{\n "cells": [\n  {\n'), "1-space indent as Jupyter writes");
  assert.ok(written.endsWith("}\n"));
  assert.deepEqual(JSON.parse(written), nb);
  const bad = structuredClone(nb) as unknown as { cells: { source: unknown }[] };
  bad.cells[1].source = 5;
  await assert.rejects(
    () => writeNotebook(`${dir}/bad.ipynb`, bad as unknown as Notebook),
    /bad\.ipynb: not a valid nbformat 4\.5 notebook.*\n.*\/cells\/1\/source/,
  );
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ok.ipynb"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("notebook: validateNotebook names a wrong output and an old nbformat", () => {
  const nb = JSON.parse(Deno.readTextFileSync(`${root}${fx}pass.ipynb`));
  nb.cells[1].outputs = [{ output_type: "stream", name: "stdout" }];
  assert.throws(
    () => validateNotebook(nb, "o.ipynb"),
    /o\.ipynb: .*\n {2}at \/cells\/1\/outputs\/0: must have required property 'text'/,
  );
  nb.cells[1].outputs = [];
  nb.nbformat_minor = 4;
  assert.throws(() => validateNotebook(nb, "old.ipynb"), /nbformat 4\.4; re-save it/);
});
