/**
 * Checks Spanish prose against the glossary (`docs/glosario.md`), with rules read from the
 * glossary itself, so that the check says only what the glossary says:
 *
 * - **pair**: a table row whose kit term reads `X (Y)` ("época (epoch)", "clipping (recorte)")
 *   puts the deck's other word beside the kit's: a notebook whose Spanish uses Y but never X is
 *   flagged ("donde un mazo usa una palabra en español, el kit la pone junto al término inglés");
 * - **unused**: a word the glossary says no deck uses (`ningún mazo dice "doble descenso"`) is
 *   flagged wherever it appears ("no se inventan traducciones que ningún mazo use");
 * - **address**: the glossary's form of address is "tú": "usted", "ustedes" and "vosotros" are
 *   flagged;
 * - **decimal**: the glossary's numbers use the decimal point: a digit, a comma and a digit
 *   (`0,5`) in prose is flagged.
 *
 * Only text a student reads is checked: code spans, fenced code, math, URLs, HTML tags and
 * template placeholders are removed first. A rule whose sentence is missing from the glossary is
 * not applied (and {@link glossaryRules} says so), so editing the glossary changes the check.
 *
 * @module
 */

/** One rule, with the glossary text it rests on. */
export type GlossaryRule =
  | { kind: "pair"; term: string; other: string; basis: string }
  | { kind: "unused"; word: string; basis: string }
  | { kind: "address"; basis: string }
  | { kind: "decimal"; basis: string };

/** A piece of Spanish to check: where it is and its text. */
export interface ProseUnit {
  /** Notebook (file name) or catalog the text belongs to. */
  file: string;
  /** The unit's msgctxt. */
  ctx: string;
  text: string;
}

/** A place where the Spanish does not follow the glossary. */
export interface GlossaryFinding {
  file: string;
  ctx: string;
  rule: GlossaryRule["kind"];
  message: string;
}

/** The rules the glossary's text supports (see the module doc), and notes on those it does not. */
export function glossaryRules(md: string): { rules: GlossaryRule[]; notes: string[] } {
  const rules: GlossaryRule[] = [];
  const notes: string[] = [];
  for (const line of md.split("\n")) {
    if (!line.startsWith("|") || /^\|\s*-/.test(line)) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const m = /^([^()$]+?)\s*\(([^()$,]+)\)$/.exec(cells[0] ?? "");
    if (m) rules.push({ kind: "pair", term: m[1], other: m[2], basis: cells[0] });
  }
  for (const m of md.matchAll(/ningún mazo dice "([^"]+)"/g)) {
    rules.push({ kind: "unused", word: m[1], basis: m[0] });
  }
  const address = /\*\*Trato\*\*: "tú"/.exec(md);
  if (address) rules.push({ kind: "address", basis: address[0] });
  else notes.push('no form of address ("**Trato**: "tú"") in the glossary: not checked');
  const decimal = /punto decimal/.exec(md);
  if (decimal) rules.push({ kind: "decimal", basis: decimal[0] });
  else notes.push('no "punto decimal" convention in the glossary: numbers not checked');
  return { rules, notes };
}

/**
 * Template placeholders `${...}` removed, braces balanced (one can span lines and hold code
 * such as `f("N(0,1)")`); done before inline math, whose `$...$` would otherwise pair the `$`
 * of two placeholders and leave the code between them as prose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(withoutPlaceholders('a ${x}% (b ${\n  f("N(0,1)")\n}) c'), "a  % (b  ) c");
 * ```
 */
export function withoutPlaceholders(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "{") {
      let depth = 0;
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === "{") depth++;
        else if (text[j] === "}" && --depth === 0) break;
      }
      out += " ";
      i = j;
    } else out += text[i];
  }
  return out;
}

/** The text a student reads: code, math, URLs, tags and placeholders removed. */
export function proseOf(text: string): string {
  return withoutPlaceholders(
    text
      .replace(/```[\s\S]*?```/g, " ")
      .replace(/`[^`\n]*`/g, " "),
  )
    .replace(/\$\$[\s\S]*?\$\$/g, " ")
    .replace(/\$[^$\n]+\$/g, " ")
    .replace(/\]\([^)]*\)/g, "] ")
    .replace(/https?:\/\/\S+/g, " ")
    .replace(/<[^>]*>/g, " ");
}

/** Whole-word, case-insensitive, plural-tolerant matcher of a term. */
function termRe(term: string): RegExp {
  const esc = term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/[ -]/g, "[\\s-]+");
  return new RegExp(`(?<![\\p{L}\\p{N}])${esc}(?:e?s)?(?![\\p{L}\\p{N}])`, "iu");
}

/**
 * The findings of `rules` on the Spanish `units` (one notebook's, or any set: the pair rule
 * looks at all of them together).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkProse, glossaryRules } from "./glossary.ts";
 * const md = [
 *   "| término en el kit | mazos |", "| --- | --- |", "| época (epoch) | 9, 12 |",
 *   '| double descent | ningún mazo dice "doble descenso" |',
 *   '- **Trato**: "tú". - **Números**: punto decimal.',
 * ].join("\n");
 * const { rules } = glossaryRules(md);
 * const found = checkProse([
 *   { file: "x", ctx: "a/1", text: "Cada epoch, el doble descenso; usted ve 0,5 y `f(1,2)`." },
 * ], rules);
 * assert.deepEqual(found.map((f) => f.rule), ["pair", "unused", "address", "decimal"]);
 * ```
 */
export function checkProse(
  units: readonly ProseUnit[],
  rules: readonly GlossaryRule[],
): GlossaryFinding[] {
  const out: GlossaryFinding[] = [];
  const prose = units.map((u) => ({ ...u, prose: proseOf(u.text) }));
  for (const rule of rules) {
    if (rule.kind === "pair") {
      const other = termRe(rule.other), term = termRe(rule.term);
      if (prose.some((u) => term.test(u.prose))) continue;
      const first = prose.find((u) => other.test(u.prose));
      if (first) {
        out.push({
          file: first.file,
          ctx: first.ctx,
          rule: "pair",
          message: `"${rule.other}" is used but never "${rule.term}" (glossary: ${rule.basis})`,
        });
      }
      continue;
    }
    for (const u of prose) {
      let hit: string | undefined;
      if (rule.kind === "unused") hit = termRe(rule.word).exec(u.prose)?.[0];
      else if (rule.kind === "address") {
        hit = /(?<![\p{L}])(?:usted(?:es)?|vosotr[oa]s)(?![\p{L}])/iu.exec(u.prose)?.[0];
      } else hit = /\d,\d/.exec(u.prose)?.[0];
      if (hit === undefined) continue;
      out.push({
        file: u.file,
        ctx: u.ctx,
        rule: rule.kind,
        message: `"${hit}" (glossary: ${rule.basis})`,
      });
    }
  }
  return out;
}
