// The kernel client against the real `deno jupyter --kernel`. Every test ends with the kernel
// shut down and its sockets closed, so the resource and op sanitizers stay on.
import assert from "node:assert/strict";
import { Kernel } from "../tools/jupyter/kernel.ts";
import { stripAnsi } from "../tools/ansi.ts";
import { processAlive } from "../tools/proc.ts";
import { executeNotebook } from "../tools/runner.ts";
import { readNotebook } from "../tools/notebook/io.ts";
import type { Output } from "../tools/notebook/io.ts";

const fixtures = new URL("./fixtures/", import.meta.url).pathname;
const processExists = processAlive;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function plain(out: Output | undefined): string {
  assert.ok(out && (out.output_type === "execute_result" || out.output_type === "display_data"));
  return stripAnsi(String(out.data["text/plain"]));
}

Deno.test({
  name: "kernel: start, execute, streams, errors, displays, cwd and import map, shutdown",
  async fn(t) {
    const kernel = await Kernel.start({ cwd: fixtures });
    const pid = kernel.pid;
    const conn = kernel.connectionFile;
    try {
      assert.ok(processExists(pid), "the kernel process runs");
      assert.ok(exists(conn), "the connection file exists while the kernel runs");
      assert.ok(kernel.startupMs > 0);

      await t.step("execute_result with execution count", async () => {
        const r = await kernel.execute("6 * 7");
        await kernel.settle();
        assert.equal(r.status, "ok");
        assert.equal(r.executionCount, 1);
        assert.equal(r.outputs.length, 1);
        assert.equal(r.outputs[0].output_type, "execute_result");
        assert.equal((r.outputs[0] as { execution_count: number }).execution_count, 1);
        assert.equal(plain(r.outputs[0]), "42");
      });

      await t.step("streams: consecutive same-name chunks merged, stderr separate", async () => {
        const r = await kernel.execute(
          'console.log("a"); console.log("b"); console.error("e"); console.log("c");',
        );
        await kernel.settle();
        assert.equal(r.status, "ok");
        assert.deepEqual(r.outputs, [
          { output_type: "stream", name: "stdout", text: "a\nb\n" },
          { output_type: "stream", name: "stderr", text: "e\n" },
          { output_type: "stream", name: "stdout", text: "c\n" },
        ]);
      });

      await t.step("back-to-back cells: every printed line lands in its own cell", async () => {
        // The kernel labels a printed line with the cell running when the line leaves its
        // internal queue; under load the tail of one cell arrived labelled as the next one.
        const rs = [];
        for (let i = 0; i < 30; i++) {
          rs.push(await kernel.execute(`console.log("p${i}"); console.error("q${i}"); ${i}`));
        }
        await kernel.settle();
        rs.forEach((r, i) => {
          assert.equal(r.status, "ok");
          assert.deepEqual(r.outputs.slice(0, 2), [
            { output_type: "stream", name: "stdout", text: `p${i}\n` },
            { output_type: "stream", name: "stderr", text: `q${i}\n` },
          ], `cell ${i}`);
          assert.equal(plain(r.outputs[2]), String(i));
          assert.equal(r.outputs.length, 3, `cell ${i}: ${JSON.stringify(r.outputs)}`);
        });
      });

      await t.step(
        "a timer that prints after its cell ended lands in the cell then running",
        async () => {
          // The timer of the first cell prints once the second cell runs, and the second cell
          // ends only after the print: the print provably happens while the second cell runs.
          const first = await kernel.execute(
            "const flags = globalThis as { second?: boolean; printed?: boolean };\n" +
              "setTimeout(function tick() {\n" +
              "  if (!flags.second) return void setTimeout(tick, 10);\n" +
              '  console.log("late");\n' +
              "  flags.printed = true;\n" +
              "}, 10);\n1",
          );
          const second = await kernel.execute(
            "flags.second = true;\n" +
              "await new Promise<void>((r) => {\n" +
              "  const check = () => (flags.printed ? r() : setTimeout(check, 10));\n" +
              "  check();\n" +
              "});\n2",
          );
          await kernel.settle();
          assert.equal(first.outputs.length, 1, JSON.stringify(first.outputs));
          assert.deepEqual(second.outputs[0], {
            output_type: "stream",
            name: "stdout",
            text: "late\n",
          });
        },
      );

      await t.step("error with ename, evalue, traceback; the kernel stays usable", async () => {
        const r = await kernel.execute('console.log("before");\nthrow new RangeError("too far")');
        assert.equal(r.status, "error");
        assert.equal(r.errorInfo?.ename, "RangeError");
        assert.equal(r.errorInfo?.evalue, "too far");
        assert.ok(r.errorInfo!.traceback.join("\n").includes("RangeError"));
        const err = r.outputs.find((o) => o.output_type === "error");
        assert.ok(err && err.output_type === "error" && err.ename === "RangeError");
        assert.equal(r.outputs[0].output_type, "stream");
        const again = await kernel.execute("1 + 1");
        await kernel.settle();
        assert.equal(again.status, "ok");
        assert.equal(plain(again.outputs[0]), "2");
      });

      await t.step("working directory is the given folder; @kit/ import map resolves", async () => {
        const r = await kernel.execute(
          'import { rng } from "@kit/random.ts";\n' +
            'const head = (await Deno.readTextFile("../../data/diabetes.csv")).split("\\n")[0];\n' +
            "[Deno.cwd(), head.split(',').length, rng(7).int(1000)]",
        );
        await kernel.settle();
        assert.equal(r.status, "ok", JSON.stringify(r.errorInfo));
        const { rng } = await import("../lib/random.ts");
        const cwd = fixtures.replace(/\/$/, "");
        assert.equal(plain(r.outputs[0]), `[ "${cwd}", 11, ${rng(7).int(1000)} ]`);
      });

      await t.step("display_data and update_display_data by display_id", async () => {
        const shown = await kernel.execute(
          'await Deno.jupyter.display({ "text/plain": "v1" }, { raw: true, display_id: "d1" } as never);',
        );
        const upd = await kernel.execute(
          'await Deno.jupyter.broadcast("update_display_data", ' +
            '{ data: { "text/plain": "v2" }, metadata: {}, transient: { display_id: "d1" } });',
        );
        await kernel.settle();
        assert.equal(shown.status, "ok");
        assert.equal(upd.status, "ok");
        assert.equal(shown.outputs[0].output_type, "display_data");
        assert.equal(plain(shown.outputs[0]), "v2", "the earlier display was updated in place");
        assert.ok(!upd.outputs.some((o) => o.output_type === "display_data"));
      });
    } finally {
      await kernel.shutdown();
    }
    await t.step("shutdown: process gone, connection file deleted, idempotent", async () => {
      assert.equal(kernel.alive, false);
      assert.equal(processExists(pid), false, `kernel pid ${pid} still exists`);
      assert.equal(exists(conn), false);
      await kernel.shutdown();
    });
  },
});

Deno.test({
  name: "kernel: a busy cell times out, is interrupted then killed, no process left",
  async fn() {
    const kernel = await Kernel.start();
    try {
      const before = await kernel.execute('console.log("alive")');
      assert.equal(before.status, "ok");
      const r = await kernel.execute("while (true) {}", { timeoutMs: 3000, graceMs: 1000 });
      assert.equal(r.status, "timeout");
      assert.equal(r.errorInfo?.ename, "Timeout");
      assert.match(r.errorInfo!.evalue, /3000 ms/);
      assert.ok(r.elapsedMs >= 3000);
      assert.equal(kernel.alive, false);
      assert.equal(processExists(kernel.pid), false);
      const after = await kernel.execute("1");
      assert.equal(after.status, "died", "a killed kernel reports died, it does not hang");
    } finally {
      await kernel.shutdown();
    }
    assert.equal(processExists(kernel.pid), false);
  },
});

Deno.test({
  name: "kernel: Deno.exit(3) in a cell is reported as died with the exit code",
  async fn() {
    const kernel = await Kernel.start();
    try {
      const r = await kernel.execute('console.log("bye");\nDeno.exit(3);', { timeoutMs: 60_000 });
      assert.equal(r.status, "died");
      assert.equal(r.exit?.code, 3);
      assert.equal(r.errorInfo?.ename, "KernelDied");
      assert.match(r.errorInfo!.evalue, /code 3/);
      assert.equal(processExists(kernel.pid), false);
    } finally {
      await kernel.shutdown();
    }
  },
});

Deno.test({
  name: "kernel: a start in a missing folder fails with a clear error and leaves nothing",
  async fn() {
    await assert.rejects(
      () => Kernel.start({ cwd: "/nonexistent/kit-folder" }),
      /Kernel\.start: cannot spawn .*\/nonexistent\/kit-folder/,
    );
  },
});

Deno.test({
  name: "kernel: no orphan kernel when the client is interrupted, throws or exits",
  async fn(t) {
    for (const how of ["wait", "throw", "exit"]) {
      await t.step(how, async () => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${fixtures}kernel_then.ts`, how],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        while (!text.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
        const { pid, conn } = JSON.parse(text.split("\n")[0]);
        assert.ok(pid > 0);
        if (how === "wait") child.kill("SIGINT");
        const status = await child.status;
        while (!(await reader.read()).done) { /* drain */ }
        await child.stderr.cancel();
        const expected = { wait: 130, throw: 1, exit: 4 }[how];
        assert.equal(status.code, expected, `client exit code for "${how}"`);
        // The kernel is killed synchronously; wait (with a generous cap) for init to reap it.
        for (let i = 0; i < 600 && processExists(pid); i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(processExists(pid), false, `kernel ${pid} outlived its client (${how})`);
        assert.equal(exists(conn), false, "connection file removed");
      });
    }
  },
});

Deno.test({
  name: "kernel: 50 fast cells run 10 times: every execute_result in its own cell, identical runs",
  async fn() {
    const source = await readNotebook(`${fixtures}fifty.ipynb`);
    const runOnce = async () => {
      const nb = structuredClone(source);
      const r = await executeNotebook(nb, { cwd: fixtures, timeoutMs: 60_000 });
      assert.equal(r.failure, undefined);
      return nb;
    };
    const runs = [];
    // Two kernels at a time: the late-output race needs real concurrency to show up.
    for (let i = 0; i < 10; i += 2) runs.push(...await Promise.all([runOnce(), runOnce()]));
    const first = JSON.stringify(runs[0].cells);
    for (const [k, nb] of runs.entries()) {
      assert.equal(nb.cells.length, 50);
      nb.cells.forEach((cell, i) => {
        assert.equal(cell.cell_type, "code");
        if (cell.cell_type !== "code") return;
        assert.equal(cell.execution_count, i + 1, `run ${k}, cell ${i + 1}: execution_count`);
        assert.equal(
          cell.outputs.length,
          1,
          `run ${k}, cell ${i + 1}: ${JSON.stringify(cell.outputs)}`,
        );
        const out = cell.outputs[0];
        assert.equal(out.output_type, "execute_result", `run ${k}, cell ${i + 1}`);
        assert.equal(plain(out), String(i * 2), `run ${k}, cell ${i + 1}: its own result`);
        assert.equal((out as { execution_count: number }).execution_count, i + 1);
      });
      assert.equal(JSON.stringify(nb.cells), first, `run ${k} differs from run 0`);
    }
  },
});

Deno.test({
  name: "kernel: 600 cells on one kernel (1200 requests with the marker cells)",
  async fn() {
    // Long sessions: every cell and its marker cell, 1200 requests, in order on one connection.
    const kernel = await Kernel.start();
    try {
      for (let i = 0; i < 600; i++) {
        const r = await kernel.execute(`${i} + 1`, { timeoutMs: 60_000 });
        assert.equal(r.status, "ok", `cell ${i}: ${r.status}`);
        assert.equal(r.executionCount, i + 1);
      }
    } finally {
      await kernel.shutdown();
    }
  },
});
