// The kit's kernel relay (tools/jupyter/relay.ts) driven by a real Jupyter client: Debian's
// jupyter-nbconvert / python3-nbclient / jupyter_client. Expected outputs are written by hand in
// the fixture (metadata.kit_expect of each cell), not taken from the kit's runner: the runner and
// the relay share their repair code, and comparing them would hide a shared bug.
//
// Without nbclient the test is skipped with a warning, except under CI=true, where .ci/run
// installs it and a missing nbclient fails the test.
import assert from "node:assert/strict";
import { childrenOf, processRunning } from "./_util.ts";
import { jupyterPython } from "./_jupyter.ts";
import { stripAnsi } from "../tools/ansi.ts";
import { installKernel } from "../tools/jupyter/kernelspec.ts";
import { freePorts, writeConnectionFile } from "../tools/jupyter/wire.ts";

const fixtures = new URL("./fixtures/", import.meta.url).pathname;

const python = jupyterPython();
const ci = Deno.env.get("CI") === "true";
if (!python && !ci) {
  console.warn(
    "\n*** tests/relay_test.ts SKIPPED: jupyter-nbconvert / python3-nbclient not installed. ***\n" +
      "*** Install them (apt-get install jupyter-nbconvert python3-nbclient) to test the     ***\n" +
      "*** kernel relay through a real Jupyter client; CI=true runs it always.              ***\n",
  );
}

const join = (t: unknown) => Array.isArray(t) ? t.join("") : String(t ?? "");

type Expect = Record<string, string>;

/** A cell's outputs in the fixture's notation: consecutive stream chunks merged. */
function simplify(outputs: Record<string, unknown>[]): Expect[] {
  const got: Expect[] = [];
  for (const o of outputs) {
    const type = o.output_type;
    if (type === "stream") {
      const name = String(o.name);
      const last = got.at(-1);
      if (last && Object.keys(last)[0] === name) last[name] += join(o.text);
      else got.push({ [name]: join(o.text) });
    } else if (type === "execute_result" || type === "display_data") {
      const key = type === "execute_result" ? "result" : "display";
      got.push({ [key]: stripAnsi(join((o.data as Record<string, unknown>)["text/plain"])) });
    } else got.push({ [String(type)]: String(o.evalue ?? "") });
  }
  return got;
}

Deno.test({
  name: "relay: through nbclient, the 50-cell fixture's outputs land as written; stdin, " +
    "interrupt, restart and SIGKILL leave no process",
  ignore: !python && !ci,
  async fn(t) {
    assert.ok(python, "CI=true but jupyter-nbconvert/python3-nbclient are missing (see .ci/run)");
    const dataDir = await Deno.makeTempDir({ prefix: "kit-jupyter-" });
    const outDir = await Deno.makeTempDir({ prefix: "kit-nbconvert-" });
    const env = { JUPYTER_DATA_DIR: dataDir, NO_COLOR: "1" };
    try {
      await installKernel({ dataDir });

      await t.step("nbconvert --execute: every cell gets exactly its own outputs", async () => {
        const run = await new Deno.Command("jupyter", {
          args: [
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            `${fixtures}relay_fifty.ipynb`,
            "--output-dir",
            outDir,
            "--ExecutePreprocessor.timeout=60",
          ],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(run.stderr);
        assert.ok(run.success, `nbconvert failed:\n${err.slice(-3000)}`);
        const nb = JSON.parse(await Deno.readTextFile(`${outDir}/relay_fifty.ipynb`));
        assert.equal(nb.cells.length, 50);
        let count = 0;
        for (const [i, cell] of nb.cells.entries()) {
          count++;
          assert.equal(cell.execution_count, count, `cell ${i + 1}: In [${count}]`);
          assert.deepEqual(
            simplify(cell.outputs),
            cell.metadata.kit_expect,
            `cell ${i + 1} (${join(cell.source).split("\n")[0]})`,
          );
        }
      });

      await t.step("prompt(), interrupt, restart, SIGKILL through jupyter_client", async () => {
        const run = await new Deno.Command(python!, {
          args: [`${fixtures}relay_session.py`, fixtures],
          // A short marker timeout for the broken-marker step; nbconvert above keeps 10 s. The
          // interrupt's grace is 15 s, not 2 s: at a load of 14 on two cores a busy loop took
          // longer than 2 s to stop, and the relay restarted the kernel it should have kept.
          env: {
            ...env,
            KIT_RELAY_MARKER_TIMEOUT_MS: "2000",
            KIT_RELAY_INTERRUPT_GRACE_MS: "15000",
          },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(run.stdout);
        const err = new TextDecoder().decode(run.stderr);
        assert.ok(run.success, `relay_session.py failed:\n${text}\n${err.slice(-3000)}`);
        const steps = Object.fromEntries(
          text.trim().split("\n").map((l) => JSON.parse(l)).map((s) => [s.step, s]),
        );
        assert.equal(steps.start.status, "ok");
        // prompt() asks the frontend through the stdin channel.
        assert.equal(steps.stdin.status, "ok");
        assert.deepEqual(steps.stdin.asked, ["name?"]);
        assert.equal(stripAnsi(steps.stdin.result), '"hello Ada"');
        // Errors a student must see, under the cell.
        assert.deepEqual(steps.errors.syntax, ["Expression expected (line 2, column 9)"]);
        assert.deepEqual(steps.errors.rejection, [
          ["Error (unhandled promise rejection)", "failed in a callback"],
        ]);
        // Cells queued by the frontend run one by one; an error aborts those behind it.
        assert.deepEqual(steps.queue.statuses, ["ok", "error", "aborted"]);
        // A busy loop stops on interrupt and the kernel keeps its variables.
        assert.equal(steps["interrupt-busy"].status, "error");
        assert.deepEqual(steps["interrupt-busy"].shown, [
          "the cell was stopped; the kernel and its variables are kept",
        ]);
        assert.match(stripAnsi(steps["interrupt-busy"].after), /\[ 42, \d+ \]/);
        // An await cannot be interrupted: Deno's kernel is restarted and the cell says so.
        assert.equal(steps["interrupt-await"].reply, "error");
        assert.deepEqual(steps["interrupt-await"].errors, [
          "interrupted: the kernel restarted, variables are lost",
        ]);
        assert.match(stripAnsi(steps["interrupt-await"].after), /\[ "undefined", \d+ \]/);
        // Replacing console.log does not break the relay; a broken marker costs a warning, no hang.
        assert.equal(stripAnsi(steps.marker.replaced), 'still seen\n"replaced"');
        assert.equal(steps.marker.status, "ok");
        assert.match(
          stripAnsi(steps.marker.broken),
          /"broken"\[kit\] this cell's output did not end/,
        );
        // A restart from the frontend ends the old relay and its kernels.
        assert.equal(steps.restart.status, "ok");
        assert.equal(steps.restart.old_relay_alive, false);
        assert.equal(steps.restart.old_inner_alive, false);
        assert.equal(steps.restart.first_inner_alive, false);
        // SIGKILL of the relay: its watchdog ends Deno's kernel (relay_session.py waits for it).
        assert.equal(steps.sigkill.inner_alive, false);
        for (const pid of [steps.start.relay, steps.restart.relay, steps.sigkill.inner]) {
          assert.equal(processRunning(pid), false, `process ${pid} left behind`);
        }
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(outDir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Starts the relay as Jupyter would, under `sh` (a stand-in for Jupyter: `; true` keeps sh from
 * exec-ing, so sh is the relay's parent), kills `victim(sh, jupyter)` by SIGKILL, and checks that
 * the relay and Deno's kernel end. `env` reaches the relay.
 */
async function relayEndsWhenStarterDies(
  env: Record<string, string>,
  victim: "sh" | "jupyter",
): Promise<void> {
  const { dir, file: conn } = await writeConnectionFile("kit-relay-test-", freePorts(5), "k");
  const relay = new URL("../tools/jupyter/relay.ts", import.meta.url).pathname;
  // A process standing for Jupyter when JPY_PARENT_PID names one other than the parent.
  const jupyter = new Deno.Command("sleep", { args: ["600"] }).spawn();
  const sh = new Deno.Command("sh", {
    args: ["-c", `"$0" run -A "$1" "$2"; true`, Deno.execPath(), relay, conn],
    env: { ...env, JPY_PARENT_PID: victim === "jupyter" ? String(jupyter.pid) : "" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  let relayPid = 0;
  let inner: number[] = [];
  try {
    // Events with a generous cap: the relay and Deno's kernel appear, then end.
    for (let i = 0; i < 600 && inner.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      relayPid = childrenOf(sh.pid)[0] ?? 0;
      inner = relayPid ? childrenOf(relayPid) : [];
    }
    assert.ok(relayPid && inner.length >= 2, "the relay started Deno's kernel and its watchdog");
    (victim === "sh" ? sh : jupyter).kill("SIGKILL");
    await (victim === "sh" ? sh : jupyter).status;
    for (let i = 0; i < 600 && [relayPid, ...inner].some(processRunning); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(processRunning(relayPid), false, "the relay ended");
    for (const p of inner) assert.equal(processRunning(p), false, `process ${p} ended`);
  } finally {
    for (const p of [sh.pid, jupyter.pid, relayPid, ...inner]) {
      try {
        if (p && processRunning(p)) Deno.kill(p, "SIGKILL");
      } catch { /* ended */ }
    }
    await sh.status;
    await jupyter.status;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "relay: when the process that started it dies (SIGKILL), the relay and Deno's kernel end",
  ignore: Deno.build.os === "windows",
  fn: () => relayEndsWhenStarterDies({}, "sh"),
});

Deno.test({
  name: "relay: without /proc (as on macOS), the death of JPY_PARENT_PID still ends the relay",
  ignore: Deno.build.os === "windows",
  fn: () => relayEndsWhenStarterDies({ KIT_PROC_DIR: "/nonexistent/proc" }, "jupyter"),
});
