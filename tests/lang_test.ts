/**
 * The words the kit draws itself (lib/lang.ts): every translation is current, the notebooks say
 * their language in their import cell, the generator sets it, and plots, claims and fit() speak
 * the language set.
 */
import assert from "node:assert/strict";
import { slots, TRANSLATIONS, type WordKey, WORDS } from "../lib/lang.ts";
import { language, setLanguage } from "../lib/mod.ts";
import * as plot from "../lib/plot.ts";
import { claim, claimsTable, resetClaims } from "../lib/claim.ts";
import { localizeNotebook, withLanguage } from "../tools/i18n/localize.ts";
import { parseCell } from "../tools/i18n/extract.ts";
import { readNotebook, sourceText } from "../tools/notebook/io.ts";

const notebooks = [...Deno.readDirSync("notebooks")].filter((e) => e.name.endsWith(".ipynb"))
  .map((e) => `notebooks/${e.name}`).sort();

/** Runs `f` with the kit speaking `lang`, then back to English. */
function inLanguage<T>(lang: string, f: () => T): T {
  setLanguage(lang);
  try {
    return f();
  } finally {
    setLanguage("en");
  }
}

Deno.test("every translation of the kit's words was made from today's English", () => {
  for (const [lang, table] of Object.entries(TRANSLATIONS)) {
    for (const key of Object.keys(WORDS) as WordKey[]) {
      const [english, text] = table[key];
      assert.equal(
        english,
        WORDS[key],
        `lib/lang.ts: ${lang} "${key}" was translated from "${english}", but the English is now ` +
          `"${WORDS[key]}": translate the new English and update the pair`,
      );
      assert.deepEqual(slots(text), slots(english), `${lang} "${key}": keep the {slots}`);
      assert.ok(text.trim() !== "", `${lang} "${key}" is empty`);
    }
  }
});

Deno.test("setLanguage: unknown languages are refused, the state is kept", () => {
  assert.equal(language(), "en");
  assert.throws(() => setLanguage("pt"), /setLanguage\("pt"\).*"en", "es"/);
  assert.equal(language(), "en");
});

Deno.test("plots draw their default words in the language set", () => {
  const h = [1, 2, 3].map((epoch) => ({ epoch, trainLoss: 1 / epoch, valLoss: 1.2 / epoch }));
  const columns = {
    epoch: [1, 2, 3],
    trainLoss: [1, 0.5, 0.4],
    valLoss: [1.2, 0.6, 0.7],
    bestEpoch: 2,
  };
  const words = (fig: plot.Figure) => JSON.stringify(fig.toJSON());
  const tc = (lang: string) => inLanguage(lang, () => plot.trainingCurves(columns));
  const en = tc("en"), es = tc("es");
  assert.deepEqual(es.data.map((t) => t.name), ["entrenamiento", "validación", "mejor época"]);
  assert.deepEqual(en.data.map((t) => t.name), ["train", "validation", "best epoch"]);
  assert.equal((es.layout.xaxis as { title: { text: string } }).title.text, "época");
  assert.ok(words(es).includes('"pérdida"') && !words(es).includes('"loss"'));
  const runs = inLanguage("es", () => plot.trainingCurves([h, h]));
  assert.ok(runs.data.some((t) => t.name === "ejecución 2 (validación)"));
  const hist = inLanguage("es", () => plot.histogram([1, 2, 2, 3]));
  assert.equal((hist.layout.yaxis as { title: { text: string } }).title.text, "frecuencia");
  const contour = inLanguage("es", () =>
    plot.contourPaths((x, y) => x * x + y * y, {
      xRange: [-1, 1],
      yRange: [-1, 1],
      resolution: 5,
      minimum: [0, 0],
    }));
  assert.deepEqual(contour.data.map((t) => t.name), ["pérdida", "mínimo"]);
  assert.match(
    inLanguage("es", () => plot.line([1, 2], { title: "T" }).summary),
    /^Figura de Plotly "T": 1 traza/,
  );
  // Where scripts do not run (an untrusted notebook), the figure's static block.
  const html = inLanguage(
    "es",
    () =>
      plot.slider([1, 2].map((k) => ({ label: k, data: plot.line([0, k]) })), {
        sliderLabel: "k",
        title: "T",
      }).toMimeBundle()["text/html"],
  );
  assert.ok(html.includes("<b>Figura «T»</b> (k = 1, paso 1 de 2): sin dibujar"), html);
  assert.ok(html.includes('"Figura de Plotly sin dibujar: "'), "the loader's error in Spanish");
  // Only the kit's defaults change: what the notebook passes stays as given.
  const mine = inLanguage("es", () => plot.histogram([1, 2], { yLabel: "count" }));
  assert.equal((mine.layout.yaxis as { title: { text: string } }).title.text, "count");
});

Deno.test("the claims table and the claim line in the language set", () => {
  const logged: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => logged.push(a.join(" "));
  try {
    for (const lang of ["en", "es"]) {
      inLanguage(lang, () => {
        resetClaims();
        claim({ name: "x", measured: 1.01, se: 0.01, predicted: 1, rival: 2, z: 3 });
        claim({ name: "y", measured: 1, predicted: 1, rival: 2, tol: 0 });
        const html = String(claimsTable().toMimeBundle()["text/html"]);
        const head = [...html.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
        assert.deepEqual(
          head,
          lang === "es"
            ? ["afirmación", "medido", "predicho", "rival", "margen"]
            : ["claim", "measured", "predicted", "rival", "margin"],
        );
        assert.ok(html.includes(">99.0 SE<"), html); // the abbreviation stays (glossary)
        assert.ok(html.includes(lang === "es" ? ">exacto<" : ">exact<"), html);
      });
    }
  } finally {
    console.log = log;
    resetClaims();
  }
  assert.match(logged[0], /^✓ claim: x: 1\.01 ± 0\.01, predicted 1 ± 0\.03; rival 2 at 99\.0 SE$/);
  assert.match(
    logged[2],
    /^✓ afirmación: x: 1\.01 ± 0\.01, predicho 1 ± 0\.03; rival 2 a 99\.0 SE$/,
  );
});

Deno.test("every notebook says its language once, in its import cell, and the generator sets it", async () => {
  for (const path of notebooks) {
    const nb = await readNotebook(path);
    const calls: { cell: number; arg: string }[] = [];
    nb.cells.forEach((c, i) => {
      if (c.cell_type !== "code") return;
      const src = sourceText(c.source);
      for (const m of src.matchAll(/\bsetLanguage\(([^)]*)\)/g)) calls.push({ cell: i, arg: m[1] });
    });
    assert.equal(calls.length, 1, `${path}: one setLanguage("en") call, in the import cell`);
    const cell = nb.cells[calls[0].cell];
    assert.equal(calls[0].arg, '"en"', `${path}: the English notebook says setLanguage("en")`);
    assert.match(sourceText(cell.source), /from "@kit\/mod\.ts";/, `${path}: in the import cell`);
    const { notebook, report } = localizeNotebook(nb, null, { lang: "es", label: path });
    assert.equal(report.languageCalls, 1, path);
    assert.ok(sourceText(notebook.cells[calls[0].cell].source).includes('setLanguage("es");'));
    // The call is code, not text: it is no unit a translator sees.
    parseCell(sourceText(cell.source), path);
  }
});

Deno.test("withLanguage changes only setLanguage's own argument", () => {
  const src = [
    'import { setLanguage } from "@kit/mod.ts";',
    "setLanguage('en'); // a comment with setLanguage(\"en\")",
    'const s = "setLanguage(\\"en\\")";',
    'obj.setLanguage("en");',
    "setLanguage(lang);",
  ].join("\n");
  const { source, calls } = withLanguage(src, "es", "x");
  assert.equal(calls, 1);
  assert.equal(source, src.replace("setLanguage('en')", "setLanguage('es')"));
});
