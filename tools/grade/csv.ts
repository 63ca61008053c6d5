/**
 * Every CSV file the kit writes (grades, gradebooks, the platforms' import files) goes through
 * {@link toCsv}: RFC 4180 quoting by npm `csv-stringify`, and text cells neutralised against
 * spreadsheet formulas. A cell is student-controlled text more often than not (a folder name,
 * a name from a roster), and a spreadsheet runs `=cmd|' -C calc'!A0` when it opens the file.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";

/** A CSV cell: text is neutralised, numbers are written as they are, null is empty. */
export type CsvCell = string | number | null;

/**
 * OWASP's rule for CSV injection: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
 * carriage return gets a leading `'`, so spreadsheets show it as text. Numbers are not text and
 * are left alone (a negative number is not a formula).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { neutralizeCell } from "./csv.ts";
 * assert.strictEqual(neutralizeCell("=1+1"), "'=1+1");
 * assert.strictEqual(neutralizeCell("\tx"), "'\tx");
 * assert.strictEqual(neutralizeCell("Ana María"), "Ana María");
 * ```
 */
export function neutralizeCell(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

/**
 * A CSV text: the header, then one line per row, `\n` line ends, fields quoted where
 * RFC 4180 needs it, text cells neutralised by {@link neutralizeCell}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { toCsv } from "./csv.ts";
 * import { parse } from "csv-parse/sync";
 * const csv = toCsv(["student", "points"], [["=HYPERLINK(\"x\")", 3], ["a,b", -1]]);
 * assert.deepStrictEqual(parse(csv), [
 *   ["student", "points"],
 *   ["'=HYPERLINK(\"x\")", "3"],
 *   ["a,b", "-1"],
 * ]);
 * ```
 */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly CsvCell[])[],
): string {
  const cell = (v: CsvCell) => (typeof v === "string" ? neutralizeCell(v) : v === null ? "" : v);
  return stringify([header.map(cell), ...rows.map((r) => r.map(cell))], {
    record_delimiter: "unix",
  });
}
