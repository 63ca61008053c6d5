/**
 * A class's round trip: submissions as Moodle and Canvas give them (zips built from the naming
 * their source code uses), identities from their own roster exports, an assignment of three
 * notebooks with a student missing one, the gradebook and the platforms' import files, and the
 * feedback pages on a 390 px phone in Chromium (no horizontal overflow, no broken link).
 *
 * Three students throughout: the full solution (10 of 10), the untouched student version (0),
 * and one wrong answer to exercise 1 (7 of 10), built from the grading fixture.
 */
import assert from "node:assert";
import { parse } from "csv-parse/sync";
import { join } from "node:path";
import { type CodeCell, type Notebook, sourceText } from "../tools/notebook/io.ts";
import { studentNotebook } from "../tools/notebook/exercises.ts";
import { gradeAll } from "../tools/grade/grade.ts";
import { loadRoster } from "../tools/grade/submissions.ts";
import { readZip, writeZip, type ZipEntry } from "../tools/grade/zip.ts";
import type { Assignment } from "../tools/grade/course.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURES = `${ROOT}/tests/fixtures/grade/notebooks`;
const NB = "90_grading_fixture.ipynb";
const instructor: Notebook = JSON.parse(await Deno.readTextFile(`${FIXTURES}/${NB}`));
const enc = new TextEncoder();
const LIMITS = { jobs: 3, timeoutSec: 20, memoryMb: 600, quiet: true };

const json = (nb: Notebook) => enc.encode(JSON.stringify(nb));
const full = () => structuredClone(instructor);
const untouched = () => studentNotebook(instructor, NB);
function wrongEx1(): Notebook {
  const nb = untouched();
  for (
    const [id, body] of [
      ["c04", "return 0.5;"],
      ["c07", "return 1 / (1 - p);"],
      [
        "c10",
        "const [r, c] = A.shape; let s = 0; for (let i = 0; i < r; i++) s += A.data[i * c + j]; return s / r;",
      ],
    ]
  ) {
    const c = nb.cells.find((x) => x.id === id) as CodeCell;
    c.source = sourceText(c.source).replace(
      /throw new Error\("Exercise \d: your code here"\);/,
      body,
    );
  }
  // An upload keeps its outputs; the grader strips them first.
  (nb.cells.find((x) => x.id === "c02") as CodeCell).outputs = [
    { output_type: "stream", name: "stdout", text: ["x".repeat(200_000)] },
  ];
  return nb;
}
const totalOf = (csv: string, student: string) => {
  const rows = parse(csv, { columns: true }) as Record<string, string>[];
  const r = rows.find((x) => x.student === student);
  assert.ok(r, `${student} in ${csv}`);
  return r;
};
const assignment: Assignment = { id: "t", title: "Fixture", notebooks: [NB] };

Deno.test({
  name: "class: Moodle's zip, its worksheet as roster, gradebook, worksheet and feedback zip",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "class_moodle_" });
  try {
    const p = (name: string, id: number) => `${name}_${id}_assignsubmission_file_`;
    const files: ZipEntry[] = [
      // "María O'Brien": Moodle's clean_filename drops the apostrophe.
      { name: `${p("Ana María OBrien", 101)}/${NB}`, data: json(full()) },
      { name: `${p("Bruno Díaz", 102)}/${NB}`, data: json(untouched()) },
      { name: `${p("Bruno Díaz", 102)}/notes.txt`, data: enc.encode("my notes") },
      // Another file name: matched to the course notebook by its cell ids.
      { name: `${p("Carla Núñez", 103)}/mi cuaderno.ipynb`, data: json(wrongEx1()) },
    ];
    const zip = writeZip(files);
    // An empty participant folder: added by hand (writeZip writes files only).
    await Deno.writeFile(`${dir}/subs.zip`, zip);
    const roster = [
      [
        "Identifier",
        "Full name",
        "Email address",
        "Status",
        "Grade",
        "Maximum Grade",
        "Grade can be changed",
        "Last modified (submission)",
        "Last modified (grade)",
        "Feedback comments",
      ],
      [
        "Participant 101",
        "Ana María O'Brien",
        "ana@example.edu",
        "Submitted",
        "",
        "10",
        "Yes",
        "",
        "",
        "",
      ],
      [
        "Participant 102",
        "Bruno Díaz",
        "bruno@example.edu",
        "Submitted",
        "",
        "10",
        "Yes",
        "",
        "",
        "",
      ],
      [
        "Participant 103",
        "Carla Núñez",
        "carla@example.edu",
        "Submitted",
        "",
        "10",
        "Yes",
        "",
        "",
        "",
      ],
      [
        "Participant 104",
        "Darío Paz",
        "dario@example.edu",
        "No submission",
        "",
        "10",
        "Yes",
        "",
        "",
        "",
      ],
    ];
    await Deno.writeTextFile(
      `${dir}/worksheet.csv`,
      roster.map((r) => r.map((c) => `"${c}"`).join(",")).join("\n"),
    );
    const out = `${dir}/out`;
    const { invalid } = await gradeAll({
      ...LIMITS,
      submissions: `${dir}/subs.zip`,
      notebooks: FIXTURES,
      out,
      from: "moodle",
      assignment,
      roster: await loadRoster(`${dir}/worksheet.csv`),
      lms: "moodle",
    });
    // notes.txt could not be graded: reported (exit 1), every other row written.
    assert.strictEqual(invalid.length, 1, invalid.join("\n"));
    assert.match(invalid[0], /notes\.txt.*not a notebook/);

    const gb = await Deno.readTextFile(`${out}/gradebook.csv`);
    const header = parse(gb)[0] as string[];
    assert.deepStrictEqual(header.slice(0, 5), ["student", "id", "total", "max", "late"]);
    assert.ok(header.includes("90 Exercise 1: ridge shrinkage"), header.join());
    assert.deepStrictEqual(
      ["Ana María O'Brien", "Bruno Díaz", "Carla Núñez", "Darío Paz"].map((s) => {
        const r = totalOf(gb, s);
        return [r.id, r.total, r.max];
      }),
      [["101", "10", "10"], ["102", "0", "10"], ["103", "7", "10"], ["104", "0", "10"]],
    );
    assert.strictEqual(totalOf(gb, "Carla Núñez")["90 Exercise 1: ridge shrinkage"], "0");

    const grades = parse(await Deno.readTextFile(`${out}/grades.csv`), { columns: true }) as Record<
      string,
      string
    >[];
    const carla = grades.filter((r) => r.student === "Carla Núñez");
    assert.deepStrictEqual(
      carla.map((r) => [r.check, r.result]),
      [
        ["90-ex1-visible", "failed"],
        ["90-ex1", "failed"],
        ["90-ex2-visible", "passed"],
        ["90-ex2", "passed"],
        ["90-ex3-visible", "passed"],
        ["90-ex3", "passed"],
      ],
    );
    assert.ok(
      grades.every((r) => !r.notebook.endsWith(".ipynb") || /^[0-9a-f]{12}$/.test(r.version)),
    );
    const dario = grades.filter((r) => r.student === "Darío Paz");
    assert.ok(dario.length === 6 && dario.every((r) => r.points === "0"));
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    assert.ok(
      results.some((r: { student: string; rows: { message: string }[] }) =>
        r.student === "Darío Paz" && r.rows.every((x) => x.message === "not submitted")
      ),
    );

    // The worksheet goes back with the teacher's own columns, the grades filled in.
    const lms = parse(await Deno.readTextFile(`${out}/lms-moodle.csv`), {
      columns: true,
    }) as Record<string, string>[];
    assert.deepStrictEqual(Object.keys(lms[0]), roster[0]);
    assert.deepStrictEqual(
      lms.map((r) => [r.Identifier, r.Grade]),
      [["Participant 101", "10"], ["Participant 102", "0"], ["Participant 103", "7"], [
        "Participant 104",
        "0",
      ]],
    );
    assert.ok(lms.every((r) => !isNaN(Date.parse(r["Last modified (grade)"]))));

    // The feedback zip as Moodle's importer splits names: <name>_<id>_assignfeedback_file_<file>.
    const fz = readZip(await Deno.readFile(`${out}/feedback-moodle.zip`), "feedback-moodle.zip");
    const ids = fz.entries.map((e) => {
      // PHP's explode("_", $part, 5), as assignfeedback_file_zip_importer does.
      const parts = e.name.split("_");
      const [name, id, type, plugin] = parts;
      const rest = parts.slice(4).join("_");
      assert.strictEqual(`${type}_${plugin}`, "assignfeedback_file", e.name);
      assert.strictEqual(rest, "feedback.html");
      assert.ok(!name.startsWith(".") && !name.startsWith("~"));
      return id;
    });
    assert.deepStrictEqual(ids.sort(), ["101", "102", "103", "104"]);
    const ana = new TextDecoder().decode(fz.entries.find((e) => e.name.includes("_101_"))!.data);
    assert.ok(
      ana.includes("Ana María O&#39;Brien") || ana.includes("Ana María O'Brien"),
      "name intact",
    );
    assert.ok(!/href="[^"#]/.test(ana), "a standalone page links to nothing that is not there");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "class: Canvas's zip, its gradebook export as roster, late mark, newest version, import CSV",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "class_canvas_" });
  try {
    const files: ZipEntry[] = [
      { name: `obrienanamaría_4711_9001_${NB}`, data: json(full()) },
      { name: `díazbruno_late_4712_9002_${NB}`, data: json(untouched()) },
      { name: `díazbruno_late_4712_9004_notes.txt`, data: enc.encode("notes") },
      // Two versions: the older (untouched) and the newer (one wrong answer) is graded.
      { name: `núñezcarla_4713_9003_${NB}`, data: json(untouched()) },
      { name: `núñezcarla_4713_9005_90_grading_fixture-1.ipynb`, data: json(wrongEx1()) },
    ];
    await Deno.writeFile(`${dir}/subs.zip`, writeZip(files));
    await Deno.writeTextFile(
      `${dir}/export.csv`,
      [
        `Student,ID,SIS User ID,SIS Login ID,Section,Fixture (555),Current Score`,
        `    Points Possible,,,,,10,(read only)`,
        `"O'Brien, Ana María",4711,A1,ana@example.edu,Sección 1,,`,
        `"Díaz, Bruno",4712,B2,bruno@example.edu,Sección 1,,`,
        `"Núñez, Carla",4713,C3,carla@example.edu,Sección 2,,`,
      ].join("\n"),
    );
    const out = `${dir}/out`;
    const { invalid } = await gradeAll({
      ...LIMITS,
      submissions: `${dir}/subs.zip`,
      notebooks: FIXTURES,
      out,
      from: "canvas",
      assignment: { ...assignment, canvas: { assignmentId: 555 } },
      roster: await loadRoster(`${dir}/export.csv`),
      lms: "canvas",
      noFeedback: true,
    });
    assert.strictEqual(invalid.length, 1);
    const gb = await Deno.readTextFile(`${out}/gradebook.csv`);
    assert.deepStrictEqual(
      ["O'Brien, Ana María", "Díaz, Bruno", "Núñez, Carla"].map((s) => {
        const r = totalOf(gb, s);
        return [r.id, r.total, r.late];
      }),
      [["4711", "10", ""], ["4712", "0", NB], ["4713", "7", ""]],
    );
    const rows = parse(await Deno.readTextFile(`${out}/lms-canvas.csv`)) as string[][];
    // Canvas's importer: Student, ID, ..., Section, then "Title (id)"; a Points Possible row.
    assert.deepStrictEqual(rows[0], [
      "Student",
      "ID",
      "SIS User ID",
      "SIS Login ID",
      "Section",
      "Fixture (555)",
    ]);
    assert.deepStrictEqual(rows[1], ["Points Possible", "", "", "", "", "10"]);
    assert.deepStrictEqual(rows.slice(2).map((r) => [r[0], r[1], r[2], r[4], r[5]]), [
      ["Díaz, Bruno", "4712", "B2", "Sección 1", "0"],
      ["Núñez, Carla", "4713", "C3", "Sección 2", "7"],
      ["O'Brien, Ana María", "4711", "A1", "Sección 1", "10"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A copy of the fixture as notebook NN: its cell ids and check ids renamed. */
function renumbered(n: string): Notebook {
  const nb = structuredClone(instructor);
  for (const c of nb.cells) {
    c.id = `n${n}-${c.id}`;
    const g = (c.metadata as { kit?: { grade?: { id: string } } }).kit?.grade;
    if (g) g.id = g.id.replace(/^90/, n);
  }
  return nb;
}

Deno.test({
  name: "class: an assignment of 3 notebooks totals out of 30; a missing notebook is 0, exit 0",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "class_assign_" });
  try {
    const names = ["91_a.ipynb", "92_b.ipynb", "93_c.ipynb"];
    await Deno.mkdir(`${dir}/nbs`);
    for (const name of names) {
      await Deno.writeTextFile(`${dir}/nbs/${name}`, JSON.stringify(renumbered(name.slice(0, 2))));
    }
    await Deno.writeTextFile(
      `${dir}/course.json`,
      JSON.stringify({
        title: "T",
        assignments: [{ id: "hw", title: "Homework", notebooks: names }],
      }),
    );
    for (const [student, list] of [["ana", names], ["bruno", names.slice(0, 2)]] as const) {
      await Deno.mkdir(`${dir}/subs/${student}`, { recursive: true });
      for (const name of list) {
        const sub = await Deno.readTextFile(`${dir}/nbs/${name}`);
        await Deno.writeTextFile(`${dir}/subs/${student}/${name}`, sub);
      }
    }
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "grade",
        `${dir}/subs`,
        "--assignment",
        "hw",
        "--course",
        `${dir}/course.json`,
        "--notebooks",
        `${dir}/nbs`,
        "--out",
        `${dir}/out`,
        "--timeout",
        "20",
        "--memory",
        "600",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(run.stderr);
    assert.strictEqual(run.code, 0, err);
    const gb = await Deno.readTextFile(`${dir}/out/gradebook.csv`);
    assert.deepStrictEqual([totalOf(gb, "ana").total, totalOf(gb, "ana").max], ["30", "30"]);
    const bruno = totalOf(gb, "bruno");
    assert.deepStrictEqual([bruno.total, bruno.max, bruno["93_c.ipynb"]], ["20", "30", "0"]);
    const grades = parse(await Deno.readTextFile(`${dir}/out/grades.csv`), {
      columns: true,
    }) as Record<string, string>[];
    const missing = grades.filter((r) => r.student === "bruno" && r.notebook === "93_c.ipynb");
    assert.strictEqual(missing.length, 6);
    const results = JSON.parse(await Deno.readTextFile(`${dir}/out/results.json`));
    const rec = results.find((r: { student: string; notebook: string }) =>
      r.student === "bruno" && r.notebook === "93_c.ipynb"
    );
    assert.ok(
      rec.rows.every((r: { message: string; points: number }) =>
        r.message === "not submitted" && r.points === 0
      ),
    );
    // A usage error is 2, and --help is 0.
    const bad = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "grade",
        `${dir}/subs`,
        "--assignment",
        "nope",
        "--course",
        `${dir}/course.json`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.strictEqual(bad.code, 2);
    assert.match(
      new TextDecoder().decode(bad.stderr),
      /--assignment nope is not in the course file; it has hw/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("class: every task answers --help with its usage and exit 0", async () => {
  for (const task of ["student", "grade", "grade:merge", "gen:wasm"]) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", task, "--help"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    assert.strictEqual(r.code, 0, `${task} --help: ${new TextDecoder().decode(r.stderr)}`);
    assert.match(out, /usage: deno task /, task);
  }
});

/** Chromium at 390 px over every feedback page: no horizontal overflow, no broken link. */
Deno.test({
  name: "class: feedback pages on a 390 px phone: no overflow, no broken link",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const chromium = await Deno.stat("/usr/bin/chromium").then(() => true, () => false);
  if (!chromium && Deno.env.get("CI") !== "true") {
    console.warn("*** class_test: Chromium missing, the 390 px feedback check is SKIPPED ***");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "class_feedback_" });
  try {
    for (
      const [s, nb] of [["Ana María O'Brien", full()], ["Carla <b>Núñez</b>", wrongEx1()]] as const
    ) {
      await Deno.mkdir(`${dir}/subs/${s}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/subs/${s}/${NB}`, JSON.stringify(nb));
    }
    await Deno.writeTextFile(`${dir}/subs/Carla <b>Núñez</b>/readme.md`, "# hi");
    await gradeAll({
      ...LIMITS,
      submissions: `${dir}/subs`,
      notebooks: FIXTURES,
      out: `${dir}/out`,
      assignment,
    });
    const fb = `${dir}/out/feedback`;
    const pages: string[] = [];
    for await (const e of Deno.readDir(fb)) if (e.name.endsWith(".html")) pages.push(e.name);
    assert.ok(pages.length >= 4, pages.join());
    const { launchChromium } = await import("../tools/export/pdf.ts");
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      for (const name of pages.sort()) {
        await t.step(name, async () => {
          await page.goto(new URL(`file://${join(fb, name)}`).href);
          const m = await page.evaluate(() => ({
            scroll: document.documentElement.scrollWidth,
            client: document.documentElement.clientWidth,
            links: [...document.querySelectorAll("a[href]")].map((a) =>
              (a as HTMLAnchorElement).href
            ),
            text: document.body.innerText,
          }));
          assert.ok(
            m.scroll <= m.client,
            `${name}: ${m.scroll} px wide in a ${m.client} px window`,
          );
          for (const href of m.links) {
            const u = new URL(href);
            assert.strictEqual(u.protocol, "file:", `${name} links off the page: ${href}`);
            const target = decodeURIComponent(u.pathname);
            assert.ok(
              await Deno.stat(target).then(() => true, () => false),
              `${name}: broken ${href}`,
            );
            if (u.hash) {
              await page.goto(u.href.replace(/#.*/, ""));
              const there = await page.evaluate(
                (id) => !!document.getElementById(id),
                decodeURIComponent(u.hash.slice(1)),
              );
              assert.ok(there, `${name}: no anchor ${u.hash} in ${target}`);
              await page.goto(new URL(`file://${join(fb, name)}`).href);
            }
          }
          if (!name.includes("__")) {
            assert.match(m.text, /Exercise 1: ridge shrinkage/);
            assert.ok(!m.text.includes("90-ex1 (hidden)"));
          }
        });
      }
    } finally {
      await browser.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
