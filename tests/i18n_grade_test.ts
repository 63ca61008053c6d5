/**
 * Grading the Spanish edition with `deno task grade`, as a class would: the Spanish student
 * notebooks (`deno task student --lang es` hands out the same ones) with the instructor's
 * solutions pasted into their exercise cells get every point; the untouched Spanish student
 * notebooks get 0; a student who renamed one file and left out another gets Spanish notes. The
 * feedback pages are Spanish: `lang="es"`, the tools' words, the grader's notes, and the exercise
 * titles of the Spanish instructor notebook.
 *
 * Two quick lecture notebooks by default; `KIT_I18N_GRADE_ALL=1` grades every lecture notebook
 * with exercises (about as long as the notebooks' own runs, twice).
 */
import assert from "node:assert/strict";
import { basename } from "node:path";
import {
  type Notebook,
  notebookJson,
  projectNotebooks,
  readNotebook,
  sourceText,
} from "../tools/notebook/io.ts";
import { isGraded, studentNotebook } from "../tools/notebook/exercises.ts";
import { localizedNotebook } from "../tools/i18n/mod.ts";
import { loadInstructor } from "../tools/grade/grader.ts";
import { exercisesOf } from "../tools/grade/course.ts";
import type { ResultRecord } from "../tools/grade/report.ts";
import { studentSlug } from "../tools/grade/feedback.ts";
import { escapeHtml } from "../tools/export/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ALL = Deno.env.get("KIT_I18N_GRADE_ALL") === "1";
const QUICK = ["06_early_stopping.ipynb", "07_optimizers_and_schedules.ipynb"];

/** The Spanish student notebook with the instructor's solution cells pasted back in. */
function withSolutions(student: Notebook, instructor: Notebook): Notebook {
  const byId = new Map(instructor.cells.map((c) => [c.id, c]));
  let pasted = 0;
  const cells = student.cells.map((c) => {
    const inst = c.id === undefined ? undefined : byId.get(c.id);
    if (c.cell_type !== "code" || inst?.cell_type !== "code") return c;
    if (sourceText(inst.source) === sourceText(c.source)) return c;
    pasted++;
    return { ...c, source: inst.source };
  });
  assert.ok(pasted > 0, "the student notebook has exercise cells to fill");
  return { ...student, cells };
}

Deno.test({
  name:
    "Spanish submissions: solutions pasted get every point, untouched ones 0, feedback in Spanish",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const graded: string[] = [];
    for (const p of await projectNotebooks()) {
      if (isGraded(await readNotebook(p))) graded.push(p);
    }
    const chosen = ALL ? graded : graded.filter((p) => QUICK.includes(basename(p)));
    assert.ok(chosen.length >= 2, `lecture notebooks with exercises to grade: ${chosen}`);
    const dir = await Deno.makeTempDir({ prefix: "i18n_grade_test_" });
    try {
      const spanish = new Map<string, Notebook>();
      for (const path of chosen) {
        const name = basename(path);
        const es = await localizedNotebook(await readNotebook(path), path, "es", ROOT);
        spanish.set(name, es);
        const student = studentNotebook(es, name);
        assert.equal(student.metadata.lang, "es");
        assert.ok(
          sourceText(student.cells.map((c) => sourceText(c.source)).join("\n")).includes(
            "Ejercicio 1: escribe tu código aquí",
          ),
          `${name}: the Spanish stub`,
        );
        for (
          const [who, nb] of [["sol", withSolutions(student, es)], ["blank", student]] as const
        ) {
          await Deno.mkdir(`${dir}/subs/${who}`, { recursive: true });
          await Deno.writeTextFile(`${dir}/subs/${who}/${name}`, notebookJson(nb));
        }
      }
      // A student who renamed the first notebook and did not submit the second.
      const [first, second] = chosen.map((p) => basename(p));
      await Deno.mkdir(`${dir}/subs/partial`, { recursive: true });
      await Deno.copyFile(`${dir}/subs/blank/${first}`, `${dir}/subs/partial/tarea.ipynb`);

      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "grade",
          `${dir}/subs`,
          "--out",
          `${dir}/out`,
          "--jobs",
          "2",
          "--timeout",
          "180",
          "--memory",
          "2048",
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      console.log(log.split("\n").filter((l) => l.startsWith("graded ")).join("\n"));
      assert.ok(run.success, log.slice(-3000));

      const records: ResultRecord[] = JSON.parse(
        await Deno.readTextFile(`${dir}/out/results.json`),
      );
      const of = (student: string, nb: string) =>
        records.find((r) => r.student === student && r.notebook === nb)!;
      for (const path of chosen) {
        const name = basename(path);
        const sol = of("sol", name), blank = of("blank", name);
        const total = (r: ResultRecord) => r.rows.reduce((s, x) => s + x.points, 0);
        const max = sol.rows.reduce((s, x) => s + x.max, 0);
        assert.ok(max > 0, `${name} has points`);
        assert.deepEqual(
          sol.rows.filter((x) => !x.passed).map((x) => `${x.check}: ${x.message}`),
          [],
          `${name}: the pasted solutions pass every check (${sol.invalid ?? sol.notes.join("; ")})`,
        );
        assert.equal(total(sol), max, `${name}: full points`);
        assert.equal(total(blank), 0, `${name}: the untouched student notebook gets 0`);
        assert.ok(blank.rows.some((x) => !x.passed && x.max > 0));
      }

      // The feedback pages, in Spanish.
      const solPage = await Deno.readTextFile(`${dir}/out/feedback/${studentSlug("sol")}.html`);
      assert.match(solPage, /<html lang="es">/);
      assert.ok(solPage.includes("Devolución para sol"), "the page's heading in Spanish");
      for (const [name, es] of spanish) {
        const titles = [...exercisesOf(loadInstructor(name, JSON.stringify(es))).values()];
        const english = [
          ...exercisesOf(loadInstructor(name, await Deno.readTextFile(`${ROOT}/notebooks/${name}`)))
            .values(),
        ];
        titles.forEach((t, i) => {
          assert.ok(
            solPage.includes(`<span class="ex-title">${escapeHtml(t.title)}</span>`),
            `${name}: exercise title "${t.title}" of the Spanish instructor notebook`,
          );
          // Once the catalog translates the heading, the page says "Ejercicio".
          if (t.title !== english[i].title) assert.match(t.title, /^Ejercicio \d+: /);
        });
      }
      const partial = await Deno.readTextFile(
        `${dir}/out/feedback/${studentSlug("partial")}.html`,
      );
      assert.match(partial, /<html lang="es">/);
      assert.ok(partial.includes("entregado como tarea.ipynb"), "note: submitted as, in Spanish");
      assert.ok(partial.includes("no entregado"), `note: ${second} not submitted, in Spanish`);
      assert.ok(!/\bnot submitted\b|\bsubmitted as\b/.test(partial), "no English note left");
      // The teacher's files keep the English notes (one gradebook for every student).
      assert.ok(of("partial", first).notes.includes("submitted as tarea.ipynb"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
