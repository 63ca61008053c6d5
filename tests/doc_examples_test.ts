// Every `@example` in lib/ and tools/ runs under `deno test --doc`; an example only proves
// something if it can fail, so each one must call an assertion (node:assert or assertClose),
// and none may use console.assert (it prints and never fails a test).
import assert from "node:assert/strict";

const ROOTS = ["lib", "tools"];
const ASSERTION =
  /\b(?:assert(?:Close)?|assert\.\w+|deepStrictEqual|strictEqual|deepEqual|notStrictEqual|notDeepStrictEqual|equal|ok|throws|rejects|doesNotThrow|doesNotReject|match|gradCheck)\s*\(/;

/** One fenced code block after an `@example` tag, with where it starts. */
export interface DocExample {
  file: string;
  line: number;
  code: string;
}

/** The `@example` blocks of a TypeScript source, with the ` * ` JSDoc prefix removed. */
export function docExamples(file: string, source: string): DocExample[] {
  const lines = source.split("\n");
  const out: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\b/.test(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s*```/.test(lines[j])) {
      if (/^\s*\*\//.test(lines[j])) break;
      j++;
    }
    if (j >= lines.length || !/^\s*\*\s*```/.test(lines[j])) continue;
    const start = j + 1;
    let k = start;
    while (k < lines.length && !/^\s*\*\s*```/.test(lines[k])) k++;
    const code = lines.slice(start, k).map((l) => l.replace(/^\s*\* ?/, "")).join("\n");
    out.push({ file, line: start + 1, code });
    i = k;
  }
  return out;
}

async function sources(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) files.push(...await sources(path));
    else if (e.isFile && e.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

const root = new URL("..", import.meta.url).pathname;

async function allExamples(): Promise<DocExample[]> {
  const out: DocExample[] = [];
  for (const r of ROOTS) {
    for (const f of await sources(`${root}${r}`)) {
      out.push(...docExamples(f.slice(root.length), await Deno.readTextFile(f)));
    }
  }
  return out;
}

Deno.test("docExamples finds fenced blocks after @example and strips the JSDoc prefix", () => {
  const src = [
    "/**",
    " * Doubles.",
    " * @example",
    " * ```ts",
    ' * import assert from "node:assert";',
    " * assert.equal(double(2), 4);",
    " * ```",
    " */",
    "/** No example here. */",
  ].join("\n");
  const ex = docExamples("x.ts", src);
  assert.equal(ex.length, 1);
  assert.equal(ex[0].line, 5);
  assert.equal(ex[0].code, 'import assert from "node:assert";\nassert.equal(double(2), 4);');
  assert.match(ex[0].code, ASSERTION);
  assert.doesNotMatch("console.log(double(2)); // 4", ASSERTION);
});

Deno.test("every @example in lib/ and tools/ asserts, and none uses console.assert", async () => {
  const examples = await allExamples();
  assert.ok(examples.length > 200, `expected the engine's 200+ examples, found ${examples.length}`);
  const silent = examples.filter((e) => !ASSERTION.test(e.code)).map((e) => `${e.file}:${e.line}`);
  assert.deepEqual(
    silent,
    [],
    `these examples check nothing; end them with an assertion (node:assert or assertClose):\n` +
      silent.join("\n"),
  );
  const consoleAssert = examples.filter((e) => e.code.includes("console.assert"))
    .map((e) => `${e.file}:${e.line}`);
  assert.deepEqual(consoleAssert, [], "console.assert never fails a test: use node:assert");
});
