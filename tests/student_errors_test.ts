// Errors a student must see, and output that must never pass as success (issue #10, items 4-6),
// through the runner on fixtures: a syntax error, a throw in a timer, an unhandled rejection, a
// cell whose output does not end; the runner's --timeout and --out checks; the kernelspec
// install. (The same cases through Jupyter: tests/relay_test.ts.)
import assert from "node:assert/strict";
import { childrenOf, processRunning } from "./_util.ts";
import { runNotebooks, stripAnsi } from "../tools/run.ts";
import {
  inNpxCache,
  installKernel,
  jupyterDataDir,
  uninstallKernel,
} from "../tools/jupyter/kernelspec.ts";

const zmq = { sanitizeResources: false, sanitizeOps: false };
const fixtures = new URL("./fixtures/", import.meta.url).pathname;

Deno.test({
  name: "runner: syntax error, timer throw, unhandled rejection, lost output fail naming the cell",
  ...zmq,
  async fn() {
    const names = ["syntax_error", "timer_throw", "rejection", "lost_output"];
    const paths = names.map((n) => `${fixtures}${n}.ipynb`);
    // Only the lost-output case gets a short marker timeout: under load a healthy cell's marker
    // can take a few seconds.
    const [some, lostRun] = await Promise.all([
      runNotebooks(paths.slice(0, 3), { outDir: null, concurrency: 2, timeoutMs: 20_000 }),
      runNotebooks(paths.slice(3), { outDir: null, timeoutMs: 20_000, markerTimeoutMs: 3_000 }),
    ]);
    const s = { failed: some.failed + lostRun.failed, runs: [...some.runs, ...lostRun.runs] };
    const run = Object.fromEntries(names.map((n, i) => [n, s.runs[i]]));
    assert.equal(s.failed, 4);
    const errorOutput = (n: string, cell: number) => {
      const c = run[n].notebook!.cells[cell];
      assert.ok(c.cell_type === "code");
      const e = c.outputs.find((o) => o.output_type === "error");
      assert.ok(e && e.output_type === "error", `${n}: an error output under cell ${cell + 1}`);
      return e;
    };

    const syn = run.syntax_error.failure!;
    assert.equal(syn.cellNumber, 3);
    assert.equal(syn.ename, "SyntaxError");
    assert.equal(syn.evalue, "Expression expected (line 2, column 9)");
    assert.equal(errorOutput("syntax_error", 2).ename, "SyntaxError");
    assert.ok(errorOutput("syntax_error", 2).traceback.some((l) => l.includes("let x = ;")));

    const timer = run.timer_throw.failure!;
    assert.equal(timer.status, "error", "reported, not a timeout: the next cell did not hang");
    assert.equal(timer.cellNumber, 3, "the cell running when the timer threw");
    assert.match(timer.ename, /uncaught error in a setTimeout callback/);
    assert.equal(timer.evalue, "thrown in a timer");
    assert.ok(run.timer_throw.elapsedMs < 15_000);

    const rej = run.rejection.failure!;
    assert.equal(rej.cellNumber, 2);
    assert.match(rej.ename, /unhandled promise rejection/);
    assert.equal(rej.evalue, "assertion failed in a callback");
    assert.equal(errorOutput("rejection", 1).evalue, "assertion failed in a callback");

    const lost = run.lost_output.failure!;
    assert.equal(lost.status, "lost");
    assert.equal(lost.cellNumber, 3);
    assert.match(lost.evalue, /end-of-cell marker line/);
    assert.match(stripAnsi(run.lost_output.message!), /cell 3 \(code cell 2\) lost output/);
    assert.equal((run.lost_output.notebook!.metadata.kit as { status: string }).status, "lost");
  },
});

Deno.test("runner CLI: --timeout past what a timer can wait, and an unwritable --out, fail first", async () => {
  const cli = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../tools/run.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const big = await cli([`${fixtures}pass.ipynb`, "--timeout", "1e10", "--out", "/tmp"]);
  assert.equal(big.code, 2);
  assert.match(new TextDecoder().decode(big.stderr), /--timeout must be at most 2147483 seconds/);
  const file = await Deno.makeTempFile();
  try {
    const ro = await cli([`${fixtures}pass.ipynb`, "--out", `${file}/sub`]);
    assert.equal(ro.code, 2);
    const err = new TextDecoder().decode(ro.stderr);
    assert.match(err, /cannot write executed notebooks to .*\/sub/);
    assert.doesNotMatch(new TextDecoder().decode(ro.stdout), /started/, "nothing ran");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("kernelspec: JUPYTER_DATA_DIR, idempotent install, Deno copied out of npx's cache, uninstall", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(
      jupyterDataDir((k) => (k === "JUPYTER_DATA_DIR" ? `${dir}/jd` : undefined)),
      `${dir}/jd`,
    );
    if (Deno.build.os === "linux") {
      const home = (k: string) => ({ HOME: "/home/u" } as Record<string, string>)[k];
      assert.equal(jupyterDataDir(home), "/home/u/.local/share/jupyter");
    }
    // A fake Deno inside an npx cache: the install must not point there.
    const npx = `${dir}/.npm/_npx/0123abcd/node_modules/deno`;
    await Deno.mkdir(npx, { recursive: true });
    await Deno.writeTextFile(`${npx}/deno`, "#!/bin/sh\necho fake deno\n");
    assert.ok(inNpxCache(`${npx}/deno`));
    const dataDir = `${dir}/jd`;
    const spec = await installKernel({ dataDir, deno: `${npx}/deno` });
    assert.equal(spec, `${dataDir}/kernels/deno-kit`);
    await installKernel({ dataDir, deno: `${npx}/deno` }); // a second install replaces the first
    const json = JSON.parse(await Deno.readTextFile(`${spec}/kernel.json`));
    assert.equal(json.argv[0], `${spec}/bin/deno`);
    assert.ok(
      !JSON.stringify(json).includes("_npx"),
      "kernel.json does not point into npx's cache",
    );
    assert.equal(await Deno.readTextFile(`${spec}/bin/deno`), "#!/bin/sh\necho fake deno\n");
    assert.equal(json.interrupt_mode, "message");
    assert.equal(json.language, "typescript");
    assert.ok(json.argv.includes("{connection_file}"));
    assert.ok(json.argv.some((a: string) => a.endsWith("tools/jupyter/relay.ts")));
    assert.deepEqual([...Deno.readDirSync(spec)].map((e) => e.name).sort(), [
      "bin",
      "kernel.json",
      "plotly.min.js", // served to the figures' HTML (tools/jupyter/plotly_asset.ts)
    ]);
    // A Deno outside the cache is used where it is.
    await installKernel({ dataDir, deno: "/usr/bin/deno-somewhere" });
    const again = JSON.parse(await Deno.readTextFile(`${spec}/kernel.json`));
    assert.equal(again.argv[0], "/usr/bin/deno-somewhere");
    assert.equal(await uninstallKernel({ dataDir }), true);
    assert.equal(await uninstallKernel({ dataDir }), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "runner: when its launcher dies (npx's sh -c), the runner and its kernel stop",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const out = await Deno.makeTempDir();
    const run = new URL("../tools/run.ts", import.meta.url).pathname;
    // Like npm's `sh -c 'deno task ...'`: the trailing `; true` keeps sh from exec-ing.
    const sh = new Deno.Command("sh", {
      args: [
        "-c",
        `"$0" run -A "$1" "$2" --out "$3"; true`,
        Deno.execPath(),
        run,
        `${fixtures}slow.ipynb`,
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = sh.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("started")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const [runner] = childrenOf(sh.pid);
    assert.ok(runner, "the runner runs under sh");
    let kernels = childrenOf(runner);
    for (let i = 0; i < 100 && kernels.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      kernels = childrenOf(runner);
    }
    assert.ok(kernels.length >= 1, "the kernel (and its watchdog) run under the runner");
    sh.kill("SIGKILL");
    await sh.status;
    const t0 = performance.now();
    while (
      (processRunning(runner) || kernels.some(processRunning)) && performance.now() - t0 < 8_000
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    reader.releaseLock();
    await sh.stdout.cancel().catch(() => {});
    await sh.stderr.cancel().catch(() => {});
    assert.equal(processRunning(runner), false, "the runner stopped");
    for (const k of kernels) assert.equal(processRunning(k), false, `process ${k} stopped`);
    const left = [...Deno.readDirSync(out)].map((e) => e.name);
    assert.deepEqual(left, [], "nothing written, no .tmp file");
    await Deno.remove(out, { recursive: true });
  },
});
