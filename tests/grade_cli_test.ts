/**
 * The grade command as a teacher runs it: bad limits are refused with exit 2 before anything is
 * graded, student folders named like spreadsheet formulas are neutralised in grades.csv, one
 * grader at a time writes into an `--out` folder, and SIGTERM or SIGINT, sent to the grader or
 * to `deno task grade`, leave no sandbox process and no temporary file behind.
 *
 * A grader killed by SIGKILL (no handler runs) takes its sandbox with it, and the next run
 * removes the temporary folder it left.
 *
 * Waits are for events (a process appears, a process ends); their deadlines are derived from a
 * grader run measured at the start, so a busy machine does not fail them. Temporary folders are
 * looked for only where each test's own runs put them (`TMPDIR` set to a folder of the test).
 */
import assert from "node:assert";
import { parse } from "csv-parse/sync";
import type { Notebook } from "../tools/notebook/io.ts";
import { gradeAll, lockOut } from "../tools/grade/grade.ts";
import { processAlive } from "../tools/proc.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURES = `${ROOT}/tests/fixtures/grade/notebooks`;
const NB = "90_grading_fixture.ipynb";
const DENO = Deno.execPath();

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(DENO, { args, cwd: ROOT, env, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Pids of the processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (cmd.includes(needle)) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

/** Seconds one grader run takes now: start-up, the sandbox probe, one not-JSON submission. */
async function baselineSeconds(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "grade_cli_baseline_" });
  try {
    await Deno.mkdir(`${dir}/subs/a`, { recursive: true });
    await Deno.writeTextFile(`${dir}/subs/a/${NB}`, "{ not a notebook");
    const t0 = performance.now();
    const r = await run(
      [
        "run",
        "-A",
        "tools/grade/grade.ts",
        `${dir}/subs`,
        "--notebooks",
        FIXTURES,
        "--out",
        `${dir}/out`,
      ],
      { TMPDIR: dir },
    );
    assert.strictEqual(r.code, 1, r.stderr);
    return (performance.now() - t0) / 1000;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
/** The deadline of a wait for an event that takes a fraction of a grader run. */
const DEADLINE = Math.max(60, Math.ceil(20 * await baselineSeconds()));

/** Waits until `cond()` holds (polling), failing after `seconds`. */
async function until(cond: () => boolean, seconds: number, what: string): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("grade: limits outside their bounds are usage errors (exit 2), nothing is graded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grade_limits_" });
  try {
    await Deno.mkdir(`${dir}/subs/a`, { recursive: true });
    await Deno.copyFile(`${FIXTURES}/${NB}`, `${dir}/subs/a/${NB}`);
    const cases: [string, string, RegExp][] = [
      ["--jobs", "0.5", /--jobs must be an integer from 1 to 64, got "0\.5"/],
      ["--jobs", "0", /--jobs must be an integer from 1 to 64/],
      ["--timeout", "Infinity", /--timeout must be a number from 1 to 3600, got "Infinity"/],
      ["--timeout", "3000000", /--timeout must be a number from 1 to 3600/],
      ["--memory", "0.001", /--memory must be a number from 64 to 65536, got "0\.001"/],
      ["--memory", "lots", /--memory must be a number from 64 to 65536/],
      // Within the bounds, but the sandbox cannot even start with it.
      ["--memory", "64", /the sandbox cannot start with --memory 64/],
    ];
    for (const [flag, value, msg] of cases) {
      const r = await run([
        "run",
        "-A",
        "tools/grade/grade.ts",
        `${dir}/subs`,
        "--notebooks",
        FIXTURES,
        "--out",
        `${dir}/out`,
        flag,
        value,
      ]);
      assert.strictEqual(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      await assert.rejects(Deno.stat(`${dir}/out/grades.csv`), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grade: student folders named like formulas are neutralised in grades.csv", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grade_csv_" });
  const names = ["=cmd|' -C calc'!A0", "+SUM(A1)", "-2+3", "@SUM(A1)", "plain"];
  try {
    for (const n of names) {
      await Deno.mkdir(`${dir}/subs/${n}`, { recursive: true });
      // Not JSON: graded without a sandbox, one row per check with 0 points.
      await Deno.writeTextFile(`${dir}/subs/${n}/${NB}`, "{ not a notebook");
    }
    await gradeAll({
      submissions: `${dir}/subs`,
      notebooks: FIXTURES,
      out: `${dir}/out`,
      jobs: 2,
      timeoutSec: 60,
      memoryMb: 1024,
      quiet: true,
      noFeedback: true,
    });
    const rows: string[][] = parse(await Deno.readTextFile(`${dir}/out/grades.csv`));
    const students = [...new Set(rows.slice(1).map((r) => r[0]))].sort();
    assert.deepStrictEqual(students, [
      "'+SUM(A1)",
      "'-2+3",
      "'=cmd|' -C calc'!A0",
      "'@SUM(A1)",
      "plain",
    ]);
    for (const r of rows.slice(1)) assert.ok(!/^[=+\-@\t\r]/.test(r[0]), r[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grade: a second grader on the same --out is refused while the first runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grade_lock_" });
  try {
    await Deno.mkdir(`${dir}/subs/a`, { recursive: true });
    await Deno.writeTextFile(`${dir}/subs/a/${NB}`, "{ not a notebook");
    const opts = {
      submissions: `${dir}/subs`,
      notebooks: FIXTURES,
      out: `${dir}/out`,
      jobs: 1,
      timeoutSec: 60,
      memoryMb: 1024,
      quiet: true,
      noFeedback: true,
    };
    const lock = await lockOut(`${dir}/out`); // held by a running grader (this process)
    await assert.rejects(gradeAll(opts), /another grader \(pid \d+\) is writing to/);
    await Deno.remove(lock);
    // A lock left by a grader that no longer runs is taken over.
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    await Deno.writeTextFile(lock, `${gone.pid}\n`);
    const { records } = await gradeAll(opts);
    assert.strictEqual(records.length, 1);
    await assert.rejects(Deno.stat(lock), Deno.errors.NotFound, "the lock is released");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (
  const [signal, viaTask] of [["SIGTERM", false], ["SIGINT", false], ["SIGTERM", true], [
    "SIGINT",
    true,
  ]] as const
) {
  Deno.test({
    name: `grade: ${signal} to ${
      viaTask ? "deno task grade" : "the grader"
    } leaves no sandbox process and no file`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "grade_signal_" });
      const tmp = `${dir}/tmp`;
      await Deno.mkdir(tmp);
      try {
        // A submission whose second cell never ends: the sandbox is busy when the signal comes.
        const nb: Notebook = JSON.parse(await Deno.readTextFile(`${FIXTURES}/${NB}`));
        nb.cells.splice(2, 0, {
          cell_type: "code",
          id: "spin",
          metadata: {},
          source: "while (true) {}",
          outputs: [],
          execution_count: null,
        });
        await Deno.mkdir(`${dir}/subs/spinner`, { recursive: true });
        await Deno.writeTextFile(`${dir}/subs/spinner/${NB}`, JSON.stringify(nb));
        const gradeArgs = [
          `${dir}/subs`,
          "--notebooks",
          FIXTURES,
          "--out",
          `${dir}/out`,
          "--timeout",
          "3600",
        ];
        const child = new Deno.Command(DENO, {
          args: viaTask
            ? ["task", "--quiet", "grade", ...gradeArgs]
            : ["run", "-A", "tools/grade/grade.ts", ...gradeArgs],
          cwd: ROOT,
          env: { TMPDIR: tmp },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const stderr = new Response(child.stderr).text();
        // The spinning submission's sandbox runs: the lock is taken (after the start-up probe)
        // and a `deno repl` names the run's temporary folder.
        const lockTaken = () => {
          try {
            return Deno.statSync(`${dir}/out/.grade.lock`).isFile;
          } catch {
            return false;
          }
        };
        await until(
          () =>
            lockTaken() &&
            processesWith(`${tmp}/kit-grade-`).some((p) => processesWith("repl").includes(p)),
          DEADLINE,
          "the sandbox to start",
        );
        if (signal === "SIGTERM" && !viaTask) {
          // Meanwhile, a second grader on the same --out is refused.
          const second = await run(["run", "-A", "tools/grade/grade.ts", ...gradeArgs]);
          assert.strictEqual(second.code, 2, second.stderr);
          assert.match(second.stderr, /another grader \(pid \d+\) is writing to/);
        }
        child.kill(signal);
        const status = await child.status;
        if (!viaTask) assert.strictEqual(status.code, signal === "SIGTERM" ? 143 : 130);
        // Every process of the run ends (the grader, through `deno task` too, and its sandbox).
        await until(
          () => processesWith(tmp).length === 0,
          DEADLINE,
          "the run's processes to end",
        );
        const left = [...Deno.readDirSync(tmp)].map((e) => e.name);
        assert.deepStrictEqual(left, [], "temporary files left behind");
        await assert.rejects(Deno.stat(`${dir}/out/.grade.lock`), Deno.errors.NotFound);
        if (!viaTask) assert.match(await stderr, new RegExp(`stopped by ${signal}`));
        else await stderr;
      } finally {
        for (const pid of processesWith(tmp)) Deno.kill(pid, "SIGKILL");
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/** A submission of the fixture whose second cell never ends. */
async function spinner(): Promise<string> {
  const nb: Notebook = JSON.parse(await Deno.readTextFile(`${FIXTURES}/${NB}`));
  nb.cells.splice(2, 0, {
    cell_type: "code",
    id: "spin",
    metadata: {},
    source: "while (true) {}",
    outputs: [],
    execution_count: null,
  });
  return JSON.stringify(nb);
}

for (const watchdog of ["setpriv", "sh"] as const) {
  Deno.test({
    name: `grade: SIGKILL to the grader ends its sandbox (${watchdog}); the next run removes ` +
      `its temporary folder`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "grade_sigkill_" });
      const tmp = `${dir}/tmp`;
      await Deno.mkdir(tmp);
      const env = { TMPDIR: tmp, KIT_GRADE_WATCHDOG: watchdog === "sh" ? "sh" : "" };
      try {
        await Deno.mkdir(`${dir}/subs/spinner`, { recursive: true });
        await Deno.writeTextFile(`${dir}/subs/spinner/${NB}`, await spinner());
        const args = ["--notebooks", FIXTURES, "--out", `${dir}/out`, "--timeout", "3600"];
        const grader = new Deno.Command(DENO, {
          args: ["run", "-A", "tools/grade/grade.ts", `${dir}/subs`, ...args],
          cwd: ROOT,
          env,
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        // The grader's folders are named by its pid; its spinning sandbox names them.
        const own = `${tmp}/kit-grade-${grader.pid}-`;
        const sandboxes = () => processesWith(own).filter((p) => processesWith("repl").includes(p));
        await until(() => sandboxes().length > 0, DEADLINE, "the sandbox to start");
        const pids = sandboxes();
        if (watchdog === "sh") {
          // The watchdog is spawned once the sandbox's pid is known, just after the sandbox.
          for (const p of pids) {
            await until(
              () => processesWith(`kit-grade-watchdog ${p}`).length === 1,
              DEADLINE,
              "its watchdog",
            );
          }
        }
        grader.kill("SIGKILL");
        await grader.status;
        await until(() => pids.every((p) => !processAlive(p)), DEADLINE, "the sandbox to end");
        if (watchdog === "sh") {
          await until(
            () => pids.every((p) => processesWith(`kit-grade-watchdog ${p}`).length === 0),
            DEADLINE,
            "the watchdog shell to end",
          );
        }
        // No handler ran: the folder is left, holding named pipes, no secret.
        const left = [...Deno.readDirSync(tmp)].map((e) => e.name);
        assert.strictEqual(left.length, 1, left.join());
        assert.ok(left[0].startsWith(`kit-grade-${grader.pid}-`), left[0]);
        const regular: string[] = [];
        const walk = (d: string) => {
          for (const e of Deno.readDirSync(d)) {
            if (e.isDirectory) walk(`${d}/${e.name}`);
            else if (Deno.lstatSync(`${d}/${e.name}`).isFile) regular.push(`${d}/${e.name}`);
          }
        };
        walk(`${tmp}/${left[0]}`);
        assert.deepStrictEqual(regular, [], "the eval files are named pipes, nothing else is left");
        // The next run (a submission that is not JSON: only the start-up probe runs a sandbox)
        // removes it, takes over the lock, and leaves nothing either.
        await Deno.writeTextFile(`${dir}/subs/spinner/${NB}`, "{ not a notebook");
        const next = await run(["run", "-A", "tools/grade/grade.ts", `${dir}/subs`, ...args], env);
        assert.strictEqual(next.code, 1, next.stderr);
        assert.deepStrictEqual([...Deno.readDirSync(tmp)].map((e) => e.name), []);
        await assert.rejects(Deno.stat(`${dir}/out/.grade.lock`), Deno.errors.NotFound);
      } finally {
        for (const pid of processesWith(tmp)) Deno.kill(pid, "SIGKILL");
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
