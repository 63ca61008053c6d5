import assert from "node:assert/strict";
import {
  checkNotebooks,
  formatDiagnostic,
  notebookModule,
  parseDenoCheck,
} from "../tools/notebook/check.ts";
import type { Notebook } from "../tools/notebook/io.ts";

const md = (id: string, source: string) => ({
  cell_type: "markdown" as const,
  id,
  metadata: {},
  source,
});
const code = (id: string, source: string | string[]) => ({
  cell_type: "code" as const,
  id,
  metadata: {},
  source,
  outputs: [],
  execution_count: null,
});

function notebook(cells: Notebook["cells"]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells,
  };
}

async function withNotebooks<T>(
  nbs: Record<string, Notebook>,
  fn: (paths: string[], dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "nbcheck_test_" });
  try {
    const paths: string[] = [];
    for (const [name, nb] of Object.entries(nbs)) {
      await Deno.writeTextFile(`${dir}/${name}`, JSON.stringify(nb, null, 1));
      paths.push(`${dir}/${name}`);
    }
    return await fn(paths, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a type error is reported at its notebook, cell and line", async () => {
  const nb = notebook([
    md("m1", "# Fixture\n\nA type error in cell 3, line 2."),
    code("c2", 'import * as plot from "@kit/plot.ts";\nconst xs = [1, 2, 3];'),
    code("c3", "const ok = xs.length;\nconst bad: string = ok * 2;\nbad"),
    md("m4", "More text."),
    code("c5", "plot.line(xs).title.notAMethod();"),
  ]);
  await withNotebooks({ "typed.ipynb": nb }, async ([path], dir) => {
    const s = await checkNotebooks([path]);
    assert.equal(s.ok, false);
    assert.deepEqual(s.errors, []);
    assert.equal(s.diagnostics.length, 2, JSON.stringify(s.diagnostics, null, 1));
    const [a, b] = s.diagnostics;
    assert.equal(a.notebook, path);
    assert.equal(a.cell, 3);
    assert.equal(a.codeCell, 2);
    assert.equal(a.line, 2);
    assert.equal(a.column, 7);
    assert.equal(a.code, "TS2322");
    assert.match(a.message, /Type 'number' is not assignable to type 'string'/);
    assert.equal(a.snippet?.trim(), "const bad: string = ok * 2;");
    assert.equal(
      formatDiagnostic(a),
      `${path}, cell 3 (code cell 2), line 2, col 7: TS2322 ${a.message}`,
    );
    assert.equal(b.cell, 5);
    assert.equal(b.line, 1);
    assert.equal(b.code, "TS2339", "title is a string: no such property");
    // no temporary module is left next to the notebook
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".ts"));
    assert.deepEqual(left, []);
  });
});

Deno.test("a clean notebook passes; cells never run into each other", async () => {
  const nb = notebook([
    code("a", "const xs = [1, 2, 3]\nconst total = xs.reduce((p, q) => p + q, 0)\ntotal"),
    // Joined without a separator, "total\n(xs)" would be a call of a number.
    code("b", "(xs).map((x) => x * 2)"),
    code("c", "const t = await Promise.resolve(total);\nt + 1"),
  ]);
  await withNotebooks({ "clean.ipynb": nb }, async ([path]) => {
    const s = await checkNotebooks([path]);
    assert.deepEqual(s.diagnostics, []);
    assert.equal(s.ok, true);
  });
});

Deno.test("re-declaring a const in a later cell is reported with a rename hint", async () => {
  const nb = notebook([
    code("a", "const lr = 0.1;"),
    md("m", "Now a larger learning rate."),
    code("b", "const x = 1;\nconst lr = 0.5;"),
  ]);
  await withNotebooks({ "redeclare.ipynb": nb }, async ([path]) => {
    const s = await checkNotebooks([path]);
    assert.equal(s.ok, false);
    assert.equal(s.diagnostics.length, 1, JSON.stringify(s.diagnostics, null, 1));
    const d = s.diagnostics[0];
    assert.equal(d.cell, 3);
    assert.equal(d.line, 2);
    assert.match(d.message, /'lr' is declared again; it was first declared in cell 1, line 1/);
    assert.match(d.message, /give this one a new name/);
  });
});

Deno.test("several notebooks in one run; an unreadable one is reported, the others checked", async () => {
  const good = notebook([code("a", "const a: number = 1;")]);
  const bad = notebook([code("a", 'const a: number = "1";')]);
  await withNotebooks({ "1_good.ipynb": good, "2_bad.ipynb": bad }, async (paths, dir) => {
    await Deno.writeTextFile(`${dir}/3_broken.ipynb`, "{ not json");
    const s = await checkNotebooks([...paths, `${dir}/3_broken.ipynb`]);
    assert.equal(s.ok, false);
    assert.equal(s.diagnostics.length, 1, "same names in two notebooks do not clash");
    assert.equal(s.diagnostics[0].notebook, paths[1]);
    assert.equal(s.errors.length, 1);
    assert.match(s.errors[0].message, /3_broken\.ipynb: not JSON/);
  });
});

Deno.test("notebookModule keeps cell lines at the recorded positions", () => {
  const m = notebookModule(notebook([
    md("m", "# T"),
    code("a", "let a = 1;\na += 1;"),
    code("b", ["const b = a;\n", "b"]),
  ]));
  const lines = m.code.split("\n");
  assert.deepEqual(m.spans.map((s) => [s.cell, s.codeCell, s.lines]), [[2, 1, 2], [3, 2, 2]]);
  assert.equal(lines[m.spans[0].startLine - 1], "let a = 1;");
  assert.equal(lines[m.spans[1].startLine], "b");
  assert.ok(m.code.trimEnd().endsWith("export {};"), "always a module");
});

Deno.test("parseDenoCheck reads multi-line messages and resolution errors", () => {
  const out = [
    "TS2322 [ERROR]: Type '{ a: string; }' is not assignable to type 'T'.",
    "  Types of property 'a' are incompatible.",
    "    Type 'string' is not assignable to type 'number'.",
    'const t: T = { a: "x" };',
    "      ^",
    "    at file:///tmp/a%20b/x.ts:12:7",
    "",
    'error: Module not found "file:///work/lib/nope.ts".',
    "    at file:///tmp/x.ts:1:20",
    "",
    "error: Type checking failed.",
  ].join("\n");
  const d = parseDenoCheck(out);
  assert.equal(d.length, 2);
  assert.equal(
    d[0].message,
    "Type '{ a: string; }' is not assignable to type 'T'. Types of property 'a' are incompatible. " +
      "Type 'string' is not assignable to type 'number'.",
  );
  assert.equal(d[0].file, "/tmp/a b/x.ts");
  assert.equal(d[0].snippet, 'const t: T = { a: "x" };');
  assert.equal(d[1].code, "");
  assert.match(d[1].message, /Module not found/);
  assert.equal(d[1].column, 20);
});
