/**
 * Counts how often the lecture decks use each term of the glossary (`docs/glosario.md`), English
 * anglicism and Spanish word alike, so the glossary records the words a class hears rather than
 * invented ones.
 *
 * `deno run --allow-read tools/i18n/deck_terms.ts DECKS_DIR` prints one row per term: its count in
 * each deck file (`*.txt`, sorted) and in all. Matching is case-insensitive, on whole words
 * (letters and digits around a match do not count), and a plural `s`/`es` is included.
 *
 * @module
 */
import { join } from "node:path";

/** The terms the glossary weighs: anglicisms and the Spanish words beside them. */
export const TERMS: readonly string[] = [
  "dropout",
  "desactivación",
  "early stopping",
  "paro temprano",
  "weight decay",
  "decaimiento de pesos",
  "learning rate",
  "tasa de aprendizaje",
  "batch normalization",
  "batch norm",
  "normalización por lotes",
  "batch",
  "lote",
  "mini-batch",
  "minibatch",
  "minilote",
  "epoch",
  "época",
  "double descent",
  "doble descenso",
  "overfitting",
  "sobreajuste",
  "regularización",
  "penalización",
  "norma",
  "momentum",
  "momento",
  "gradiente",
  "descenso por gradiente estocástico",
  "data augmentation",
  "acrecentamiento de datos",
  "aumento de datos",
  "label smoothing",
  "suavizado de etiquetas",
  "ensamble",
  "promedio móvil",
  "promediado",
  "inicialización",
  "pesos",
  "sesgo",
  "varianza",
  "validación",
  "entrenamiento",
  "test",
  "prueba",
  "función de pérdida",
  "pérdida",
  "hiperparámetro",
  "neurona",
  "capa",
  "clipping",
  "recorte",
];

/** How often `term` occurs in `text` (whole words, case-insensitive, plurals included). */
export function countTerm(text: string, term: string): number {
  const esc = term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ /g, "\\s+");
  const re = new RegExp(`(?<![\\p{L}\\p{N}])${esc}(?:e?s)?(?![\\p{L}\\p{N}])`, "giu");
  return [...text.matchAll(re)].length;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir || dir === "--help" || dir === "-h") {
    console.log("usage: deno run --allow-read tools/i18n/deck_terms.ts DECKS_DIR");
    Deno.exit(dir ? 0 : 2);
  }
  const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".txt"))
    .map((e) => e.name).sort();
  const texts = files.map((f) => Deno.readTextFileSync(join(dir, f)));
  console.log(["term", ...files.map((f) => f.slice(0, 3)), "all"].join(" | "));
  for (const term of TERMS) {
    const counts = texts.map((t) => countTerm(t, term));
    console.log([term, ...counts, counts.reduce((a, b) => a + b, 0)].join(" | "));
  }
}
