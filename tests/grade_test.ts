/**
 * The grader end to end: student transform, full points for the teacher's solutions, zero for
 * the untouched student version, exactly one exercise lost for one wrong answer, hostile
 * submissions (no unearned points, no trace, reported, grading goes on), invalid submissions,
 * 3 shards merged == one run, and every graded lecture notebook against its own solutions.
 *
 * Submissions are built from `tests/fixtures/grade/notebooks/90_grading_fixture.ipynb` and
 * graded in parallel in one run; the assertions share that run. Time limits are derived from
 * runs of the teacher's fixture measured at the start (alone, and 4 at once as the tests grade),
 * so a busy machine does not fail them. Temporary folders are looked for only where the test's
 * own runs put them.
 */
import assert from "node:assert";
import {
  type CodeCell,
  type Notebook,
  projectNotebooks,
  sourceText,
} from "../tools/notebook/io.ts";
import { importBindings, isGraded, studentNotebook } from "../tools/notebook/exercises.ts";
import { runSandboxed, type SandboxCell } from "../tools/grade/sandbox.ts";
import { checkerRealmsStarted, closeIdleCheckers } from "../tools/grade/checker.ts";
import { gradeAll } from "../tools/grade/grade.ts";
import { mergeShards } from "../tools/grade/merge.ts";
import { tempPrefix } from "../tools/grade/cleanup.ts";
import type { ResultRecord } from "../tools/grade/report.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURES = `${ROOT}/tests/fixtures/grade/notebooks`;
const NB = "90_grading_fixture.ipynb";
const instructor: Notebook = JSON.parse(await Deno.readTextFile(`${FIXTURES}/${NB}`));
const student = studentNotebook(instructor, NB);
const MEMORY = 600;

/**
 * Seconds that grading `jobs` copies of the teacher's fixture at once takes on this machine, now:
 * the time of one sandboxed run when `jobs` runs share the machine.
 */
async function baselineSeconds(jobs = 1): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "grade_baseline_" });
  try {
    for (let i = 0; i < jobs; i++) {
      await Deno.mkdir(`${dir}/subs/teacher${i}`, { recursive: true });
      await Deno.copyFile(`${FIXTURES}/${NB}`, `${dir}/subs/teacher${i}/${NB}`);
    }
    const t0 = performance.now();
    await gradeAll({
      submissions: `${dir}/subs`,
      notebooks: FIXTURES,
      out: `${dir}/out`,
      jobs,
      timeoutSec: 300,
      memoryMb: MEMORY,
      quiet: true,
      noFeedback: true,
    });
    return (performance.now() - t0) / 1000;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
const BASELINE = await baselineSeconds();
/**
 * The per-run limit of the fixture's tests, which grade 4 submissions at once: well above a run
 * of the fixture among 4 at once right now.
 */
const TIMEOUT = Math.max(10, Math.ceil(6 * await baselineSeconds(4)));
/** The per-run limit for the lecture notebooks (120 s on an idle machine), scaled as the fixture. */
const LECTURE_TIMEOUT = Math.max(120, Math.ceil(200 * BASELINE));

function clone(nb: Notebook): Notebook {
  return structuredClone(nb);
}
function cellById(nb: Notebook, id: string): CodeCell {
  const c = nb.cells.find((c) => c.id === id);
  assert.ok(c && c.cell_type === "code", `fixture cell ${id}`);
  return c as CodeCell;
}
function setSource(nb: Notebook, id: string, f: (s: string) => string): Notebook {
  const c = cellById(nb, id);
  const next = f(sourceText(c.source));
  assert.notStrictEqual(next, sourceText(c.source), `edit of cell ${id} changed nothing`);
  c.source = next;
  return nb;
}
let inserted = 0;
/** Inserts code cells after the cell with id `after`. */
function insertAfter(nb: Notebook, after: string, ...sources: string[]): Notebook {
  const i = nb.cells.findIndex((c) => c.id === after);
  assert.ok(i >= 0);
  nb.cells.splice(
    i + 1,
    0,
    ...sources.map((source): CodeCell => ({
      cell_type: "code",
      id: `hostile${inserted++}`,
      metadata: {},
      source,
      outputs: [],
      execution_count: null,
    })),
  );
  return nb;
}
/** The student version with exercise N's stub replaced by `body`. */
function answer(nb: Notebook, ex: number, body: string): Notebook {
  const id = { 1: "c04", 2: "c07", 3: "c10" }[ex]!;
  return setSource(
    nb,
    id,
    (s) =>
      s.includes("your code here")
        ? s.replace(`throw new Error("Exercise ${ex}: your code here");`, body)
        : s.replace(/\/\/ BEGIN SOLUTION[\s\S]*?\/\/ END SOLUTION/, body),
  );
}
const wrongAll = () =>
  answer(answer(answer(clone(student), 1, "return 0;"), 2, "return 0;"), 3, "return 0;");

const stamp = crypto.randomUUID().slice(0, 8);
const WRITE_TARGET = `/tmp/kit_grade_hostile_${stamp}.txt`;
const ESCAPE_TARGET = `${ROOT}/notebooks/kit_grade_escape_${stamp}.txt`;
let requests = 0;
const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
  requests++;
  return new Response("pwned");
});
const PORT = server.addr.port;

const hostile: Record<string, Notebook> = {
  "h-read": insertAfter(
    clone(student),
    "c10",
    `for (const p of ["/etc/passwd", "${FIXTURES}/${NB}", "${ROOT}/deno.json", "../tests/fixtures/grade/notebooks/${NB}"]) {
  try { console.log(Deno.readTextFileSync(p)); } catch (e) { console.log("read refused:", p, String(e).slice(0, 80)); }
}`,
  ),
  "h-write": insertAfter(
    clone(student),
    "c10",
    `for (const p of ["${WRITE_TARGET}", "../notebooks/kit_grade_escape_${stamp}.txt"]) {
  try { Deno.writeTextFileSync(p, "x"); console.log("wrote", p); } catch (e) { console.log("write refused:", String(e).slice(0, 80)); }
}`,
  ),
  "h-fetch": insertAfter(
    clone(student),
    "c10",
    `try { const r = await fetch("http://127.0.0.1:${PORT}/"); console.log("fetched", await r.text()); } catch (e) { console.log("fetch refused:", String(e).slice(0, 80)); }`,
  ),
  "h-spawn": insertAfter(
    clone(student),
    "c10",
    `try { console.log(new TextDecoder().decode(new Deno.Command("id").outputSync().stdout)); } catch (e) { console.log("spawn refused:", String(e).slice(0, 80)); }
try { const cp = await import("node:child_process"); console.log(String(cp.execSync("id"))); } catch (e) { console.log("exec refused:", String(e).slice(0, 80)); }`,
  ),
  // Correct answers plus a cell that never ends: that cell is skipped, the rest is graded.
  "h-loop": insertAfter(clone(instructor), "c04", "while (true) {}"),
  "h-alloc": insertAfter(
    clone(instructor),
    "c07",
    "const hoard: Float64Array[] = [];\nwhile (true) hoard.push(new Float64Array(1 << 24).fill(1));",
  ),
  "h-forge": insertAfter(
    clone(student),
    "c10",
    `for (const id of ["90-ex1", "90-ex2", "90-ex3"]) {
  console.log(\`check \${id}: passed\`);
  console.log("\\u001e#kit-grade:" + "0".repeat(32) + "#" + JSON.stringify({ check: id, event: "pass" }));
  console.log("\\n" + JSON.stringify({ check: id, event: "pass" }));
}
console.log("grader names seen:", Object.getOwnPropertyNames(globalThis).filter((k) => k.includes("kit")).join(",") || "none");`,
    // A sloppy function sees its caller unless the caller is strict: the check wrappers are.
    `ex3ColumnMean = new Function("A", "j", "console.log('caller seen:', String(ex3ColumnMean.caller).slice(0, 30)); return NaN;");`,
  ),
  "h-assert": insertAfter(
    wrongAll(),
    "c10",
    `for (const [i, f] of [
  () => { assert.ok = () => {}; },
  () => { assert.strictEqual = () => {}; },
  () => { Math.abs = () => 0; },
  () => { Object.prototype.rtol = 1e9; },
  () => { Object.defineProperty(Object.prototype, "atol", { value: 1e9 }); },
  () => { Array.prototype.every = () => true; },
  () => { Number.isFinite = () => true; },
  () => { globalThis.Math = { abs: () => 0 }; },
  () => { Tensor.prototype.sub = () => null; },
].entries()) { try { f(); console.log("patch " + i + " applied"); } catch (e) { console.log("refused:", String(e).slice(0, 60)); } }`,
    "const assert = Object.assign(() => {}, { ok() {}, strictEqual() {} });",
    "const assertClose = () => {};",
    "const tensor = () => null;",
    "const Math = { abs: () => 0 };",
    "const Number = { isFinite: () => true };",
  ),
  // Correct answers for exercises 1 and 2 only, and every way out of the process.
  "h-exit": insertAfter(
    answer(answer(clone(student), 1, "return d / (d + lambda);"), 2, "return 1 / (1 - p);"),
    "c10",
    `for (const f of [() => Deno.exit(0), () => close(), async () => (await import("node:process")).default.exit(0)]) {
  try { await f(); } catch (e) { console.log("exit refused:", String(e).slice(0, 60)); }
}`,
  ),
};

// Student-controlled text that would run as HTML if a page did not escape it.
const XSS = "<script>alert(1)</script>";
const XSS_NAME = "h-html<b onmouseover=alert(3)>"; // a folder name: no "/"
hostile[XSS_NAME] = insertAfter(
  answer(clone(student), 1, `throw new Error("${XSS}");`),
  "c10",
  `console.log("<img src=x onerror=alert(2)>");`,
);
hostile[XSS_NAME].cells.push({
  cell_type: "markdown",
  id: "md-x",
  metadata: {},
  source: XSS,
});
hostile[XSS_NAME].cells[0] = {
  cell_type: "markdown",
  id: "m01",
  metadata: {},
  source: `# Title ${XSS}<iframe src="https://example.com"></iframe>`,
};

/** The issue's Proxy: "not a Tensor" to the first getPrototypeOf, "Tensor" afterwards. */
const FAKE = `import { Tensor as KT } from "@kit/mod.ts";
// deno-lint-ignore no-explicit-any
function fake(shape: number[] = []): any {
  let n = 0;
  return new Proxy({}, {
    getPrototypeOf() { return ++n === 1 ? Object.prototype : KT.prototype; },
    get(_t, k) { return k === "shape" ? shape : k === "data" ? { length: 0 } : k === Symbol.toPrimitive ? () => 0 : undefined; },
  });
}`;
/** Ends every for...of loop of the realm it runs in. */
const ITERATOR_HIJACK =
  "Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true, value: undefined });";
/** An array whose own methods keep the callbacks a check passes them, for a later cell to print. */
const LEAKY_ARRAY = `const leaked: string[] = [];
function leaky(values: unknown[]) {
  const out = [...values];
  for (const m of ["forEach", "map", "every", "some", "reduce", "toString", "valueOf"]) {
    Object.defineProperty(out, m, { value: (...a: unknown[]) => { leaked.push(a.map(String).join(" | ")); return true; } });
  }
  return out;
}`;

// Attacks of issue 19, each beside answers whose honest score is known: they must earn nothing.
hostile["h-proxy"] = insertAfter(
  answer(
    answer(answer(clone(student), 1, "return d / (d + lambda);"), 2, "return 1 / (1 - p);"),
    3,
    "return fake([]);",
  ),
  "c01",
  FAKE,
);
// The hijack breaks the student's own realm too (the kit's code in it), so the answers it sits
// beside are all wrong: in one realm it passed 90-ex1, whose check loops with for...of.
hostile["h-iter"] = insertAfter(wrongAll(), "c01", ITERATOR_HIJACK);
hostile["h-leak"] = insertAfter(
  insertAfter(
    answer(clone(instructor), 3, "return leaky([3, 30]) as unknown as number;"),
    "c01",
    LEAKY_ARRAY,
  ),
  "c12",
  'console.log("leaked:", leaked.join("\\n"));',
);
// A cell that leaves a rejected promise and a throwing timer behind, in an honest notebook.
const honestReject = setSource(
  clone(instructor),
  "c04",
  (s) =>
    s + '\nPromise.reject(new Error("left behind"));\n' +
    'setTimeout(() => { throw new Error("timer threw"); }, 0);\n',
);
// 1,500 more cells than the notebook handed out.
const manyCells = clone(student);
manyCells.cells.push(
  ...Array.from({ length: 1500 }, (_, i): CodeCell => ({
    cell_type: "code",
    id: `filler${i}`,
    metadata: {},
    source: `// filler ${i}`,
    outputs: [],
    execution_count: null,
  })),
);

const submissions: Record<string, Record<string, string>> = {
  teacher: { [NB]: JSON.stringify(instructor) },
  untouched: { [NB]: JSON.stringify(student) },
  wrong2: {
    [NB]: JSON.stringify(
      setSource(clone(instructor), "c07", (s) => s.replace("1 / (1 - p)", "1 - p")),
    ),
  },
  edited: {
    [NB]: JSON.stringify(
      setSource(answer(clone(student), 1, "return 0;"), "c05", () => "// deleted"),
    ),
  },
  missing: {
    [NB]: JSON.stringify({
      ...student,
      cells: student.cells.filter((c) => !["c05", "c07", "c08"].includes(c.id!)),
    }),
  },
  notjson: { [NB]: "{ this is not a notebook" },
  "honest-reject": { [NB]: JSON.stringify(honestReject) },
  "many-cells": { [NB]: JSON.stringify(manyCells) },
  "wrong1": { [NB]: JSON.stringify(answer(clone(instructor), 1, "return 0;")) },
  "wrong3": { [NB]: JSON.stringify(answer(clone(instructor), 3, "return 0;")) },
  "wrongall": { [NB]: JSON.stringify(wrongAll()) },
  python: {
    [NB]: JSON.stringify({
      ...student,
      metadata: {
        kernelspec: { name: "python3", display_name: "Python 3", language: "python" },
        language_info: { name: "python" },
      },
    }),
  },
  wrongnb: {
    [NB]: await Deno.readTextFile(`${ROOT}/tests/fixtures/pass.ipynb`),
    // No cell in common with a course notebook (one that has would be matched by its cell ids).
    "zz_not_in_course.ipynb": await Deno.readTextFile(`${ROOT}/tests/fixtures/pass.ipynb`),
  },
  ...Object.fromEntries(
    Object.entries(hostile).map(([k, nb]) => [k, { [NB]: JSON.stringify(nb) }]),
  ),
};
const QUICK = [
  "teacher",
  "untouched",
  "wrong2",
  "edited",
  "missing",
  "notjson",
  "python",
  "wrongnb",
];

async function writeSubmissions(dir: string, names: readonly string[]) {
  for (const s of names) {
    await Deno.mkdir(`${dir}/${s}`, { recursive: true });
    for (const [f, text] of Object.entries(submissions[s])) {
      await Deno.writeTextFile(`${dir}/${s}/${f}`, text);
    }
  }
}

function points(records: ResultRecord[], student: string, check?: string): number {
  return records.filter((r) => r.student === student).flatMap((r) => r.rows)
    .filter((r) => check === undefined || r.check === check).reduce((s, r) => s + r.points, 0);
}
function record(records: ResultRecord[], student: string, nb = NB): ResultRecord {
  const r = records.find((r) => r.student === student && r.notebook === nb);
  assert.ok(r, `no result for ${student}/${nb}`);
  return r;
}

Deno.test("student version: stubs instead of solutions, no hidden checks, no outputs", () => {
  const text = JSON.stringify(student);
  assert.ok(!text.includes("d / (d + lambda)") && !text.includes("1 / (1 - p)"));
  assert.ok(!text.includes("BEGIN SOLUTION") && !text.includes('"hidden": true'));
  for (const n of [1, 2, 3]) assert.ok(text.includes(`Exercise ${n}: your code here`));
  const ids = (nb: Notebook) => nb.cells.map((c) => c.id);
  assert.deepStrictEqual(
    ids(student),
    ids(instructor).filter((id) => !["c06", "c09", "c12"].includes(id!)),
  );
  // Everything but the solution regions is unchanged.
  assert.strictEqual(
    sourceText(cellById(student, "c02").source),
    sourceText(cellById(instructor, "c02").source),
  );
  assert.ok(student.cells.every((c) => c.cell_type !== "code" || c.outputs.length === 0));
});

Deno.test({
  name: "grader: solutions, untouched, wrong answer, hostile and invalid submissions",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "grade_test_" });
    // The grader's temporary folders go here (not /tmp, which other runs share).
    const tmp = `${dir}/tmp`;
    await Deno.mkdir(tmp);
    const oldTmp = Deno.env.get("TMPDIR");
    Deno.env.set("TMPDIR", tmp);
    try {
      await writeSubmissions(`${dir}/subs`, Object.keys(submissions));
      const { records } = await gradeAll({
        submissions: `${dir}/subs`,
        notebooks: FIXTURES,
        out: `${dir}/out`,
        jobs: 4,
        timeoutSec: TIMEOUT,
        memoryMb: MEMORY,
        quiet: true,
      }).finally(() =>
        oldTmp === undefined ? Deno.env.delete("TMPDIR") : Deno.env.set("TMPDIR", oldTmp)
      );
      const out = (s: string) => `${dir}/out/feedback/${s}__90_grading_fixture.html`;

      await t.step("teacher's solutions get full points", () => {
        assert.strictEqual(points(records, "teacher"), 10);
        assert.ok(record(records, "teacher").rows.every((r) => r.passed));
      });
      await t.step("the untouched student version gets 0 on every check", () => {
        const r = record(records, "untouched");
        assert.strictEqual(r.rows.length, 6);
        assert.ok(r.rows.every((x) => !x.passed && x.points === 0), JSON.stringify(r.rows));
        assert.match(r.rows[1].message, /Exercise 1: your code here/);
      });
      await t.step("one wrong answer loses exactly that exercise's points", () => {
        assert.strictEqual(points(records, "wrong2"), 7);
        assert.strictEqual(points(records, "wrong2", "90-ex2"), 0);
        assert.strictEqual(points(records, "wrong2", "90-ex1"), 3);
        assert.strictEqual(points(records, "wrong2", "90-ex3"), 4);
      });
      await t.step("edited and deleted checks are put back", () => {
        const e = record(records, "edited");
        assert.strictEqual(e.rows.find((r) => r.check === "90-ex1-visible")!.passed, false);
        assert.ok(e.notes.some((n) => n.includes("90-ex1-visible was edited")), e.notes.join());
        const m = record(records, "missing");
        assert.strictEqual(m.invalid, undefined);
        assert.ok(m.notes.some((n) => n.includes("90-ex1-visible was missing")), m.notes.join());
        assert.ok(m.notes.some((n) => n.includes("exercise cell")), m.notes.join());
        assert.strictEqual(m.rows.length, 6);
      });
      await t.step("invalid submissions get clear rows and grading goes on", () => {
        assert.match(record(records, "notjson").invalid!, /not JSON/);
        assert.match(record(records, "python").invalid!, /not a Deno notebook/);
        assert.match(record(records, "wrongnb").invalid!, /wrong notebook/);
        const unknown = records.find((r) =>
          r.student === "wrongnb" && r.file === "zz_not_in_course.ipynb"
        )!;
        assert.match(unknown.invalid!, /not a course notebook/);
        assert.deepStrictEqual(unknown.rows.map((r) => [r.check, r.points, r.max]), [["-", 0, 0]]);
        for (const s of ["notjson", "python", "wrongnb"]) {
          assert.strictEqual(record(records, s).rows.length, 6);
          assert.strictEqual(points(records, s), 0);
        }
        const csv = Deno.readTextFileSync(`${dir}/out/grades.csv`);
        assert.ok(csv.includes("notjson,90_grading_fixture.ipynb,90-ex3,0,4,failed,"));
        assert.ok(csv.includes("teacher,90_grading_fixture.ipynb,90-ex3,4,4,passed,"));
      });
      await t.step("hostile: reading /etc/passwd and the hidden checks is refused", async () => {
        assert.strictEqual(points(records, "h-read"), 0);
        const page = await Deno.readTextFile(out("h-read"));
        assert.ok(!page.includes("root:x:0"), "/etc/passwd leaked");
        assert.ok(!page.includes("A3 = tensor"), "a hidden check leaked");
        assert.ok(!page.includes("d / (d + lambda)"), "instructor solutions leaked");
        assert.strictEqual(page.match(/read refused: \S+ NotCapable/g)?.length, 4);
      });
      await t.step("hostile: writing is refused, nothing is left behind", async () => {
        assert.strictEqual(points(records, "h-write"), 0);
        for (const p of [WRITE_TARGET, ESCAPE_TARGET]) {
          await assert.rejects(Deno.stat(p), Deno.errors.NotFound, `${p} was written`);
        }
        assert.strictEqual(
          (await Deno.readTextFile(out("h-write"))).match(/write refused: NotCapable/g)?.length,
          2,
        );
      });
      await t.step("hostile: fetch and subprocesses are refused", async () => {
        assert.strictEqual(requests, 0, "the sandbox reached the network");
        assert.strictEqual(points(records, "h-fetch") + points(records, "h-spawn"), 0);
        const page = await Deno.readTextFile(out("h-spawn"));
        assert.ok(!page.includes("uid="), "id ran");
        assert.match(page, /spawn refused: NotCapable: Requires run access/);
        assert.match(page, /exec refused: NotCapable/);
        assert.match(
          await Deno.readTextFile(out("h-fetch")),
          /fetch refused: NotCapable: Requires net/,
        );
      });
      await t.step("hostile: an endless loop is stopped, skipped, the rest graded", () => {
        const r = record(records, "h-loop");
        assert.strictEqual(points(records, "h-loop"), 10);
        assert.ok(
          r.notes.some((n) => n.includes(`skipped`) && n.includes(`longer than ${TIMEOUT} s`)),
          r.notes.join(),
        );
      });
      await t.step("hostile: unbounded allocation is stopped by the memory watchdog", () => {
        const r = record(records, "h-alloc");
        assert.strictEqual(points(records, "h-alloc"), 10);
        assert.ok(r.notes.some((n) => /skipped.*memory/.test(n)), r.notes.join());
      });
      await t.step(
        "hostile: forged pass lines, patched asserts and built-ins earn nothing",
        async () => {
          assert.strictEqual(points(records, "h-forge"), 0);
          assert.ok(record(records, "h-forge").rows.every((r) => !r.passed));
          const forge = await Deno.readTextFile(out("h-forge"));
          assert.match(forge, /grader names seen: none/);
          assert.match(forge, /caller seen: null/);
          // Built-ins are not frozen (student code runs as in Jupyter): every patch works in the
          // student's realm, and none reaches the hidden checks, which run in the checker realm.
          assert.strictEqual(points(records, "h-assert"), points(records, "wrongall"));
          assert.strictEqual(points(records, "h-assert"), 0);
          const page = await Deno.readTextFile(out("h-assert"));
          assert.strictEqual(page.match(/patch \d applied/g)?.length, 9, "every patch applied");
        },
      );
      await t.step(
        "issue 19: the Proxy, the iterator hijack and the callback leak earn nothing",
        async () => {
          // Each scores exactly what the same answers without the attack score.
          assert.strictEqual(points(records, "h-proxy"), points(records, "wrong3"));
          assert.strictEqual(points(records, "h-proxy"), 6);
          assert.match(
            record(records, "h-proxy").rows.find((r) => r.check === "90-ex3")!.message,
            /is a Proxy: it cannot be graded/,
          );
          assert.strictEqual(points(records, "h-iter"), points(records, "wrongall"));
          assert.strictEqual(points(records, "h-iter"), 0);
          assert.strictEqual(points(records, "h-leak"), points(records, "wrong3"));
          const leak = await Deno.readTextFile(out("h-leak"));
          assert.match(leak, /leaked:/, "the printing cell ran");
          for (const secret of ["A3 = tensor", "ex3ColumnMean(A3", "assert.strictEqual"]) {
            assert.ok(!leak.includes(secret), `the hidden check's source leaked: ${secret}`);
          }
        },
      );
      await t.step(
        "an honest cell that leaves a rejection and a throwing timer gets full points",
        async () => {
          assert.strictEqual(points(records, "honest-reject"), 10);
          const page = await Deno.readTextFile(out("honest-reject"));
          assert.match(page, /Error \(unhandled promise rejection\): left behind/);
          assert.match(page, /Error \(uncaught error\): timer threw/);
        },
      );
      await t.step("1,500 extra cells give one submission's rows, not a crashed run", () => {
        const r = record(records, "many-cells");
        assert.strictEqual(r.rows.length, 6);
        assert.strictEqual(r.invalid, undefined, r.invalid);
        assert.match(r.rows[1].message, /Exercise 1: your code here/);
      });
      await t.step("hostile: Deno.exit, close() and process.exit do not end grading", async () => {
        assert.strictEqual(points(records, "h-exit"), 6);
        assert.strictEqual(points(records, "h-exit", "90-ex3"), 0);
        assert.strictEqual(
          (await Deno.readTextFile(out("h-exit"))).match(/exit refused: Error: grading/g)?.length,
          3,
        );
      });
      await t.step("each refusal is reported in the notes", () => {
        const notes = (s: string) => record(records, s).notes.join("\n");
        assert.match(notes("h-read"), /refused read access to "\/etc\/passwd" \(sandbox\)/);
        assert.match(notes("h-write"), /refused write access to "\/tmp\/kit_grade_hostile_/);
        assert.match(notes("h-fetch"), /refused net access to "127\.0\.0\.1:/);
        assert.match(notes("h-spawn"), /refused run access to "id"/);
        assert.match(notes("h-exit"), /tried to end the process/);
      });
      await t.step("the grader's temporary folders are removed", () => {
        // TMPDIR is process-wide and --parallel runs other test files in this process: their
        // kernels' folders (kit-kernel-*) may land here too. The grader's are named by
        // tempPrefix() and kit-graph- (the kit's import graph).
        const mine = [...Deno.readDirSync(tmp)].map((e) => e.name)
          .filter((n) => n.startsWith(tempPrefix()) || n.startsWith("kit-graph-"));
        assert.deepStrictEqual(mine, []);
      });
      await t.step("feedback pages escape student text and hide hidden checks", async () => {
        const pages: string[] = [];
        for await (const e of Deno.readDir(`${dir}/out/feedback`)) {
          if (e.name.startsWith("h-html")) pages.push(`${dir}/out/feedback/${e.name}`);
        }
        assert.strictEqual(pages.length, 2, pages.join());
        for (const p of pages) {
          const html = await Deno.readTextFile(p);
          for (const bad of ["<script>alert", "<img src=x", "<iframe", "<b onmouseover"]) {
            assert.ok(!html.includes(bad), `${p} contains ${bad}`);
          }
        }
        const own = await Deno.readTextFile(
          pages.find((p) => !p.endsWith("__90_grading_fixture.html"))!,
        );
        assert.match(own, /Feedback for h-html&lt;b onmouseover=alert\(3\)&gt;/);
        assert.match(own, /Error: &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
        assert.strictEqual(points(records, XSS_NAME), 0);
        const page = await Deno.readTextFile(`${dir}/out/feedback/untouched.html`);
        assert.match(page, /0 \/ 10 points/);
        const nbPage = await Deno.readTextFile(out("teacher"));
        assert.ok(nbPage.includes("Exercise 3: column means, graded check"));
        assert.ok(!nbPage.includes("A3 = tensor"), "a hidden check's source reached a page");
      });
    } finally {
      await server.shutdown();
      if (Deno.env.get("GRADE_TEST_KEEP")) console.log("kept", dir);
      else await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "grader: 3 shards merged give exactly the unsharded result",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "grade_shard_test_" });
    try {
      await writeSubmissions(`${dir}/subs`, QUICK);
      const base = {
        submissions: `${dir}/subs`,
        notebooks: FIXTURES,
        jobs: 4,
        timeoutSec: TIMEOUT,
        memoryMb: MEMORY,
        quiet: true,
        noFeedback: true,
      };
      const shardRuns = [1, 2, 3].map((k) =>
        gradeAll({ ...base, out: `${dir}/shard${k}`, shard: [k, 3] as [number, number] })
      );
      const [whole, ...shards] = await Promise.all([
        gradeAll({ ...base, out: `${dir}/whole` }),
        ...shardRuns,
      ]);
      const students = shards.map((s) => new Set(s.records.map((r) => r.student)));
      assert.ok(students.every((s) => s.size >= 2), "every shard got a share");
      assert.strictEqual(students.reduce((n, s) => n + s.size, 0), QUICK.length);
      assert.strictEqual(whole.records.length, QUICK.length + 1);
      await mergeShards([1, 2, 3].map((k) => `${dir}/shard${k}`), `${dir}/merged`);
      for (const f of ["grades.csv", "summary.md", "results.json"]) {
        assert.strictEqual(
          await Deno.readTextFile(`${dir}/merged/${f}`),
          await Deno.readTextFile(`${dir}/whole/${f}`),
          f,
        );
      }
      await assert.rejects(
        mergeShards([`${dir}/shard1`, `${dir}/whole`], `${dir}/bad`),
        /is in both/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "grader: every graded lecture notebook gets full points with its own solutions",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const graded: string[] = [];
    for (const p of await projectNotebooks()) {
      if (isGraded(JSON.parse(await Deno.readTextFile(p)))) graded.push(p);
    }
    const dir = await Deno.makeTempDir({ prefix: "grade_lecture_test_" });
    try {
      // Without graded lecture notebooks yet, the fixture stands in (the same code path).
      const nbDir = graded.length ? `${dir}/notebooks` : FIXTURES;
      const paths = graded.length ? graded : [`${FIXTURES}/${NB}`];
      if (!graded.length) console.log("no graded lecture notebook yet: grading the fixture");
      for (const p of paths) {
        const name = p.slice(p.lastIndexOf("/") + 1);
        await Deno.mkdir(`${dir}/subs/instructor`, { recursive: true });
        await Deno.copyFile(p, `${dir}/subs/instructor/${name}`);
        if (graded.length) {
          await Deno.mkdir(nbDir, { recursive: true });
          await Deno.copyFile(p, `${nbDir}/${name}`);
        }
      }
      const { records } = await gradeAll({
        submissions: `${dir}/subs`,
        notebooks: nbDir,
        out: `${dir}/out`,
        jobs: 2,
        timeoutSec: LECTURE_TIMEOUT,
        memoryMb: 2048,
        quiet: false, // a line per graded notebook: the test takes half a minute
        noFeedback: true,
      });
      assert.strictEqual(records.length, paths.length);
      for (const r of records) {
        const failed = r.rows.filter((x) => !x.passed);
        assert.deepStrictEqual(
          failed.map((x) => `${x.check}: ${x.message}`),
          [],
          `${r.notebook}: ${r.invalid ?? r.notes.join("; ")}`,
        );
        assert.ok(r.rows.length > 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sandbox: a value whose getters lie cannot slip through assertClose in a check",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cells: SandboxCell[] = [
      { kind: "code", source: 'import { assertClose } from "@kit/mod.ts";' },
      {
        kind: "code",
        source: "class Liar extends Float64Array {\n  reads = 0;\n" +
          "  get length() { return this.reads++ === 0 ? 3 : 0; }\n}\n" +
          "function ex() { return new Liar(3); }\n" +
          'try { assertClose(ex(), [1, 2, 3]); console.log("unwrapped: passed"); }\n' +
          'catch { console.log("unwrapped: failed"); }',
      },
      { kind: "check", checkId: "liar", hidden: true, source: "assertClose(ex(), [1, 2, 3]);" },
      {
        kind: "check",
        checkId: "honest",
        hidden: true,
        source: "assertClose(new Float64Array([1, 2]), [1, 2]);",
      },
    ];
    const r = await runSandboxed(cells, {
      root: ROOT,
      bindings: importBindings(cells.map((c) => c.source)),
      timeoutSec: TIMEOUT,
      memoryMb: MEMORY,
    });
    // The attack works on the library function as such (the student's own call)...
    assert.match(r.cells[1].output, /unwrapped: passed/);
    // ...but not in a hidden check: the checker realm receives the array's data, read through
    // the typed array's own slots, not its getters.
    assert.strictEqual(r.cells[2].passed, false);
    assert.match(r.cells[2].message!, /3 of 3 elements differ/);
    assert.strictEqual(r.cells[3].passed, true, r.cells[3].message);
  },
});

Deno.test({
  name: "sandbox: a slow instructor cell gets a second run with twice the time, not a skip",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The cell sleeps as long as the limit: the first run always runs out of time, and the
    // second (twice the limit) has the sandbox's start-up time to spare, which the baseline
    // measured at the start bounds.
    const limit = Math.max(3, Math.ceil(4 * BASELINE));
    const slow = `await new Promise((r) => setTimeout(r, ${limit * 1000}));\nconst ready = 42;`;
    const check = "if (ready !== 42) throw new Error('the slow cell did not run');";
    const run = (trusted: boolean) =>
      runSandboxed([
        { kind: "code", source: slow, trusted },
        { kind: "check", checkId: "after", source: check },
      ], { root: ROOT, bindings: [], timeoutSec: limit, memoryMb: MEMORY });
    const [mine, theirs] = await Promise.all([run(true), run(false)]);
    assert.strictEqual(mine.cells[1].passed, true, mine.cells[1].message);
    assert.strictEqual(mine.runs, 2);
    assert.ok(
      mine.notes.join().includes(
        `instructor's cell 1 did not finish within ${limit} s; the notebook ran again with ${
          2 * limit
        } s`,
      ),
      mine.notes.join(),
    );
    // The same cell written by a student is skipped instead, so the check fails.
    assert.strictEqual(theirs.cells[0].status, "skipped");
    assert.strictEqual(theirs.cells[1].passed, false);
  },
});

Deno.test({
  name:
    "grader: issue 19's attacks on lecture notebook 08 score what the honest wrong answers score",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const name = "08_initialization_and_gradient_flow.ipynb";
    const inst: Notebook = JSON.parse(await Deno.readTextFile(`${ROOT}/notebooks/${name}`));
    /** The student version with each exercise's stubs replaced by `bodies[k]` (wrong answers). */
    const withAnswers = (bodies: Record<string, string>, before: string[]) => {
      const nb = studentNotebook(inst, name);
      const at = nb.cells.findIndex((c) =>
        sourceText(c.source).includes("function ex1GlorotBound")
      );
      assert.ok(at > 0, "08 has its exercise 1 cell");
      for (const c of nb.cells) {
        if (c.cell_type !== "code") continue;
        let src = sourceText(c.source);
        for (const [fn, body] of Object.entries(bodies)) {
          src = src.replace(
            new RegExp(
              `(function ${fn}\\([^)]*\\)[^{]*\\{\\n)\\s*throw new Error\\("Exercise \\d: your code here"\\);`,
            ),
            `$1  ${body}`,
          );
        }
        c.source = src;
      }
      nb.cells.splice(
        at,
        0,
        ...before.map((source, i): CodeCell => ({
          cell_type: "code",
          id: `attack${i}`,
          metadata: {},
          source,
          outputs: [],
          execution_count: null,
        })),
      );
      return nb;
    };
    // Wrong answers that the attacks would have passed in one realm: exercise 2 is right only
    // where the signal never shrinks; exercise 3 does not clip.
    const copyOut = "const out: number[][] = [];\n  for (let i = 0; i < grads.length; i++) " +
      "out.push(Array.prototype.slice.call(grads[i]));\n  ";
    const wrong = {
      ex1GlorotBound: "return 1;",
      ex1HeBound: "return 1;",
      ex2LayersToShrink: "return (n * sigma2) / 2 >= 1 ? Infinity : 1;",
      ex3ClipByNorm: copyOut + "return out;",
    };
    const attacks = {
      ex1GlorotBound: "return fake();",
      ex1HeBound: "return fake();",
      ex2LayersToShrink: wrong.ex2LayersToShrink,
      ex3ClipByNorm: copyOut + "return leaky(out) as number[][];",
    };
    const honest = withAnswers(wrong, []);
    const hostileNb = withAnswers(attacks, [
      FAKE,
      LEAKY_ARRAY.replace(
        "const out = [...values];",
        "const out: unknown[] = [];\n  for (let i = 0; i < values.length; i++) out.push(values[i]);",
      ),
      "gaussE = () => 0; // the helper a hidden check once called",
      ITERATOR_HIJACK,
    ]);
    hostileNb.cells.push({
      cell_type: "code",
      id: "attack-print",
      metadata: {},
      source: 'console.log("leaked:", leaked.join("\\n"));',
      outputs: [],
      execution_count: null,
    });
    const dir = await Deno.makeTempDir({ prefix: "grade_attack08_" });
    try {
      await Deno.mkdir(`${dir}/nb`);
      await Deno.copyFile(`${ROOT}/notebooks/${name}`, `${dir}/nb/${name}`);
      for (const [s, nb] of [["honest", honest], ["attack", hostileNb]] as const) {
        await Deno.mkdir(`${dir}/subs/${s}`, { recursive: true });
        await Deno.writeTextFile(`${dir}/subs/${s}/${name}`, JSON.stringify(nb));
      }
      const { records } = await gradeAll({
        submissions: `${dir}/subs`,
        notebooks: `${dir}/nb`,
        out: `${dir}/out`,
        jobs: 2,
        timeoutSec: Math.max(300, LECTURE_TIMEOUT),
        memoryMb: 2048,
        quiet: false,
      });
      const hiddenRows = (s: string) =>
        record(records, s, name).rows.filter((r) => r.hidden).map((r) => [r.check, r.points]);
      assert.deepStrictEqual(hiddenRows("attack"), hiddenRows("honest"));
      assert.deepStrictEqual(hiddenRows("attack").map(([, p]) => p), [0, 0, 0]);
      assert.strictEqual(points(records, "attack"), points(records, "honest"));
      const ex1 = record(records, "attack", name).rows.find((r) => r.check === "08-ex1")!;
      assert.match(ex1.message, /Proxy/);
      const page = await Deno.readTextFile(
        `${dir}/out/feedback/attack__08_initialization_and_gradient_flow.html`,
      );
      assert.match(page, /leaked:/, "the printing cell ran");
      for (const secret of ["ex3Tensors", "byRecursion", "ex3Copy"]) {
        assert.ok(!page.includes(secret), `the hidden check's source leaked: ${secret}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * Every regular file under `dir` (named pipes and other special files are not opened) that
 * contains one of `needles`, and how many named pipes there were.
 */
function secretsOnDisk(dir: string, needles: readonly string[]) {
  const found: string[] = [];
  let fifos = 0, files = 0;
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      let info: Deno.FileInfo;
      try {
        info = Deno.lstatSync(p);
      } catch {
        continue; // removed while we looked
      }
      if (info.isDirectory) walk(p);
      else if (info.isFile) {
        files++;
        let text = "";
        try {
          text = Deno.readTextFileSync(p);
        } catch {
          continue;
        }
        for (const n of needles) if (text.includes(n)) found.push(`${p}: ${n}`);
      } else if (info.isFifo) fifos++;
    }
  };
  walk(dir);
  return { found, fifos, files };
}

Deno.test({
  name: "sandbox: while a hidden check runs, no secret and no check text is on disk",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "grade_secrets_" });
    const tmp = `${dir}/tmp`;
    await Deno.mkdir(tmp);
    const mark = `HIDDEN-CHECK-TEXT-${crypto.randomUUID()}`;
    // The nonce-bearing name and the report marker have fixed prefixes; the check's own text.
    const needles = ["__kit_grade_", "#kit-grade:", mark];
    try {
      // The scan finds what it looks for: a file holding a needle is reported.
      await Deno.mkdir(`${dir}/control`);
      await Deno.writeTextFile(`${dir}/control/prelude.ts`, "const __kit_grade_0 = 1;");
      assert.deepStrictEqual(secretsOnDisk(`${dir}/control`, needles).found, [
        `${dir}/control/prelude.ts: __kit_grade_`,
      ]);
      // The hidden check tells the test it runs, then waits for the test's go (it runs in the
      // grader's checker realm, which may read and write files).
      const cells: SandboxCell[] = [
        { kind: "code", source: 'import assert from "node:assert";' },
        { kind: "code", source: "function double(x: number) { return 2 * x; }" },
        {
          kind: "check",
          checkId: "waits",
          hidden: true,
          source: `// ${mark}
Deno.writeTextFileSync(${JSON.stringify(`${dir}/started`)}, "");
for (;;) {
  try { Deno.statSync(${JSON.stringify(`${dir}/go`)}); break; }
  catch { await new Promise((r) => setTimeout(r, 20)); }
}
assert.strictEqual(double(21), 42);`,
        },
      ];
      const running = runSandboxed(cells, {
        root: ROOT,
        bindings: importBindings(cells.map((c) => c.source)),
        timeoutSec: TIMEOUT,
        memoryMb: MEMORY,
        tmpDir: tmp,
      });
      let ended = false;
      running.finally(() => ended = true);
      while (!ended) {
        try {
          Deno.statSync(`${dir}/started`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      assert.ok(!ended, "the check started before the run ended");
      const scan = secretsOnDisk(tmp, needles);
      await Deno.writeTextFile(`${dir}/go`, "");
      const r = await running;
      assert.strictEqual(r.cells[2].passed, true, r.cells[2].message);
      assert.deepStrictEqual(scan.found, []);
      // The run's eval files were there, as named pipes: 1 prelude, a marker and a text per cell,
      // 1 end.
      assert.strictEqual(scan.fifos, 2 + 2 * cells.length);
      assert.deepStrictEqual([...Deno.readDirSync(tmp)], [], "the run's folder is removed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "checker realm: reused by the next run of a notebook, not after a cut-off call",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cells = (check: string, spin = false): SandboxCell[] => [
      { kind: "code", source: 'import assert from "node:assert";' },
      {
        kind: "code",
        source: spin
          ? "function double(x: number): number { while (true) {} }"
          : "function double(x: number) { return 2 * x; }",
      },
      { kind: "check", checkId: "c", hidden: true, source: check },
    ];
    const run = (check: string, spin = false, timeoutSec = TIMEOUT) =>
      runSandboxed(cells(check, spin), {
        root: ROOT,
        bindings: importBindings(cells(check).map((c) => c.source)),
        timeoutSec,
        memoryMb: MEMORY,
      });
    // A check that keeps one of the submission's functions in a global (what checks must not
    // do), to show what a later run of the same realm sees.
    const keeps = `const g = globalThis as Record<string, unknown>;
const kept = Object.getOwnPropertyDescriptor(g, "kept")?.value as (() => number) | undefined;
assert.strictEqual(double(2), 4);
if (kept === undefined) {
  g.kept = double;
  throw new Error("kept for the next run");
}
assert.throws(() => kept(), /that submission's run is over/);`;
    const before = checkerRealmsStarted();
    const first = await run(keeps);
    // The first run keeps its double; the second run's realm is the first's (one realm
    // started): it finds the kept function, which refuses to call the second run's sandbox.
    assert.match(first.cells[2].message!, /kept for the next run/);
    const second = await run(keeps);
    assert.strictEqual(second.cells[2].passed, true, second.cells[2].message);
    assert.strictEqual(checkerRealmsStarted() - before, 1, "the realm is reused");
    // Another notebook (another check) gets its own realm.
    const other = await run("assert.strictEqual(double(3), 6);");
    assert.strictEqual(other.cells[2].passed, true, other.cells[2].message);
    assert.strictEqual(checkerRealmsStarted() - before, 2);
    // A run whose call was cut off (the submission's function never returns: the run is killed
    // at the time limit) ends its realm: the next run starts a new one.
    const limit = Math.max(3, Math.ceil(2 * BASELINE));
    const cut = await run("assert.strictEqual(double(3), 6);", true, limit);
    assert.strictEqual(cut.cells[2].passed, false);
    assert.strictEqual(checkerRealmsStarted() - before, 2, "the cut run used the idle realm");
    const after = await run("assert.strictEqual(double(3), 6);");
    assert.strictEqual(after.cells[2].passed, true, after.cells[2].message);
    assert.strictEqual(checkerRealmsStarted() - before, 3, "a new realm after the cut-off");
    closeIdleCheckers();
  },
});
