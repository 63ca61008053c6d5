import assert from "node:assert/strict";
import {
  ansiToHtml,
  CSP,
  exportNotebooks,
  FOLD_LINES,
  isCheckOnly,
  renderIndex,
  renderMarkdown,
  renderNotebook,
} from "../tools/export/mod.ts";
import type { Notebook, Output } from "../tools/notebook/io.ts";
import * as plot from "@kit/plot.ts";
import { claim, claimsTable, resetClaims } from "@kit/claim.ts";
import { sanitize } from "../tools/export/sanitize.ts";

const md = (source: string, extra: Record<string, unknown> = {}) => ({
  cell_type: "markdown" as const,
  metadata: {},
  source,
  ...extra,
});
const code = (
  source: string,
  outputs: Output[] = [],
  count: number | null = 1,
  tags?: string[],
) => ({
  cell_type: "code" as const,
  metadata: tags ? { tags } : {},
  source,
  outputs,
  execution_count: count,
});
const result = (data: Record<string, unknown>, n = 1): Output => ({
  output_type: "execute_result",
  execution_count: n,
  data,
  metadata: {},
});

function notebook(cells: Notebook["cells"], kit?: Record<string, unknown>): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
      language_info: { name: "typescript" },
      ...(kit ? { kit } : {}),
    },
    cells,
  };
}

/** Text content of HTML with tags removed (entities kept). */
function textOf(html: string): string {
  return html.replace(/<script[\s\S]*?<\/script>/g, "").replace(/<[^>]+>/g, "");
}

Deno.test("math is rendered to KaTeX at build time; TeX survives markdown", () => {
  const html = renderMarkdown([
    "Inline $w_i^2$ and $a_1 * b_2$ then $c_3 * d_4$, a norm $\\|w\\|_2$.",
    "",
    "$$",
    "\\begin{aligned}",
    "L(w) &= \\tfrac{1}{2}\\|y - Xw\\|^2 \\\\",
    "     &\\quad + \\lambda \\|w\\|_2^2",
    "\\end{aligned}",
    "$$",
    "",
    "A price of $5 stays text; \\$ is a dollar; `$code$` is code.",
  ].join("\n"));
  const inline = html.match(/<span class="math math-inline"><span class="katex">/g) ?? [];
  assert.equal(inline.length, 4, "four inline formulas");
  assert.equal(
    (html.match(/<div class="math math-display"><span class="katex-display">/g) ?? []).length,
    1,
  );
  assert.ok(!html.includes("<em>"), "underscores and stars inside math are not emphasis");
  assert.ok(!html.includes("katex-error"));
  // the aligned environment kept its row break "\\": two rows in the MathML annotation
  const tex = /<annotation encoding="application\/x-tex">([\s\S]*?)<\/annotation>/g;
  const sources = [...html.matchAll(tex)].map((m) => m[1]);
  assert.ok(sources.some((s) => s.includes("\\\\\n")), `row break kept: ${sources.join(" | ")}`);
  assert.ok(sources.includes("w_i^2") && sources.includes("a_1 * b_2"));
  const text = textOf(
    html.replace(/<span class="katex">[\s\S]*?<\/annotation><\/semantics><\/math><\/span>/g, ""),
  );
  assert.match(text, /A price of \$5 stays text; \$ is a dollar; \$code\$ is code\./);
});

Deno.test("a formula KaTeX rejects is flagged and reported, not dropped", () => {
  const page = renderNotebook(notebook([md("# T\n\nBad: $\\frac{1}{$ and good $x$.")]), {
    name: "bad_math.ipynb",
  });
  assert.match(page.html, /<span class="katex-error" title="[^"]*">\\frac\{1\}\{<\/span>/);
  assert.equal(page.warnings.length, 1);
  assert.match(page.warnings[0], /bad_math\.ipynb, cell 1: KaTeX cannot render \$\\frac\{1\}\{\$/);
});

Deno.test("plot outputs become a plot container with the figure JSON", () => {
  plot.resetFigureIds();
  const fig = plot.slider(
    [1, 2].map((k) => ({ label: k, data: plot.line([0, 1], [0, k]) })),
    { sliderLabel: "k", title: "</script> in a title" },
  );
  const bundle = fig.toMimeBundle();
  const page = renderNotebook(
    notebook([md("# Plots"), code("fig", [result(bundle as unknown as Record<string, unknown>)])]),
    { name: "plots.ipynb" },
  );
  const div = /<div class="plot" id="(figure-1)" role="img" aria-label="([^"]*)"/.exec(page.html);
  assert.ok(div, "plot div present");
  assert.match(div[2], /2 frames/);
  const data =
    /<script type="application\/json" class="plot-data" data-target="figure-1">(.*?)<\/script>/
      .exec(page.html);
  assert.ok(data, "figure JSON present next to its div");
  assert.deepEqual(JSON.parse(data[1]), bundle["application/vnd.plotly.v1+json"]);
  assert.equal(data[1].includes("</script>"), false, "JSON is script-safe");
  assert.ok(page.html.includes('<script src="assets/plotly.min.js"></script>'));
  assert.ok(page.html.includes('<script src="assets/handout.js"></script>'), "the page script");
  assert.deepEqual(
    page.html.match(/<script(?![^>]*\b(?:src|type)=)[^>]*>/g),
    null,
    "no inline script: the CSP allows only files from assets/",
  );
  assert.ok(!page.html.includes("cdn.jsdelivr.net"), "the HTML fallback (CDN) is not used");
});

Deno.test("text outputs are escaped and ANSI colours become spans", () => {
  const page = renderNotebook(
    notebook([
      code('"<script>alert(1)</script>"', [
        result({ "text/plain": '\x1b[32m"<script>alert(1)</script>"\x1b[39m' }),
        { output_type: "stream", name: "stdout", text: ["a <b>\n", "b & c\n"] },
        { output_type: "stream", name: "stdout", text: "more\n" },
        { output_type: "stream", name: "stderr", text: "careful\n" },
      ]),
    ]),
    { name: "escape.ipynb" },
  );
  assert.ok(!page.html.includes("<script>alert(1)</script>"), "no live script from a text output");
  assert.ok(
    page.html.includes(
      '<span class="ansi-green-fg">&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</span>',
    ),
  );
  assert.ok(
    page.html.includes('<pre class="output-stream stdout">a &lt;b&gt;\nb &amp; c\nmore\n</pre>'),
  );
  assert.ok(page.html.includes('<pre class="output-stream stderr">careful\n</pre>'));
  assert.equal(
    ansiToHtml("\x1b[1;31mE\x1b[0m \x1b[38;5;196mx\x1b[39m \x1b[38;2;1;2;3my\x1b[0m\n10%\r100%"),
    '<span style="font-weight:bold" class="ansi-red-fg">E</span> <span style="color:rgb(255,0,0)">x</span> ' +
      '<span style="color:rgb(1,2,3)">y</span>\n100%',
  );
});

Deno.test("errors, images, markdown and html outputs; cell tags", () => {
  const png =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
  const page = renderNotebook(
    notebook([
      md("# Outputs"),
      code("x", [
        {
          output_type: "display_data",
          data: { "image/png": png + "\n", "text/plain": "img" },
          metadata: {},
        },
        {
          output_type: "display_data",
          data: { "image/svg+xml": ["<svg xmlns='http://www.w3.org/2000/svg'>", "</svg>"] },
          metadata: {},
        },
        { output_type: "display_data", data: { "text/markdown": "**bold** $x^2$" }, metadata: {} },
        {
          output_type: "display_data",
          data: { "text/html": "<table><tr><td>1</td></tr></table>" },
          metadata: {},
        },
      ]),
      code("secret()", [], 2, ["remove-input"]),
      code("helper()", [], 3, ["hide-input"]),
      code("gone()", [], 4, ["remove-cell"]),
      code("throw new Error('boom')", [{
        output_type: "error",
        ename: "Error",
        evalue: "boom",
        traceback: ["\x1b[31mError\x1b[39m: boom", "    at <anonymous>:1:7"],
      }], 5),
    ], { status: "error", failed_cell: 6 }),
    { name: "outputs.ipynb" },
  );
  const h = page.html;
  assert.ok(
    h.includes('<div class="layout no-toc">'),
    "no sections: one centred column, no empty sidebar",
  );
  assert.ok(!h.includes('<nav class="toc"'));
  assert.ok(h.includes(`<img class="output-image" alt="" src="data:image/png;base64,${png}">`));
  assert.ok(h.includes('src="data:image/svg+xml;base64,'));
  assert.match(
    h,
    /<div class="output-markdown"><p><strong>bold<\/strong> <span class="math math-inline"><span class="katex">/,
  );
  assert.ok(h.includes('<div class="output-html"><table><tr><td>1</td></tr></table></div>'));
  assert.ok(!h.includes("secret()"), "remove-input hides the code");
  assert.match(
    h,
    /<details class="source-fold"><summary><span class="fold-label">Code<\/span> <span class="fold-lines">1 line<\/span> <code>helper\(\)<\/code><\/summary><pre class="source hljs">/,
  );
  assert.ok(!h.includes("gone()"), "remove-cell removes the cell");
  assert.match(
    h,
    /<div class="output-error" role="alert"><div class="error-name">Error<\/div><pre><span class="ansi-red-fg">Error<\/span>: boom\n {4}at &lt;anonymous&gt;:1:7<\/pre><\/div>/,
  );
  assert.equal(page.status, "failed");
  assert.match(h, /class="run-failed"[^>]*>.*Cell <a href="#cell-6">6<\/a> raised an error/);
  assert.match(h, /<section class="cell code failed" id="cell-6">/);
});

Deno.test("table of contents from headings, with unique anchors", () => {
  const page = renderNotebook(
    notebook([
      md("# Dropout\n\nWe drop units with probability $p$.\n\n## Why it works\n\ntext"),
      code("1", [], 1),
      md(
        "## Why it works\n\n### Inverted dropout: scaling by $1/(1-p)$\n\nSee [the next notebook](04_batchnorm.ipynb#top).",
      ),
    ]),
    { name: "03_dropout.ipynb" },
  );
  assert.equal(page.title, "Dropout");
  assert.match(
    page.summaryHtml,
    /^<p>We drop units with probability <span class="math math-inline"><span class="katex">/,
  );
  assert.deepEqual(page.headings.map((h) => [h.level, h.id]), [
    [1, "dropout"],
    [2, "why-it-works"],
    [2, "why-it-works-2"],
    [3, "inverted-dropout-scaling-by-1-1-p"],
  ]);
  const toc = /<nav class="toc" id="contents"[^>]*>([\s\S]*?)<\/nav>/.exec(page.html)?.[1];
  assert.ok(toc, "TOC present");
  const hrefs = [...toc.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(hrefs, ["why-it-works", "why-it-works-2", "inverted-dropout-scaling-by-1-1-p"]);
  for (const id of hrefs) {
    assert.ok(page.html.includes(`<h`) && page.html.includes(`id="${id}"`), id);
  }
  assert.match(toc, /class="katex"/, "math in headings is rendered in the TOC too");
  assert.ok(
    page.html.includes('href="04_batchnorm.html#top"'),
    "links between notebooks point to pages",
  );
});

Deno.test("index lists the notebooks in order with titles, first paragraphs and failures", () => {
  const html = renderIndex([
    {
      href: "00_welcome.html",
      notebook: "00_welcome.ipynb",
      title: "Welcome",
      summaryHtml: "<p>What the <em>kit</em> is.</p>",
      status: "ok",
    },
    {
      href: "01_norms.html",
      notebook: "01_norms.ipynb",
      title: "Norm <penalties>",
      summaryHtml: "<p>L1 and L2.</p>",
      status: "failed",
    },
  ]);
  const titles = [...html.matchAll(/<span class="nb-title">([^<]*)<\/span>/g)].map((m) => m[1]);
  assert.deepEqual(titles, ["Welcome", "Norm &lt;penalties&gt;"]);
  assert.ok(html.indexOf('href="00_welcome.html"') < html.indexOf('href="01_norms.html"'));
  assert.ok(html.includes('<div class="nb-summary"><p>What the <em>kit</em> is.</p></div>'));
  assert.equal((html.match(/did not run to the end/g) ?? []).length, 1);
});

async function filesOf(dir: string, prefix = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) {
      for (const [k, v] of await filesOf(`${dir}/${e.name}`, `${rel}/`)) out.set(k, v);
    } else out.set(rel, await Deno.readFile(`${dir}/${e.name}`));
  }
  return out;
}

Deno.test("exportNotebooks writes pages, index and offline assets, deterministically", async () => {
  const nbA = notebook([
    md("# Alpha\n\nFirst $a_1$."),
    code("plot", [result(plot.line([1, 2]).toMimeBundle() as unknown as Record<string, unknown>)]),
  ]);
  const nbB = notebook([md("# Beta\n\nSecond.")]);
  const dir1 = await Deno.makeTempDir();
  const dir2 = await Deno.makeTempDir();
  try {
    const inputs = [{ name: "02_beta.ipynb", notebook: nbB }, {
      name: "01_alpha.ipynb",
      notebook: nbA,
    }];
    const s1 = await exportNotebooks(inputs, dir1);
    assert.equal(s1.ok, true);
    assert.deepEqual(
      s1.pages.map((p) => p.href),
      ["01_alpha.html", "02_beta.html"],
      "file-name order",
    );
    const s2 = await exportNotebooks([...inputs].reverse(), dir2);
    assert.equal(s2.ok, true);
    const f1 = await filesOf(dir1);
    const f2 = await filesOf(dir2);
    assert.deepEqual([...f1.keys()].sort(), [...f2.keys()].sort());
    for (const [k, v] of f1) assert.deepEqual(v, f2.get(k), `${k} differs between two exports`);
    assert.ok(![...f1.keys()].some((k) => k.endsWith(".tmp")), "no temporary files left");
    // every font the KaTeX CSS names is there, and plotly.js
    const css = new TextDecoder().decode(f1.get("assets/katex/katex.min.css"));
    const fonts = [...css.matchAll(/url\((fonts\/[^)]+)\)/g)].map((m) => m[1]);
    assert.ok(fonts.length >= 20, `KaTeX CSS names its fonts (${fonts.length})`);
    for (const f of fonts) assert.ok(f1.has(`assets/katex/${f}`), `missing ${f}`);
    assert.ok((f1.get("assets/plotly.min.js")?.length ?? 0) > 1_000_000);
    const page = new TextDecoder().decode(f1.get("01_alpha.html"));
    for (const m of page.matchAll(/(?:src|href)="([^"#]+)"/g)) {
      if (/^https?:/.test(m[1])) continue;
      assert.ok(f1.has(m[1]), `page refers to ${m[1]}, which was not written`);
    }
    assert.ok(!/(?:src|href)="https?:/.test(page), "the page loads nothing from the network");
    const index = new TextDecoder().decode(f1.get("index.html"));
    assert.match(
      index,
      /<span class="nb-title">Alpha<\/span>[\s\S]*<p>First <span class="math math-inline">/,
    );
    // an unreadable input is reported; the others are still exported
    await Deno.writeTextFile(`${dir1}/broken.ipynb`, "{");
    const s3 = await exportNotebooks([`${dir1}/broken.ipynb`, ...inputs], dir1);
    assert.equal(s3.ok, false);
    assert.equal(s3.pages.length, 2);
    assert.match(s3.errors[0].message, /broken\.ipynb: not JSON/);
  } finally {
    await Deno.remove(dir1, { recursive: true });
    await Deno.remove(dir2, { recursive: true });
  }
});

/** Every file under `dir` with its bytes (a snapshot to compare before and after). */
async function snapshot(dir: string): Promise<Map<string, Uint8Array>> {
  try {
    return await filesOf(dir);
  } catch {
    return new Map();
  }
}

Deno.test({
  name: "buildHandouts: failing and invalid notebooks, partial builds keep every page, " +
    "a mistyped path changes nothing, only a full build removes stale pages",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { buildHandouts, UnreadablePathError } = await import("../tools/handouts.ts");
    const dir = await Deno.makeTempDir({ prefix: "handouts_test_" });
    try {
      const ok = notebook([md("# Fine\n\nRuns."), code("1 + 1", [], null)]);
      const failing = notebook([
        md("# Broken\n\nFails in cell 3."),
        code('console.log("before")', [], null),
        code('throw new RangeError("lambda must be >= 0, got -1")', [], null),
        code('console.log("never")', [], null),
      ]);
      // nbformat 4.5 wants cell ids
      const withIds = (nb: Notebook) => ({
        ...nb,
        cells: nb.cells.map((c, i) => ({ ...c, id: `c${i}` })),
      });
      await Deno.writeTextFile(`${dir}/a_ok.ipynb`, JSON.stringify(withIds(ok)));
      await Deno.writeTextFile(`${dir}/b_fail.ipynb`, JSON.stringify(withIds(failing)));
      await Deno.writeTextFile(`${dir}/c_invalid.ipynb`, "{ not a notebook");
      // Left from older builds: a page of the now-invalid notebook, and an executed notebook
      // and page of a notebook that no longer exists.
      await Deno.mkdir(`${dir}/html`);
      await Deno.mkdir(`${dir}/nb`);
      await Deno.writeTextFile(`${dir}/html/c_invalid.html`, "page from an older run");
      await Deno.writeTextFile(`${dir}/html/z_gone.html`, "page of a deleted notebook");
      await Deno.writeTextFile(`${dir}/nb/z_gone.ipynb`, JSON.stringify(withIds(ok)));
      const opts = { notebooksDir: `${dir}/nb`, handoutsDir: `${dir}/html`, concurrency: 2 };
      const all = [`${dir}/a_ok.ipynb`, `${dir}/b_fail.ipynb`, `${dir}/c_invalid.ipynb`];
      const s = await buildHandouts(all, { ...opts, full: true });
      assert.equal(s.ok, false, "a failed or invalid notebook makes the build fail");
      assert.deepEqual(s.run.runs.map((r) => r.status), ["ok", "failed", "invalid"]);
      assert.deepEqual(s.export.pages.map((p) => [p.href, p.status]), [
        ["a_ok.html", "ok"],
        ["b_fail.html", "failed"],
      ]);
      const page = await Deno.readTextFile(`${dir}/html/b_fail.html`);
      assert.match(
        page,
        /This notebook did not run to the end.*Cell <a href="#cell-3">3<\/a> raised an error/,
      );
      assert.match(
        page,
        /<div class="error-name">RangeError<\/div><pre>[\s\S]*lambda must be &gt;= 0, got -1/,
      );
      assert.ok(page.includes("before"), "outputs before the failure are kept");
      assert.ok(!page.includes(">never"), "cells after the failure did not run");
      assert.match(page, /rel="prev" href="a_ok\.html"/, "book navigation");
      assert.match(page, /href="ipynb\/b_fail\.ipynb" download/, "download link");
      const dl = JSON.parse(await Deno.readTextFile(`${dir}/html/ipynb/b_fail.ipynb`));
      assert.deepEqual(dl.cells[1].outputs, [], "the download has no outputs");
      const index = await Deno.readTextFile(`${dir}/html/index.html`);
      assert.match(index, /b_fail\.html[\s\S]*did not run to the end/);
      assert.ok(!index.includes("c_invalid"), "no entry for the invalid file");
      const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
      assert.ok(await exists(`${dir}/html/c_invalid.html`), "an invalid notebook keeps its page");
      assert.ok(!await exists(`${dir}/html/z_gone.html`), "full build: deleted notebook's page");
      assert.ok(!await exists(`${dir}/nb/z_gone.ipynb`), "full build: its executed notebook");
      assert.deepEqual(s.removed, [`${dir}/nb/z_gone.ipynb`]);

      // A one-notebook build keeps every entry of the index and the other pages.
      const failPage = await Deno.readFile(`${dir}/html/b_fail.html`);
      const one = await buildHandouts([`${dir}/a_ok.ipynb`], opts);
      assert.ok(one.ok);
      assert.deepEqual(one.export.pages.map((p) => p.href), ["a_ok.html", "b_fail.html"]);
      const index2 = await Deno.readTextFile(`${dir}/html/index.html`);
      assert.ok(index2.includes('href="a_ok.html"') && index2.includes('href="b_fail.html"'));
      assert.deepEqual(await Deno.readFile(`${dir}/html/b_fail.html`), failPage);
      assert.ok(await exists(`${dir}/html/c_invalid.html`), "a partial build removes nothing");

      // A mistyped path: an error, and not one byte under the output folders changes.
      const before = await snapshot(dir);
      await assert.rejects(
        buildHandouts([`${dir}/typo/a_ok.ipynb`, `${dir}/b_fail.ipynb`], opts),
        (e: Error) =>
          e instanceof UnreadablePathError && /typo\/a_ok\.ipynb \(no such file\)/.test(e.message),
      );
      assert.deepEqual(await snapshot(dir), before);
      // The command line: exit code 1, nothing under dist/ changed.
      await Deno.mkdir(`${dir}/cli/dist/handouts`, { recursive: true });
      await Deno.writeTextFile(`${dir}/cli/dist/handouts/index.html`, "kept");
      const cliBefore = await snapshot(`${dir}/cli`);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../tools/handouts.ts", import.meta.url).pathname,
          "nb/typo.ipynb",
        ],
        cwd: `${dir}/cli`,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 1);
      assert.match(new TextDecoder().decode(out.stderr), /cannot read nb\/typo\.ipynb/);
      assert.deepEqual(await snapshot(`${dir}/cli`), cliBefore);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Start tags of real elements in `html` (escaped text like `&lt;img` is not a tag). */
function tagsIn(html: string): { tag: string; attrs: [string, string][] }[] {
  const out: { tag: string; attrs: [string, string][] }[] = [];
  // JSON data blocks are script-safe text, not markup.
  const markup = html.replace(
    /(<script type="application\/json"[^>]*>)[\s\S]*?<\/script>/g,
    "$1</script>",
  );
  for (
    const m of markup.matchAll(
      /<([a-zA-Z][\w-]*)((?:\s+[^\s=>]+(?:="[^"]*"|='[^']*'|=[^\s>]*)?)*)\s*\/?>/g,
    )
  ) {
    const attrs = [...m[2].matchAll(/([^\s=]+)(?:=(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?/g)].map((
      a,
    ) => [a[1].toLowerCase(), a[2] ?? a[3] ?? a[4] ?? ""] as [string, string]);
    out.push({ tag: m[1].toLowerCase(), attrs });
  }
  return out;
}

Deno.test("a hostile notebook: no script, handler or script URL reaches the page or the index", async () => {
  const { hostileNotebook } = await import("./hostile_notebook.ts");
  const page = renderNotebook(hostileNotebook(), { name: "hostile.ipynb" });
  const index = renderIndex([{
    href: "hostile.html",
    notebook: "hostile<img src=x onerror=alert(1)>.ipynb",
    title: page.title,
    summaryHtml: page.summaryHtml,
    status: page.status,
  }]);
  for (const [where, html] of [["page", page.html], ["index", index]]) {
    const tags = tagsIn(html);
    const scripts = tags.filter((t) => t.tag === "script").map((t) =>
      t.attrs.map(([k, v]) => `${k}=${v}`).join(" ")
    );
    for (const s of scripts) {
      assert.match(
        s,
        /^(src=assets\/(plotly\.min|handout)\.js|type=application\/json class=plot-data data-target=figure-\d+)$/,
        `${where}: unexpected script ${s}`,
      );
    }
    const handlers = tags.flatMap((t) => t.attrs.filter(([k]) => k.startsWith("on")));
    assert.deepEqual(handlers, [], `${where}: event handlers`);
    const urls = tags.flatMap((t) =>
      t.attrs.filter(([k, v]) =>
        ["href", "src", "action", "data", "srcdoc", "content"].includes(k) &&
        /^\s*(javascript|vbscript|data:text|https?:\/\/evil)/i.test(v.replace(/&#\d+;/g, "j"))
      )
    );
    assert.deepEqual(urls, [], `${where}: script or network URLs`);
    const forbidden = tags.filter((t) =>
      ["iframe", "object", "embed", "form", "base", "link", "style", "svg", "math"].includes(
        t.tag,
      ) &&
      !(t.tag === "link" && t.attrs.some(([k, v]) => k === "href" && v.startsWith("assets/"))) &&
      // KaTeX's own MathML is trusted markup, rendered after sanitizing.
      !(t.tag === "math" && t.attrs.some(([k, v]) => k === "xmlns" && v.includes("MathML")))
    ).map((t) => t.tag);
    assert.deepEqual(forbidden, [], `${where}: forbidden elements`);
    assert.ok(
      html.includes(`<meta http-equiv="Content-Security-Policy" content="${CSP}">`),
      `${where}: CSP`,
    );
  }
  assert.match(CSP, /script-src 'self';/);
  assert.ok(!CSP.includes("unsafe-eval") && !/script-src[^;]*unsafe-inline/.test(CSP));
  // Benign content survives.
  const h = page.html;
  assert.ok((h.match(/class="katex"/g) ?? []).length >= 5, "formulas");
  assert.ok(h.includes('<table class="dataframe"><tr><td>html table</td></tr></table>'));
  assert.ok(h.includes("<details><summary>Benign details</summary><kbd>Ctrl</kbd>"));
  assert.ok(h.includes('<td style="text-align:right">2</td>'), "table alignment kept");
  assert.match(h, /<script type="application\/json" class="plot-data" data-target="figure-1">/);
  assert.equal(page.title, "Hostile notebook", "raw HTML is not part of the title");
  // Notebook text shows as text: the traceback and stream, escaped.
  assert.ok(h.includes("&lt;img src=x onerror=alert(25)&gt;"));
  assert.ok(h.includes('<pre class="output-stream stdout">'), "stream name is not trusted");
  assert.ok(
    page.warnings.some((w) => /image\/png output is not valid base64/.test(w)),
    "invalid image data is reported",
  );
});

Deno.test("long and check-only code cells fold behind <details>; short ones and show-input do not", () => {
  const long = Array.from({ length: FOLD_LINES + 1 }, (_, i) => `const v${i} = ${i};`).join("\n");
  const checks = 'assertClose(a, b, {\n  atol: 1e-9,\n  msg: "a ( b",\n});\nassert.ok(c, "c");';
  const page = renderNotebook(
    notebook([
      md("# Folding"),
      code("const short = 1;", [], 1),
      code(long, [], 2),
      code(checks, [], 3),
      code(long, [], 4, ["show-input"]),
      code(`const x = 1;\n${checks}`, [], 5),
    ]),
    { name: "fold.ipynb" },
  );
  const cell = (n: number) =>
    new RegExp(`<section class="cell code" id="cell-${n}">[\\s\\S]*?</section>`).exec(
      page.html,
    )![0];
  assert.ok(!cell(2).includes("<details"), "a short cell stays open");
  assert.match(
    cell(3),
    new RegExp(
      `<details class="source-fold"><summary><span class="fold-label">Code</span> <span class="fold-lines">${
        FOLD_LINES + 1
      } lines</span> <code>const v0 = 0;</code></summary>`,
    ),
  );
  assert.match(
    cell(4),
    /<details class="source-fold checks"><summary><span class="fold-label">Checks<\/span> <span class="fold-lines">5 lines<\/span> <code>assertClose\(a, b, \{<\/code><\/summary>/,
  );
  assert.ok(!cell(5).includes("<details"), "show-input keeps a long cell open");
  assert.ok(!cell(6).includes("<details"), "a cell that computes is not check-only");
  assert.ok(isCheckOnly(checks) && !isCheckOnly(`const x = 1;\n${checks}`));
});

Deno.test("exportNotebooks refuses names that would write outside the output folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const nb = notebook([md("# X")]);
    const s = await exportNotebooks([
      { name: "../escape.ipynb", notebook: nb },
      { name: ".hidden.ipynb", notebook: nb },
      { name: "fine.ipynb", notebook: nb },
    ], dir);
    assert.equal(s.ok, false);
    assert.deepEqual(s.pages.map((p) => p.href), ["fine.html"]);
    assert.equal(s.errors.length, 2);
    assert.match(s.errors[0].message, /^\.\.\/escape\.ipynb: not a notebook file name/);
    assert.equal(await Deno.stat(`${dir}/../escape.html`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportNotebooks: a transform (the student version) shapes the page and the download", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const nb = notebook([
      md("# Exercise\n\nSolve it."),
      code("const answer = 42; // SOLUTION", [result({ "text/plain": "42" })], 1),
    ]);
    // A stand-in for the grading helper's student transform: the solution line is replaced.
    const student = (n: Notebook) => ({
      ...n,
      cells: n.cells.map((c) =>
        c.cell_type === "code" ? { ...c, source: "const answer = undefined; // your code here" } : c
      ),
    });
    const s = await exportNotebooks([{ name: "ex.ipynb", notebook: nb }], {
      outDir: `${dir}/student`,
      transform: student,
    });
    assert.ok(s.ok);
    const page = await Deno.readTextFile(`${dir}/student/ex.html`);
    assert.ok(!page.includes("SOLUTION") && page.includes("your code here"));
    const dl = JSON.parse(await Deno.readTextFile(`${dir}/student/ipynb/ex.ipynb`));
    assert.equal(dl.cells[1].source, "const answer = undefined; // your code here");
    assert.deepEqual([dl.cells[1].outputs, dl.cells[1].execution_count], [[], null]);
    // No download: no file and no link.
    await exportNotebooks([{ name: "ex.ipynb", notebook: nb }], {
      outDir: `${dir}/plain`,
      download: null,
    });
    assert.ok(!(await Deno.readTextFile(`${dir}/plain/ex.html`)).includes('class="download"'));
    assert.equal(await Deno.stat(`${dir}/plain/ipynb`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "deno task handouts --solutions writes the instructor copy to its own folder",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "handouts_cli_" });
    try {
      const nb = notebook([md("# Solo\n\nOne cell."), code("1 + 1", [], null)]);
      await Deno.writeTextFile(
        `${dir}/solo.ipynb`,
        JSON.stringify({ ...nb, cells: nb.cells.map((c, i) => ({ ...c, id: `c${i}` })) }),
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../tools/handouts.ts", import.meta.url).pathname,
          "solo.ipynb",
          "--solutions",
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const page = await Deno.readTextFile(`${dir}/dist/handouts-solutions/solo.html`);
      assert.ok(page.includes('href="ipynb/solo.ipynb"'), "the download link");
      assert.ok(await Deno.stat(`${dir}/dist/notebooks/solo.ipynb`).then(() => true));
      assert.equal(
        await Deno.stat(`${dir}/dist/handouts`).then(() => true, () => false),
        false,
        "the student handouts are not touched",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "buildHandouts with reuse (--pdf): up-to-date executed notebooks are not run again",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { buildHandouts } = await import("../tools/handouts.ts");
    const dir = await Deno.makeTempDir({ prefix: "handouts_reuse_" });
    try {
      const withIds = (nb: Notebook) => ({
        ...nb,
        cells: nb.cells.map((c, i) => ({ ...c, id: `c${i}` })),
      });
      // A run prints a fresh random number: a notebook run again shows another one.
      const random = notebook([md("# Random"), code("console.log(Math.random())", [], null)]);
      const failing = notebook([md("# Fails"), code('throw new Error("no")', [], null)]);
      await Deno.writeTextFile(`${dir}/a.ipynb`, JSON.stringify(withIds(random)));
      await Deno.writeTextFile(`${dir}/b.ipynb`, JSON.stringify(withIds(failing)));
      const opts = {
        notebooksDir: `${dir}/nb`,
        handoutsDir: `${dir}/html`,
        concurrency: 2,
        images: false,
        reuse: true,
      };
      const paths = [`${dir}/a.ipynb`, `${dir}/b.ipynb`];
      const printed = async () =>
        JSON.stringify(JSON.parse(await Deno.readTextFile(`${dir}/nb/a.ipynb`)).cells[1].outputs);
      const first = await buildHandouts(paths, opts);
      assert.deepEqual(first.reused, []);
      assert.equal(first.run.runs.length, 2);
      const once = await printed();
      const second = await buildHandouts(paths, opts);
      assert.deepEqual(second.reused, [`${dir}/a.ipynb`], "a is up to date, b failed");
      assert.deepEqual(second.run.runs.map((r) => r.path), [`${dir}/b.ipynb`]);
      assert.equal(await printed(), once, "a's outputs are the ones of its first run");
      assert.equal(second.export.pages.length, 2, "both pages still exported");
      // An edited notebook is run again.
      const edited = withIds(notebook([md("# Random, edited"), random.cells[1]]));
      await Deno.writeTextFile(`${dir}/a.ipynb`, JSON.stringify(edited));
      const third = await buildHandouts(paths, opts);
      assert.deepEqual(third.reused, []);
      assert.notEqual(await printed(), once, "run again: another random number");
      // Without reuse every notebook runs.
      const all = await buildHandouts(paths, { ...opts, reuse: false });
      assert.equal(all.run.runs.length, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("figure images: recompressPng is lossless and smaller for an opaque RGBA PNG", async () => {
  const { recompressPng } = await import("../tools/export/figures.ts");
  const { decode, encode } = await import("fast-png");
  const { Buffer } = await import("node:buffer");
  // A plot-like image: white, grid lines, an anti-aliased curve; opaque, as Chromium's are.
  const w = 200, h = 120, rgba = new Uint8Array(w * h * 4).fill(255);
  for (let x = 0; x < w; x++) {
    const y = 60 + 40 * Math.sin(x / 20);
    for (let yy = 0; yy < h; yy++) {
      const i = (yy * w + x) * 4, d = Math.abs(yy - y);
      if (yy % 30 === 0) rgba.set([229, 231, 235], i);
      if (d < 2) rgba.set([0, 114 + Math.round(d * 40), 178], i);
    }
  }
  const original = encode({ width: w, height: h, data: rgba, depth: 8, channels: 4 }, {
    zlib: { level: 1 },
  });
  const b64 = Buffer.from(original).toString("base64");
  const smaller = recompressPng(b64);
  assert.ok(smaller.length < b64.length, `${smaller.length} < ${b64.length}`);
  const back = decode(Buffer.from(smaller, "base64"));
  assert.equal(back.channels, 3, "opaque: stored as RGB");
  const px = back.data as Uint8Array;
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    if (px[j] !== rgba[i] || px[j + 1] !== rgba[i + 1] || px[j + 2] !== rgba[i + 2]) {
      assert.fail(`pixel ${i / 4} changed`);
    }
  }
  assert.equal(recompressPng(smaller), smaller, "a second pass changes nothing");
  // Transparency is kept.
  rgba[3] = 0;
  const clear = Buffer.from(encode({ width: w, height: h, data: rgba, depth: 8, channels: 4 }))
    .toString("base64");
  assert.equal(decode(Buffer.from(recompressPng(clear), "base64")).channels, 4);
});

Deno.test("a claims table keeps its class through the sanitizer; other classes do not", () => {
  resetClaims();
  claim({ name: "x", measured: 1, se: 0.1, predicted: 1, rival: 2, z: 3 });
  const html = String(claimsTable().toMimeBundle()["text/html"]);
  resetClaims();
  assert.match(sanitize(html), /^<table class="kit-claims">/);
  assert.equal(
    sanitize('<table class="kit-claims evil"><tr><td>1</td></tr></table>'),
    '<table class="kit-claims"><tr><td>1</td></tr></table>',
  );
});
