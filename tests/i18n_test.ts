/**
 * The translation machinery: units, catalogs, staleness, placeholders, generated notebooks whose
 * code equals the English except string literals and comments, the Spanish welcome notebook run
 * on the kernel, pages and the student stub in Spanish.
 *
 * Every notebook's catalog must be complete (no missing, stale or invalid unit) and its Spanish
 * prose must follow docs/glosario.md (`deno task i18n:lint`): an English edit without its
 * translation fails here.
 */
import assert from "node:assert/strict";
import { parse } from "@babel/parser";
import { notebookUnits } from "../tools/i18n/extract.ts";
import { invalidReason, localizeNotebook } from "../tools/i18n/localize.ts";
import {
  catalogPath,
  countStates,
  mergeUnits,
  notebookStatus,
  readCatalog,
} from "../tools/i18n/catalog.ts";
import { formatPo, parsePo, type PoCatalog } from "../tools/i18n/po.ts";
import { UI, ui } from "../tools/i18n/ui.ts";
import { spanishProse, uiStatus } from "../tools/i18n/cli.ts";
import { checkProse, glossaryRules } from "../tools/i18n/glossary.ts";
import { type Notebook, readNotebook, sourceText } from "../tools/notebook/io.ts";
import { studentNotebook } from "../tools/notebook/exercises.ts";
import { exportNotebooks } from "../tools/export/mod.ts";
import { executeNotebook } from "../tools/runner.ts";
import { studentReadme } from "../tools/grade/kit.ts";
import { localizeNote } from "../tools/i18n/notes.ts";

const WELCOME = "notebooks/00_welcome.ipynb";
const notebooks = [...Deno.readDirSync("notebooks")].filter((e) => e.name.endsWith(".ipynb"))
  .map((e) => `notebooks/${e.name}`).sort();

/** A catalog that "translates" every unit into itself, or by `f`. */
function catalogOf(nb: Notebook, f: (id: string) => string = (id) => id): PoCatalog {
  return {
    headers: {},
    obsolete: [],
    entries: notebookUnits(nb, "x").map((u) => ({
      ctx: u.ctx,
      id: u.text,
      str: f(u.text),
      fuzzy: false,
    })),
  };
}

/** The code of a cell as tokens, with the text of strings, templates and comments blanked. */
function codeShape(src: string): string[] {
  const ast = parse(src, {
    sourceType: "module",
    plugins: ["typescript"],
    errorRecovery: true,
    allowAwaitOutsideFunction: true,
    tokens: true,
  });
  // deno-lint-ignore no-explicit-any
  return (ast.tokens as any[]).flatMap((t) => {
    if (t.type === "CommentLine" || t.type === "CommentBlock") return [];
    const label = typeof t.type === "string" ? t.type : t.type?.label ?? String(t.type);
    // Babel 8 gives template chunks labels like "...${" and "...`", with the text inside.
    if (label === "string" || label === "template" || /[`]|\$\{/.test(label)) return [label];
    return [`${label}:${src.slice(t.start, t.end)}`];
  });
}

Deno.test("units: shown text is found, code is not", () => {
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [{
      cell_type: "code",
      id: "c",
      metadata: {},
      execution_count: null,
      outputs: [],
      source: [
        'import { plot } from "@kit/mod.ts";',
        'type Mode = "inside" | "outside";',
        'const mode: Mode = "inside";',
        'assert.equal(mode, "inside", "the mode should be inside");',
        "const label = `λ = ${lam}`; // shown only",
        'plot.line([{ name: label, mode: "markers", y: [1] }], { title: "Loss", dash: "dot" });',
        'const key = "train"; console.log(key); h[key];',
        'for (const s of ["a b", "c d"]) console.log(`run ${s}`);',
        'plot.bar(["SGD", "Adam"], { "train loss": [1, 2] });',
        'if (mode === "outside") throw new Error(`bad mode ${mode}`);',
        '"done"',
      ].join("\n"),
    }],
  };
  const texts = notebookUnits(nb, "x").map((u) => u.text);
  assert.deepEqual(texts, [
    "the mode should be inside",
    "λ = ${lam}",
    "shown only",
    "Loss",
    "a b",
    "c d",
    "run ${s}",
    "SGD",
    "Adam",
    "train loss",
    "bad mode ${mode}",
    "done",
  ]);
});

Deno.test("a catalog that keeps the English gives back every notebook byte for byte", async () => {
  // Byte for byte but the one string the generator sets: setLanguage("en") becomes "es".
  for (const path of notebooks) {
    const nb = await readNotebook(path);
    const { notebook, report } = localizeNotebook(nb, catalogOf(nb), { lang: "es", label: path });
    assert.equal(report.invalid.length, 0, `${path}: ${JSON.stringify(report.invalid[0])}`);
    assert.equal(report.languageCalls, 1, path);
    notebook.cells.forEach((c, i) =>
      assert.equal(
        sourceText(c.source),
        sourceText(nb.cells[i].source).replace('setLanguage("en");', 'setLanguage("es");'),
        `${path}, cell ${i + 1}`,
      )
    );
  }
});

Deno.test("every unit can change without touching the code around it", async () => {
  // Each unit replaced by a marker (templates keep their placeholders): the code is unchanged.
  for (const path of notebooks) {
    const nb = await readNotebook(path);
    const marked = catalogOf(nb, (id) => {
      const phs = [...id.matchAll(/\$\{/g)].length ? id.replace(/^[^$]*/, "XX ") : "XX";
      return phs;
    });
    // Markers that do not keep a template's placeholders are rejected, not applied.
    const { notebook } = localizeNotebook(nb, marked, { lang: "es", label: path });
    nb.cells.forEach((c, i) => {
      if (c.cell_type !== "code") return;
      assert.deepEqual(
        codeShape(sourceText(notebook.cells[i].source)),
        codeShape(sourceText(c.source)),
        `${path}, cell ${i + 1}`,
      );
    });
  }
});

Deno.test("the Spanish welcome notebook: fully translated, same code and cell ids", async () => {
  const nb = await readNotebook(WELCOME);
  const cat = await readCatalog(catalogPath(WELCOME, "es"));
  assert.ok(cat, "i18n/es/00_welcome.po exists");
  const counts = countStates(notebookStatus(nb, cat, WELCOME));
  assert.deepEqual(counts, { ok: counts.ok, missing: 0, stale: 0, invalid: 0 });
  const { notebook: es } = localizeNotebook(nb, cat, { lang: "es", label: WELCOME });
  assert.equal(es.metadata.lang, "es");
  assert.deepEqual(es.cells.map((c) => c.id), nb.cells.map((c) => c.id));
  es.cells.forEach((c, i) => {
    const en = nb.cells[i];
    if (c.cell_type === "code") {
      assert.deepEqual(codeShape(sourceText(c.source)), codeShape(sourceText(en.source)));
    } else {
      assert.notEqual(sourceText(c.source), sourceText(en.source), `cell ${i + 1} translated`);
    }
  });
  assert.match(sourceText(es.cells[0].source), /^# Bienvenida al kit del curso/);
});

Deno.test("every notebook's Spanish catalog is complete, with the English code and cell ids", async () => {
  for (const path of notebooks) {
    const nb = await readNotebook(path);
    const cat = await readCatalog(catalogPath(path, "es"));
    assert.ok(cat, `${catalogPath(path, "es")} exists`);
    const status = notebookStatus(nb, cat, path);
    const counts = countStates(status);
    const bad = status.filter((s) => s.state !== "ok").map((s) => `${s.unit.ctx}: ${s.state}`);
    assert.deepEqual(
      { ...counts, bad },
      { ok: counts.ok, missing: 0, stale: 0, invalid: 0, bad: [] },
      `${path}: run deno task i18n:update ${path}, then translate the units listed`,
    );
    const { notebook: es } = localizeNotebook(nb, cat, { lang: "es", label: path });
    assert.deepEqual(es.cells.map((c) => c.id), nb.cells.map((c) => c.id), path);
    es.cells.forEach((c, i) => {
      if (c.cell_type !== "code") return;
      assert.deepEqual(
        codeShape(sourceText(c.source)),
        codeShape(sourceText(nb.cells[i].source)),
        `${path}, cell ${i + 1}`,
      );
    });
  }
});

Deno.test("the Spanish prose follows the glossary (deno task i18n:lint finds nothing)", async () => {
  const { rules } = glossaryRules(await Deno.readTextFile("docs/glosario.md"));
  assert.ok(rules.length >= 10, `docs/glosario.md gives ${rules.length} rules`);
  const found = (await spanishProse(notebooks)).flatMap((g) => checkProse(g, rules));
  assert.deepEqual(found.map((f) => `${f.file} ${f.ctx} ${f.rule}: ${f.message}`), []);
  // The rule that fired on "EE" still fires on it: the lint is live, not vacuous.
  const probe = checkProse([{ file: "x", ctx: "x/1", text: "media ± EE, 0,5" }], rules);
  assert.deepEqual(probe.map((f) => f.rule).sort(), ["decimal", "unused"]);
});

Deno.test("an edited English cell is reported stale, and update marks it fuzzy", async () => {
  const nb = await readNotebook(WELCOME);
  const cat = (await readCatalog(catalogPath(WELCOME, "es")))!;
  const edited = structuredClone(nb);
  const cell = edited.cells.find((c) => c.id === "seeded")!;
  cell.source = sourceText(cell.source).replace("explicit generator", "explicit, seeded generator");
  const status = notebookStatus(edited, cat, "edited");
  const stale = status.filter((s) => s.state === "stale").map((s) => s.unit.ctx);
  assert.deepEqual(stale, ["seeded/2"]);
  assert.equal(status.filter((s) => s.state === "missing").length, 0);
  // The stale unit stays English in the generated notebook; the others are Spanish.
  const { notebook, report } = localizeNotebook(edited, cat, { lang: "es", label: "edited" });
  assert.equal(report.stale.length, 1);
  const seeded = sourceText(notebook.cells.find((c) => c.id === "seeded")!.source);
  assert.match(
    seeded,
    /^## Aleatoriedad con semilla\n\nEvery random draw takes an explicit, seeded/,
  );
  // i18n:update: the old translation is kept, fuzzy, with the English it was made from.
  const { catalog, summary } = mergeUnits(notebookUnits(edited, "edited"), cat, "es");
  assert.equal(summary.fuzzy, 1);
  const entry = catalog.entries.find((e) => e.ctx === "seeded/2")!;
  assert.ok(entry.fuzzy && entry.str.startsWith("Cada sorteo aleatorio"));
  assert.match(entry.previousId!, /explicit generator/);
  const again = parsePo(formatPo(catalog), "round trip");
  assert.equal(countStates(notebookStatus(edited, again, "edited")).stale, 1);
});

Deno.test("template placeholders must survive translation unchanged", async () => {
  const nb = await readNotebook(WELCOME);
  const unit = notebookUnits(nb, "x").find((u) => u.ctx === "rng/s2")!;
  assert.equal(unit.kind, "template");
  const good = "la media debería estar cerca de 0, se obtuvo ${mean}";
  assert.equal(invalidReason(unit, good), null);
  for (const bad of ["se obtuvo ${media}", "se obtuvo", "se obtuvo ${mean} ${mean}", "`${mean}"]) {
    assert.ok(invalidReason(unit, bad), bad);
  }
  // An invalid translation is not applied: the English stays, and the report says why.
  const cat = catalogOf(nb);
  cat.entries.find((e) => e.ctx === "rng/s2")!.str = "se obtuvo ${media}";
  const { notebook, report } = localizeNotebook(nb, cat, { lang: "es", label: "x" });
  assert.deepEqual(report.invalid.map((i) => i.unit.ctx), ["rng/s2"]);
  assert.ok(sourceText(notebook.cells.find((c) => c.id === "rng")!.source).includes("got ${mean}"));
  // A string literal's translation must stay one literal.
  const str = notebookUnits(nb, "x").find((u) => u.ctx === "rng/s4")!;
  assert.ok(invalidReason(str, 'un "valor"'));
  assert.equal(invalidReason(str, 'un \\"valor\\"'), null);
});

Deno.test("the tools' catalog is complete in Spanish and valid PO", async () => {
  const cat = await readCatalog("i18n/es/tools.po");
  const s = uiStatus(cat);
  assert.deepEqual([s.missing, s.stale, s.invalid], [[], [], []]);
  assert.equal(s.ok.length, Object.keys(UI).length);
  assert.equal(ui("es")("fold.lines", { n: 3 }), "3 líneas");
  const msgfmt = await new Deno.Command("msgfmt", { args: ["--version"], stdout: "null" })
    .output().then((o) => o.success, () => false);
  if (!msgfmt) {
    if (Deno.env.get("CI") === "true") throw new Error("msgfmt (Debian gettext) is needed in CI");
    console.warn("SKIPPED msgfmt --check: install Debian's gettext");
    return;
  }
  for (const f of [...Deno.readDirSync("i18n/es")].filter((e) => e.name.endsWith(".po"))) {
    const out = await new Deno.Command("msgfmt", {
      args: ["--check", "-o", "/dev/null", `i18n/es/${f.name}`],
      stderr: "piped",
    }).output();
    assert.ok(out.success, `${f.name}: ${new TextDecoder().decode(out.stderr)}`);
  }
});

Deno.test("Spanish pages and stubs: lang, chrome, links only to built pages", async () => {
  const nb = await readNotebook(WELCOME);
  const cat = await readCatalog(catalogPath(WELCOME, "es"));
  const { notebook: es } = localizeNotebook(nb, cat, { lang: "es", label: WELCOME });
  const dir = await Deno.makeTempDir();
  try {
    const input = [{ name: "00_welcome.ipynb", notebook: es }];
    await exportNotebooks(input, {
      outDir: `${dir}/es`,
      lang: "es",
      translations: [{ lang: "en", outDir: dir }],
    });
    let page = await Deno.readTextFile(`${dir}/es/00_welcome.html`);
    assert.match(page, /<html lang="es">/);
    assert.ok(page.includes("Todos los notebooks") && page.includes(">Contenido<"));
    assert.ok(!page.includes('class="lang-link"'), "no link to an English page not built");
    // The page script's own words travel with the page, as data.
    const words = /<script type="application\/json" id="kit-ui">([^<]*)<\/script>/.exec(page);
    assert.ok(words, "the Spanish page carries the page script's words");
    assert.equal(JSON.parse(words[1])["page.steps"], "Cada paso del control deslizante");
    await exportNotebooks([{ name: "00_welcome.ipynb", notebook: nb }], {
      outDir: dir,
      translations: [{ lang: "es", outDir: `${dir}/es` }],
    });
    const en = await Deno.readTextFile(`${dir}/00_welcome.html`);
    assert.match(en, /<html lang="en">/);
    assert.ok(!en.includes('id="kit-ui"'), "English pages use the script's own words");
    assert.ok(en.includes('class="lang-link" href="es/00_welcome.html"'));
    await exportNotebooks(input, {
      outDir: `${dir}/es`,
      lang: "es",
      translations: [{ lang: "en", outDir: dir }],
    });
    page = await Deno.readTextFile(`${dir}/es/00_welcome.html`);
    assert.ok(page.includes('class="lang-link" href="../00_welcome.html"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // The student version of a Spanish notebook: Spanish stub, the English cell ids.
  const withExercise: Notebook = {
    ...es,
    cells: [
      ...es.cells,
      { cell_type: "markdown", id: "ex", metadata: {}, source: "### Ejercicio 1: f (2 puntos)" },
      {
        cell_type: "code",
        id: "ex-sol",
        metadata: {},
        execution_count: null,
        outputs: [],
        source: "function f() {\n  // BEGIN SOLUTION\n  return 1;\n  // END SOLUTION\n}",
      },
    ],
  };
  const student = studentNotebook(withExercise, "x");
  assert.deepEqual(student.cells.map((c) => c.id), withExercise.cells.map((c) => c.id));
  assert.ok(
    sourceText(student.cells.at(-1)!.source).includes(
      'throw new Error("Ejercicio 1: escribe tu código aquí");',
    ),
  );
});

Deno.test("the Spanish welcome notebook runs green on the kernel, its figures in Spanish", async () => {
  const nb = await readNotebook(WELCOME);
  const cat = await readCatalog(catalogPath(WELCOME, "es"));
  const { notebook: es } = localizeNotebook(nb, cat, { lang: "es", label: WELCOME });
  const r = await executeNotebook(es, { cwd: "notebooks" });
  assert.equal(r.failure, undefined, JSON.stringify(r.failure));
  assert.equal(r.cellsRun, es.cells.filter((c) => c.cell_type === "code").length);
  const json = JSON.stringify(es.cells.flatMap((c) => c.cell_type === "code" ? c.outputs : []));
  for (
    const title of ["La penalización mueve el mínimo hacia 0", "2000 valores de rng(0).normal()"]
  ) {
    assert.ok(json.includes(title), `figure title "${title}" in the outputs`);
  }
  assert.ok(json.includes("w* = 3/(1+λ) se cumple en la grilla para cada λ"));
  // The kit's own words follow setLanguage("es"): the histogram's default axis title.
  assert.ok(json.includes('"title":{"text":"frecuencia"}'), "the histogram's y axis in Spanish");
  assert.ok(!json.includes('"title":{"text":"count"}'));
});

Deno.test("the student kit's README and the grader's notes in Spanish", () => {
  const es = studentReadme(["01_norm_penalties.ipynb"], "es");
  assert.match(es, /^# Regularización y entrenamiento de redes profundas: kit del estudiante/);
  assert.ok(es.includes("- `notebooks/01_norm_penalties.ipynb`"), "the list is filled in");
  assert.ok(es.includes('throw new Error("Ejercicio N: escribe tu código aquí");'));
  assert.match(studentReadme([], "en"), /^# Regularization and training of deep networks/);
  // Notes as the grader writes them (tools/grade/grader.ts, sandbox.ts, grade.ts).
  const cases: [string, string][] = [
    ["not submitted", "no entregado"],
    ["late: 20 % of the points deducted", "entrega tardía: se descuenta el 20 % de los puntos"],
    [
      "cell 4 was skipped: it stopped the run (it used more than 1024 MB of memory)",
      "se omitió la celda 4: detuvo la ejecución (usó más de 1024 MB de memoria)",
    ],
    [
      "the run stopped in cell 9: it ran out of memory (the process was killed by SIGKILL)",
      "la ejecución se detuvo en la celda 9: se quedó sin memoria (el proceso fue terminado por " +
      "SIGKILL)",
    ],
    [
      'cell 2 was refused read access to "/etc/passwd" (sandbox)',
      'a la celda 2 se le negó el acceso read a "/etc/passwd" (entorno aislado)',
    ],
    ["a note the templates do not know", "a note the templates do not know"],
  ];
  for (const [en, want] of cases) assert.equal(localizeNote(en, "es"), want);
});
