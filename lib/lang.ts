/**
 * The language of the words the kit itself draws and prints: default axis titles and legend
 * names of `plot`, the claims table and the line {@link claim} prints, `fit()`'s verbose log.
 *
 * A notebook says its language in its import cell, `setLanguage("en")`; the generator of the
 * Spanish edition (`tools/i18n/`) writes `setLanguage("es")` there. A string literal is all that
 * changes, so the Spanish code equals the English except for string literals and comments, and
 * a cell that runs in one edition runs in the other. The kit cannot see a notebook's metadata
 * from inside the kernel, hence the call. Without it the kit speaks English.
 *
 * The table is small on purpose: the kit's error messages stay English (as PyTorch's do; see
 * `docs/glosario.md`). Each translation carries the English it was made from, as a gettext
 * catalog does: when the English changes, the translation is stale, {@link word} falls back to
 * the English, and `tests/lang_test.ts` fails until the translation is brought up to date.
 *
 * @module
 */

/** The kit's own words in English, by key. `{name}` marks a value filled in at run time. */
export const WORDS = {
  "plot.epoch": "epoch",
  "plot.train": "train",
  "plot.validation": "validation",
  "plot.bestEpoch": "best epoch",
  "plot.runBestEpoch": "{run} (best epoch)",
  "plot.run": "run {n}",
  "plot.loss": "loss",
  "plot.accuracy": "accuracy",
  "plot.learningRate": "learning rate",
  "plot.weightNorm": "weight norm",
  "plot.count": "count",
  "plot.density": "density",
  "plot.log10Loss": "log10 loss",
  "plot.minimum": "minimum",
  "plot.surface": "surface",
  "plot.score": "score",
  "plot.probClass1": "P(class 1)",
  "plot.boundary": "boundary ({level})",
  "plot.summary": "Plotly figure{title}: {n} traces",
  "plot.summary1": "Plotly figure{title}: 1 trace",
  "plot.frames": "{n} frames",
  "plot.slider": "slider: {label}",
  "claim.line": "✓ claim: {name}: {measured}, predicted {predicted}; rival {rival} at {margin}",
  "claim.claim": "claim",
  "claim.measured": "measured",
  "claim.predicted": "predicted",
  "claim.rival": "rival",
  "claim.margin": "margin",
  "claim.se": "SE",
  "claim.tol": "tol",
  "claim.exact": "exact",
  "fit.log": "epoch {epoch}: train loss {trainLoss} acc {trainAcc} | val loss {valLoss} acc " +
    "{valAcc} | lr {lr} | {ms} ms",
  "html.step": "{label}, step {i} of {n}",
  "html.figure": "Figure “{name}”",
  "html.notDrawn": "{what}: not drawn, its script did not run here. To draw it, {how}.",
  "html.staticImage": "{what}: a static image. For the interactive figure, {how}.",
  "html.how": "run the cell, or trust the notebook (classic Notebook: File &gt; Trust Notebook; " +
    "JupyterLab: Trust Notebook in the command palette)",
  "html.failed": "Plotly figure not drawn: ",
  "html.offline": ". Offline, the kit's kernel serves plotly.js: install it " +
    "(npx -y deno@2.9.6 task kernel:install) and reload the page.",
} as const;

/** A key of {@link WORDS}. */
export type WordKey = keyof typeof WORDS;

/** A translation: the English it was made from, and the translated text. */
export type Translation = readonly [english: string, translated: string];

/**
 * Every language other than English, with a translation of every word (the type makes a
 * missing key a type error).
 */
export const TRANSLATIONS: Readonly<Record<"es", Readonly<Record<WordKey, Translation>>>> = {
  es: {
    "plot.epoch": ["epoch", "época"],
    "plot.train": ["train", "entrenamiento"],
    "plot.validation": ["validation", "validación"],
    "plot.bestEpoch": ["best epoch", "mejor época"],
    "plot.runBestEpoch": ["{run} (best epoch)", "{run} (mejor época)"],
    "plot.run": ["run {n}", "ejecución {n}"],
    "plot.loss": ["loss", "pérdida"],
    "plot.accuracy": ["accuracy", "precisión"],
    "plot.learningRate": ["learning rate", "tasa de aprendizaje"],
    "plot.weightNorm": ["weight norm", "norma de los pesos"],
    "plot.count": ["count", "frecuencia"],
    "plot.density": ["density", "densidad"],
    "plot.log10Loss": ["log10 loss", "log10 de la pérdida"],
    "plot.minimum": ["minimum", "mínimo"],
    "plot.surface": ["surface", "superficie"],
    "plot.score": ["score", "puntuación"],
    "plot.probClass1": ["P(class 1)", "P(clase 1)"],
    "plot.boundary": ["boundary ({level})", "frontera ({level})"],
    "plot.summary": ["Plotly figure{title}: {n} traces", "Figura de Plotly{title}: {n} trazas"],
    "plot.summary1": ["Plotly figure{title}: 1 trace", "Figura de Plotly{title}: 1 traza"],
    "plot.frames": ["{n} frames", "{n} cuadros"],
    "plot.slider": ["slider: {label}", "control deslizante: {label}"],
    "claim.line": [
      "✓ claim: {name}: {measured}, predicted {predicted}; rival {rival} at {margin}",
      "✓ afirmación: {name}: {measured}, predicho {predicted}; rival {rival} a {margin}",
    ],
    "claim.claim": ["claim", "afirmación"],
    "claim.measured": ["measured", "medido"],
    "claim.predicted": ["predicted", "predicho"],
    "claim.rival": ["rival", "rival"],
    "claim.margin": ["margin", "margen"],
    "claim.se": ["SE", "SE"],
    "claim.tol": ["tol", "tol"],
    "claim.exact": ["exact", "exacto"],
    "fit.log": [
      "epoch {epoch}: train loss {trainLoss} acc {trainAcc} | val loss {valLoss} acc " +
      "{valAcc} | lr {lr} | {ms} ms",
      "época {epoch}: pérdida de entrenamiento {trainLoss} precisión {trainAcc} | pérdida de " +
      "validación {valLoss} precisión {valAcc} | lr {lr} | {ms} ms",
    ],
    "html.step": ["{label}, step {i} of {n}", "{label}, paso {i} de {n}"],
    "html.figure": ["Figure “{name}”", "Figura «{name}»"],
    "html.notDrawn": [
      "{what}: not drawn, its script did not run here. To draw it, {how}.",
      "{what}: sin dibujar, su script no se ejecutó aquí. Para dibujarla, {how}.",
    ],
    "html.staticImage": [
      "{what}: a static image. For the interactive figure, {how}.",
      "{what}: una imagen estática. Para la figura interactiva, {how}.",
    ],
    "html.how": [
      "run the cell, or trust the notebook (classic Notebook: File &gt; Trust Notebook; " +
      "JupyterLab: Trust Notebook in the command palette)",
      "ejecuta la celda o marca el notebook como confiable (Notebook clásico: File &gt; Trust " +
      "Notebook; JupyterLab: Trust Notebook en la paleta de comandos)",
    ],
    "html.failed": ["Plotly figure not drawn: ", "Figura de Plotly sin dibujar: "],
    "html.offline": [
      ". Offline, the kit's kernel serves plotly.js: install it " +
      "(npx -y deno@2.9.6 task kernel:install) and reload the page.",
      ". Sin conexión, el kernel del kit sirve plotly.js: instálalo " +
      "(npx -y deno@2.9.6 task kernel:install) y vuelve a cargar la página.",
    ],
  },
};

/** The languages the kit speaks. */
export type KitLanguage = "en" | keyof typeof TRANSLATIONS;

/** Every language {@link setLanguage} accepts. */
export const KIT_LANGUAGES: readonly KitLanguage[] = [
  "en",
  ...Object.keys(TRANSLATIONS) as (keyof typeof TRANSLATIONS)[],
];

let current: KitLanguage = "en";

/**
 * Sets the language of the words the kit draws and prints from now on (a notebook's import cell
 * calls it once). Throws for a language the kit does not speak.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { language, setLanguage, word } from "@kit/lang.ts";
 * setLanguage("es");
 * assert.equal(word("plot.epoch"), "época");
 * setLanguage("en");
 * assert.equal([language(), word("plot.epoch")].join(), "en,epoch");
 * assert.throws(() => setLanguage("fr"), /setLanguage\("fr"\)/);
 * ```
 */
export function setLanguage(lang: string): void {
  if (!(KIT_LANGUAGES as readonly string[]).includes(lang)) {
    throw new RangeError(
      `setLanguage("${lang}"): the kit speaks ${
        KIT_LANGUAGES.map((l) => `"${l}"`).join(", ")
      }; use one of them`,
    );
  }
  current = lang as KitLanguage;
}

/**
 * `f()` with the kit speaking `lang` (English when the kit does not speak it), then the language
 * as it was: for tools that write a notebook's figures outside its kernel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inLanguage, language, word } from "@kit/lang.ts";
 * assert.equal(inLanguage("es", () => word("plot.count")), "frecuencia");
 * assert.equal(inLanguage("fr", () => word("plot.count")), "count");
 * assert.equal(language(), "en");
 * ```
 */
export function inLanguage<T>(lang: string, f: () => T): T {
  const before = current;
  current = (KIT_LANGUAGES as readonly string[]).includes(lang) ? lang as KitLanguage : "en";
  try {
    return f();
  } finally {
    current = before;
  }
}

/** The language set by {@link setLanguage} ("en" until then). */
export function language(): KitLanguage {
  return current;
}

/** `{name}` slots of a text, sorted. */
export function slots(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

/**
 * The text of `key` in the current language, with its `{name}` slots filled from `values`. A
 * translation made from other English than today's (stale) is not used: the English is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setLanguage, word } from "@kit/lang.ts";
 * setLanguage("es");
 * assert.equal(word("plot.run", { n: 2 }), "ejecución 2");
 * setLanguage("en");
 * assert.equal(word("plot.run", { n: 2 }), "run 2");
 * ```
 */
export function word(key: WordKey, values: Readonly<Record<string, string | number>> = {}): string {
  const english: string = WORDS[key];
  let text = english;
  if (current !== "en") {
    const tr = TRANSLATIONS[current][key];
    if (tr && tr[0] === english && slots(tr[1]).join() === slots(english).join()) text = tr[1];
  }
  return text.replace(/\{(\w+)\}/g, (m, name: string) => name in values ? String(values[name]) : m);
}
