import assert from "node:assert/strict";
import * as plot from "@kit/plot.ts";
import type { History } from "@kit/train.ts";

const DISPLAY = Symbol.for("Jupyter.display");

function bundleOf(fig: plot.Figure): plot.MimeBundle {
  const fn = (fig as unknown as Record<symbol, () => plot.MimeBundle>)[DISPLAY];
  assert.equal(typeof fn, "function", "a Figure must implement Symbol.for('Jupyter.display')");
  return fn.call(fig);
}

/** The id of the fallback div and the figure JSON embedded in its script. */
function parseHtml(html: string): { id: string; fig: plot.FigureJSON; script: string } {
  const id = /<div id="([^"]+)"/.exec(html)?.[1];
  assert.ok(id, "fallback html has a div with an id");
  const script = /<script type="text\/javascript">([\s\S]*)<\/script>/.exec(html)?.[1];
  assert.ok(script, "fallback html has a script");
  const json = /var fig = (.*);\n/.exec(script)?.[1];
  assert.ok(json, "script embeds the figure");
  return { id, fig: JSON.parse(json), script };
}

Deno.test("bundle has the plotly JSON, an HTML fallback and a text summary", () => {
  plot.resetFigureIds();
  const fig = plot.line([0, 1, 2], { a: [1, 2, 3], b: [3, 2, 1] }, { title: "Two lines" });
  const b = bundleOf(fig);
  assert.deepEqual(Object.keys(b).sort(), [
    "application/vnd.plotly.v1+json",
    "text/html",
    "text/plain",
  ]);
  const json = b["application/vnd.plotly.v1+json"];
  assert.deepEqual(Object.keys(json).sort(), ["config", "data", "layout"]);
  assert.equal(json.data.length, 2);
  assert.deepEqual(json.data[0].y, [1, 2, 3]);
  assert.deepEqual(json.data[1].x, [0, 1, 2]);
  assert.equal((json.layout.title as { text: string }).text, "Two lines");
  // the JSON survives a round trip unchanged (no typed arrays, no undefined, no NaN)
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  assert.equal(b["text/plain"], 'Plotly figure "Two lines": 2 traces (scatter x2)');
  const { id, fig: embedded } = parseHtml(b["text/html"]);
  assert.match(id, /^kit-plot-[0-9a-f]{8}-1$/);
  assert.deepEqual(embedded, json, "the HTML fallback draws the same figure");
});

Deno.test("figure ids are deterministic and unique per display", () => {
  const session = () => {
    plot.resetFigureIds();
    const a = plot.scatter([1, 2, 3], [2, 1, 3]);
    const b = plot.heatmap([[1, 2], [3, 4]]);
    return [bundleOf(a), bundleOf(b), bundleOf(a)].map((x) => JSON.stringify(x));
  };
  const first = session();
  const second = session();
  assert.deepEqual(first, second, "same notebook, same outputs");
  const ids = first.map((s) => parseHtml(JSON.parse(s)["text/html"]).id);
  assert.equal(new Set(ids).size, 3, `ids must differ on one page: ${ids}`);
  assert.ok(ids[0].endsWith("-1") && ids[2].endsWith("-3"));
  // same figure displayed twice: same hash part, different counter
  assert.equal(ids[0].split("-")[2], ids[2].split("-")[2]);
});

Deno.test("html fallback is script-safe", () => {
  const fig = plot.line([1, 2], { title: "</script><script>alert(1)</script> & \u2028" });
  const html = fig.toMimeBundle()["text/html"];
  assert.equal(html.match(/<\/script>/g)?.length, 1, "only the closing tag of our own script");
  assert.equal(html.match(/<script/g)?.length, 1);
  const { fig: embedded } = parseHtml(html);
  assert.equal(
    (embedded.layout.title as { text: string }).text,
    "</script><script>alert(1)</script> & \u2028",
  );
});

/** A fake page element: enough DOM for the fallback script. */
interface FakeEl {
  id: string;
  style: Record<string, string>;
  textContent: string;
  children: unknown[];
  attrs: Record<string, string>;
}

/**
 * Runs the fallback scripts against a fake page; returns what they did. `base` is the Jupyter
 * server's base URL as the classic Notebook (`body[data-base-url]`) or JupyterLab
 * (`#jupyter-config-data`) gives it; `amd` adds require.js as the classic Notebook has it.
 */
function runFallback(
  htmls: string[],
  opts: { amd?: boolean; plotlyPresent?: boolean; base?: string; lab?: boolean } = {},
) {
  const drawn: string[] = [];
  const scripts: { src: string; onload?: () => void; onerror?: () => void }[] = [];
  const required: {
    paths: Record<string, string>;
    calls: { mods: string[]; cb: (p: unknown) => void; err: (e: unknown) => void }[];
    undef: string[];
  } = { paths: {}, calls: [], undef: [] };
  const fakePlotly = {
    newPlot(el: { id: string }, fig: plot.FigureJSON) {
      assert.ok(Array.isArray(fig.data), "newPlot gets the figure object");
      drawn.push(el.id);
      return Promise.resolve();
    },
  };
  const win: Record<string, unknown> = {};
  if (opts.plotlyPresent) win.Plotly = fakePlotly;
  if (opts.amd) {
    win.requirejs = Object.assign(
      (mods: string[], cb: (p: unknown) => void, err: (e: unknown) => void) => {
        required.calls.push({ mods, cb, err });
      },
      {
        config: (c: { paths: Record<string, string> }) => Object.assign(required.paths, c.paths),
        undef: (name: string) => required.undef.push(name),
      },
    );
    win.define = Object.assign(() => {}, { amd: {} });
  }
  const els = new Map<string, FakeEl>();
  const statics = new Map<string, { className: string; parentNode: unknown }>();
  const doc = {
    body: {
      getAttribute: (k: string) =>
        k === "data-base-url" && opts.base !== undefined && !opts.lab
          ? encodeURIComponent(opts.base).replace(/%2F/g, "/")
          : null,
    },
    getElementById: (id: string) => {
      if (id === "jupyter-config-data") {
        return opts.lab && opts.base !== undefined
          ? { textContent: JSON.stringify({ baseUrl: opts.base }) }
          : null;
      }
      if (!els.has(id)) {
        const block = { className: "kit-plot-static", parentNode: null as unknown };
        const el = {
          id,
          style: {},
          children: [block] as unknown[],
          attrs: {},
          // Setting textContent removes every child, as in a browser.
          set textContent(_: string) {
            for (const c of this.children) (c as { parentNode: unknown }).parentNode = null;
            this.children = [];
          },
          get textContent() {
            return "";
          },
          querySelector: (sel: string) => sel === ".kit-plot-static" ? statics.get(id) : null,
          removeChild(c: { parentNode: unknown }) {
            this.children.splice(this.children.indexOf(c), 1);
            c.parentNode = null;
          },
          appendChild(c: { parentNode: unknown }) {
            this.children.push(c);
            c.parentNode = this;
          },
          setAttribute(k: string, v: string) {
            (this.attrs as Record<string, string>)[k] = v;
          },
        };
        block.parentNode = el;
        statics.set(id, block);
        els.set(id, el);
      }
      return els.get(id);
    },
    createElement: () => ({ src: "", className: "", textContent: "" }),
    head: { appendChild: (s: { src: string }) => scripts.push(s) },
  };
  for (const html of htmls) {
    const { script } = parseHtml(html);
    new Function("window", "document", script)(win, doc);
  }
  return {
    drawn,
    scripts,
    required,
    els,
    statics,
    win,
    setWindowPlotly: () => {
      win.Plotly = fakePlotly;
    },
    /** The last script tag loads (plotly.js sets window.Plotly). */
    load: () => {
      win.Plotly = fakePlotly;
      scripts.at(-1)!.onload?.();
    },
    /** The last script tag fails (404, offline). */
    fail: () => scripts.at(-1)!.onerror?.(),
    fakePlotly,
  };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
};

Deno.test("html fallback: a static block names the figure and says how to draw it", () => {
  plot.resetFigureIds();
  const html = plot.line([1, 2], { title: "Loss <i>vs</i> λ & more" }).toMimeBundle()["text/html"];
  const block = /<div class="kit-plot-static">([\s\S]*?)<\/div><!--\/kit-plot-static-->/.exec(html);
  assert.ok(block, "the div holds a static block");
  // Sanitizers (the classic Notebook's for an untrusted notebook) strip scripts and inline
  // styles: what is left must still say something.
  assert.ok(!/style=/.test(block[1]), "no inline style the sanitizer would strip");
  assert.match(block[1], /Figure “Loss vs λ &amp; more”/, "names the figure (tags removed)");
  assert.match(block[1], /run the cell, or trust the notebook/);
  const sl = plot.slider([1, 2, 3].map((k) => ({ label: k, data: plot.line([0, 1], [0, k]) })), {
    sliderLabel: "k",
    active: 1,
  }).toMimeBundle()["text/html"];
  assert.match(sl, /\(k = 2, step 2 of 3\)/, "a slider figure names the step it shows");
  const untitled = plot.bar(["a"], [1]).toMimeBundle()["text/html"];
  assert.match(untitled, /Figure “Plotly figure: 1 trace \(bar\)”/, "untitled: the summary");
});

Deno.test("html fallback: without a Jupyter server, one script tag (the CDN) for all figures", async () => {
  plot.resetFigureIds();
  const h1 = plot.line([1, 2, 3]).toMimeBundle()["text/html"];
  const h2 = plot.line([3, 2, 1]).toMimeBundle()["text/html"];
  const page = runFallback([h1, h2]);
  await settle();
  assert.deepEqual(page.scripts.map((s) => s.src), [plot.PLOTLY_CDN], "one script for two figures");
  assert.deepEqual(page.drawn, [], "nothing drawn before plotly.js loaded");
  page.load();
  await settle();
  assert.deepEqual(page.drawn, [parseHtml(h1).id, parseHtml(h2).id]);
  const el = page.els.get(parseHtml(h1).id)!;
  assert.deepEqual(el.children, [], "the static block gave way to the figure");
  assert.equal(el.attrs["data-kit-plot"], "drawn");
  assert.equal(el.style.height, "420px");
});

Deno.test("html fallback: the kit's copy from the Jupyter server first, the CDN only if it fails", async () => {
  plot.resetFigureIds();
  const html = plot.line([1, 2, 3]).toMimeBundle()["text/html"];
  // JupyterLab and Notebook 7: the base URL from the page config, a script tag.
  const lab = runFallback([html], { base: "/user/ana/", lab: true });
  await settle();
  assert.deepEqual(lab.scripts.map((s) => s.src), ["/user/ana/kernelspecs/deno-kit/plotly.min.js"]);
  lab.load();
  await settle();
  assert.equal(lab.drawn.length, 1, "drawn from the local copy; the CDN never asked");
  assert.equal(lab.scripts.length, 1);

  // The local copy is missing (kernel not installed): then the CDN.
  const missing = runFallback([html], { base: "/", lab: true });
  await settle();
  missing.fail();
  await settle();
  assert.deepEqual(missing.scripts.map((s) => s.src), [
    "/kernelspecs/deno-kit/plotly.min.js",
    plot.PLOTLY_CDN,
  ]);
  missing.load();
  await settle();
  assert.equal(missing.drawn.length, 1);

  // Offline and not installed: both fail; the static block stays and says why.
  const offline = runFallback([html], { base: "/", lab: true });
  await settle();
  offline.fail();
  await settle();
  offline.fail();
  await settle();
  const el = offline.els.get(parseHtml(html).id)!;
  assert.equal(offline.drawn.length, 0);
  assert.equal(el.attrs["data-kit-plot"], "failed");
  assert.equal(el.children[0], offline.statics.get(el.id), "the static block is still shown");
  assert.match(
    (el.children[1] as { textContent: string }).textContent,
    /could not be loaded from \/kernelspecs\/deno-kit\/plotly\.min\.js or https:.*kernel:install/,
  );
  assert.equal(offline.win.__kitPlotly, null, "a later figure tries again");
});

Deno.test("html fallback: require.js in the classic Notebook, window.Plotly when present", async () => {
  plot.resetFigureIds();
  const html = plot.line([1, 2, 3]).toMimeBundle()["text/html"];
  const present = runFallback([html], { plotlyPresent: true, base: "/" });
  await settle();
  assert.equal(present.scripts.length, 0);
  assert.equal(present.drawn.length, 1);

  const amd = runFallback([html], { amd: true, base: "/user/ana b/" });
  await settle();
  assert.equal(amd.scripts.length, 0, "no <script> tag under require.js (mismatched define)");
  assert.deepEqual(amd.required.calls.map((c) => c.mods), [["kit-plotly-local"]]);
  assert.equal(
    amd.required.paths["kit-plotly-local"],
    "/user/ana b/kernelspecs/deno-kit/plotly.min",
    "data-base-url is URL-encoded in the page; the path is decoded",
  );
  assert.equal(amd.drawn.length, 0);
  // plotly.js 4 defines no AMD module: require.js passes undefined, window.Plotly is set.
  amd.setWindowPlotly();
  amd.required.calls[0].cb(undefined);
  await settle();
  assert.equal(amd.drawn.length, 1, "drawn with window.Plotly when the AMD module is empty");

  const fallback = runFallback([html], { amd: true, base: "/" });
  await settle();
  fallback.required.calls[0].err(new Error("404"));
  await settle();
  assert.deepEqual(fallback.required.undef, ["kit-plotly-local"], "a failed module is undefined");
  assert.deepEqual(fallback.required.calls.map((c) => c.mods), [
    ["kit-plotly-local"],
    ["kit-plotly-cdn"],
  ]);
  assert.equal(fallback.required.paths["kit-plotly-cdn"], plot.PLOTLY_CDN.replace(/\.js$/, ""));
  fallback.required.calls[1].cb(fallback.fakePlotly);
  await settle();
  assert.equal(fallback.drawn.length, 1);
});

Deno.test("PLOTLY_VERSION matches the plotly.js-dist-min pinned in deno.json", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(cfg.imports["plotly.js-dist-min"], `npm:plotly.js-dist-min@${plot.PLOTLY_VERSION}`);
  assert.equal(
    cfg.imports["plotly.js-dist-min/"],
    `npm:/plotly.js-dist-min@${plot.PLOTLY_VERSION}/`,
  );
});

Deno.test("typed arrays, tensors and non-finite values become JSON", () => {
  const tensorLike = { data: new Float64Array([1, 2, 3]), shape: [3] };
  const fig = plot.line(new Float64Array([0, 1, 2]), tensorLike);
  assert.deepEqual(fig.data[0].x, [0, 1, 2]);
  assert.deepEqual(fig.data[0].y, [1, 2, 3]);
  const nan = plot.line([1, NaN, Infinity]);
  assert.deepEqual(nan.toJSON().data[0].y, [1, null, null]);
  assert.throws(() => plot.line([1, 2], [1, 2, 3]), /x has 2 values but y has 3/);
});

Deno.test("line and scatter call forms", () => {
  assert.deepEqual(plot.line([5, 6]).data[0].x, [0, 1]);
  const s = plot.line([{ name: "a", y: [1, 2], dash: "dot" }, { name: "b", x: [3, 4], y: [0, 0] }]);
  assert.equal(s.data.length, 2);
  assert.equal((s.data[0].line as { dash: string }).dash, "dot");
  assert.deepEqual(s.data[1].x, [3, 4]);
  assert.equal(s.layout.showlegend, true);
  const opts = plot.line([1, 2], { title: "T", xLabel: "epoch", logY: true });
  assert.equal(opts.title, "T");
  assert.equal((opts.layout.yaxis as { type: string }).type, "log");
  assert.deepEqual((opts.layout.xaxis as { title: unknown }).title, { text: "epoch" });

  const g = plot.scatter([0, 1, 2, 3], [4, 5, 6, 7], {
    groups: [1, 0, 1, 0],
    groupNames: { 0: "no", 1: "yes" },
  });
  assert.deepEqual(g.data.map((t) => t.name), ["no", "yes"]);
  assert.deepEqual(g.data[0].x, [1, 3]);
  assert.deepEqual(g.data[1].y, [4, 6]);
  assert.equal(g.data[0].mode, "markers");
  assert.throws(() => plot.scatter([1, 2], [1, 2], { groups: [0] }), /one label per point/);
});

Deno.test("slider: one frame per value, steps animate to them, fixed ranges", () => {
  const xs = [0, 1, 2, 3];
  const ks = [0.5, 1, 2];
  const fig = plot.slider(
    ks.map((k) => ({ label: k, data: plot.line(xs, xs.map((x) => k * x), { title: `k=${k}` }) })),
    { sliderLabel: "k", title: "Sweep", active: 1 },
  );
  assert.equal(fig.frames.length, 3);
  assert.deepEqual(fig.frames.map((f) => f.name), ["0.5", "1", "2"]);
  assert.deepEqual(fig.frames[2].data[0].y, [0, 2, 4, 6]);
  const sliders = fig.layout.sliders as {
    active: number;
    steps: { label: string; method: string; args: unknown[] }[];
    currentvalue: { prefix: string };
  }[];
  assert.equal(sliders.length, 1);
  assert.equal(sliders[0].active, 1);
  assert.deepEqual(sliders[0].steps.map((s) => s.label), ["0.5", "1", "2"]);
  assert.ok(
    sliders[0].steps.every((s, i) =>
      s.method === "animate" && (s.args[0] as string[])[0] === fig.frames[i].name
    ),
  );
  assert.equal(sliders[0].currentvalue.prefix, "k = ");
  assert.deepEqual(fig.data[0].y, [0, 1, 2, 3], "initial data is the active frame");
  assert.equal(fig.title, "Sweep");
  const yr = (fig.layout.yaxis as { range: number[] }).range;
  assert.ok(yr[0] <= 0 && yr[1] >= 6, `y range ${yr} covers every frame`);
  const json = fig.toMimeBundle()["application/vnd.plotly.v1+json"];
  assert.equal(json.frames?.length, 3);
  assert.match(fig.summary, /3 frames \(slider: k\)/);
  assert.throws(
    () => plot.slider([{ label: "a", data: [{ y: [1] }] }, { label: "b", data: [] }]),
    /frame 1 \(label b\) has 0 traces but frame 0 has 1/,
  );
});

Deno.test("trainingCurves: records, columns, several runs", () => {
  const records = [1, 2, 3].map((epoch) => ({
    epoch,
    trainLoss: 1 / epoch,
    valLoss: 1.5 / epoch,
    lr: 0.1,
  }));
  const one = plot.trainingCurves(records);
  assert.equal(one.data.length, 2);
  assert.deepEqual(one.data.map((t) => t.name), ["train", "validation"]);
  assert.deepEqual(one.data[1].y, [1.5, 0.75, 0.5]);
  assert.deepEqual(one.data[0].x, [1, 2, 3]);
  assert.equal((one.data[1].line as { dash: string }).dash, "dash");

  const columnar = {
    train_loss: [3, 2],
    val_loss: [4, 3],
    train_acc: [0.5, 0.6],
    val_acc: [0.4, 0.5],
  };
  const two = plot.trainingCurves({ small: columnar, big: columnar }, { title: "Runs" });
  assert.equal(two.data.length, 8);
  assert.deepEqual(
    two.data.slice(0, 4).map((t) => t.name),
    ["small (train)", "small (validation)", "big (train)", "big (validation)"],
  );
  assert.equal(two.data[4].xaxis, "x2", "accuracy in the second panel");
  assert.equal(two.title, "Runs");
  assert.deepEqual(two.data[0].x, [1, 2], "epochs count from 1 without an epoch key");

  const lr = plot.trainingCurves(records, { metrics: ["lr"] });
  assert.deepEqual(lr.data[0].y, [0.1, 0.1, 0.1]);
  assert.throws(() => plot.trainingCurves(records, { metrics: ["acc"] }), /has no "acc"/);
});

Deno.test("contourPaths samples f on the grid and draws the paths", () => {
  const f = (x: number, y: number) => x * x + 10 * y * y;
  const path = { data: new Float64Array([1, 1, 0.5, -0.5, 0, 0]), shape: [3, 2] };
  const fig = plot.contourPaths(f, {
    xRange: [-1, 1],
    yRange: [-2, 2],
    resolution: 5,
    paths: [{ name: "sgd", points: path }, { name: "adam", points: { x: [1, 0], y: [1, 0] } }],
    minimum: [0, 0],
  });
  const c = fig.data[0] as { x: number[]; y: number[]; z: number[][] };
  assert.deepEqual(c.x, [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(c.y, [-2, -1, 0, 1, 2]);
  assert.equal(c.z[1][3], f(0.5, -1), "z[row j][col i] = f(x_i, y_j)");
  assert.deepEqual(fig.data[1].x, [1, 0.5, 0]);
  assert.deepEqual(fig.data[1].y, [1, -0.5, 0]);
  assert.equal(fig.data[2].name, "adam");
  assert.equal(fig.data[3].name, "minimum");
  const log = plot.contourPaths(f, {
    xRange: [-1, 1],
    yRange: [-1, 1],
    resolution: 3,
    logScale: true,
  });
  assert.equal((log.data[0] as { z: number[][] }).z[1][1], -12, "log10(min - min + 1e-12)");
});

Deno.test("heatmap, surface3d and subplots", () => {
  const hm = plot.heatmap({ data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] }, {
    diverging: true,
  });
  assert.deepEqual(hm.data[0].z, [[1, 2, 3], [4, 5, 6]]);
  assert.equal(hm.data[0].zmid, 0);
  assert.equal(hm.data[0].reversescale, undefined, "RdBu as is: negative blue, positive red");
  assert.equal((hm.layout.xaxis as { dtick: number }).dtick, 1, "index axes tick integers");
  const labelled = plot.heatmap([[1, 2]], { x: ["a", "b"], y: ["r"] });
  assert.equal((labelled.layout.xaxis as { dtick?: number }).dtick, undefined);
  assert.equal((hm.layout.yaxis as { autorange: unknown }).autorange, "reversed");
  assert.throws(() => plot.heatmap({ data: [1, 2], shape: [2] }), /expected a 2-D grid/);

  const s = plot.surface3d((x, y) => x + y, {
    xRange: [0, 1],
    yRange: [0, 2],
    resolution: 3,
    paths: [{ name: "p", points: [[0, 0], [1, 2]] }],
  });
  assert.deepEqual(s.data[0].z, [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]]);
  assert.equal(s.data[1].type, "scatter3d");
  assert.deepEqual(s.data[1].z, [0, 3]);
  assert.throws(() => plot.surface3d((x) => x), /xRange/);

  const sp = plot.subplots([plot.line([1, 2]), plot.line([2, 1]), plot.line([0, 0])], { cols: 2 });
  assert.deepEqual(sp.data.map((t) => t.xaxis), ["x", "x2", "x3"]);
  assert.deepEqual(sp.data.map((t) => t.showlegend), [false, false, false], "no 'trace 0' legend");
  const ya = sp.layout.yaxis3 as { domain: number[]; anchor: string };
  assert.equal(ya.anchor, "x3");
  assert.ok(
    ya.domain[1] < (sp.layout.yaxis as { domain: number[] }).domain[0],
    "row 2 below row 1",
  );
  assert.throws(() => plot.subplots([s]), /3-D/);
});

Deno.test("histogram and bar", () => {
  const h = plot.histogram([1, 2, 2, 3], { bins: 3, density: true });
  assert.equal(h.data[0].type, "histogram");
  assert.equal(h.data[0].nbinsx, 3);
  assert.equal(h.data[0].histnorm, "probability density");
  const b = plot.bar(["a", "b"], { x: [1, 2], y: [3, 4] });
  assert.deepEqual(b.data.map((t) => t.name), ["x", "y"]);
  assert.throws(() => plot.bar(["a"], [1, 2]), /labels has 1 values but values has 2/);
});

Deno.test("trainingCurves takes fit()'s History: empty arrays absent, best epoch starred", () => {
  // Typed as the interface (no index signature): this must type-check without a spread.
  const history: History = {
    epoch: [0, 1, 2, 3],
    trainLoss: [1, 0.6, 0.4, 0.3],
    valLoss: [1.1, 0.7, 0.65, 0.8],
    trainAcc: [],
    valAcc: [],
    lr: [0.1, 0.1, 0.1, 0.1],
    weightNorm: [1, 2, 3, 4],
    timeMs: [5, 5, 5, 5],
    stepLoss: [1, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    stoppedEarly: true,
    bestEpoch: 2,
  };
  const fig = plot.trainingCurves(history);
  assert.deepEqual(fig.data.map((t) => t.name), ["train", "validation", "best epoch"]);
  assert.deepEqual(fig.data[0].x, [0, 1, 2, 3], "the epoch column is the x axis");
  assert.deepEqual(fig.data[2].x, [2]);
  assert.deepEqual(fig.data[2].y, [0.65]);
  const steps = plot.trainingCurves(history, { metrics: ["stepLoss"] });
  assert.deepEqual(steps.data[0].x, [1, 2, 3, 4, 5, 6, 7, 8], "steps are not epochs");
  assert.throws(() => plot.trainingCurves(history, { metrics: ["acc"] }), /has no "acc"/);
});

Deno.test("decisionBoundary: one batch over the grid, the level line, the classes", () => {
  let calls = 0;
  const predict = (pts: number[][]) => {
    calls++;
    return { data: Float64Array.from(pts, ([x, y]) => (x > y ? 0.9 : 0.1)) };
  };
  const fig = plot.decisionBoundary(predict, {
    xRange: [0, 1],
    yRange: [0, 2],
    resolution: 3,
    level: 0.5,
    points: { x: [0, 1], y: [1, 0], groups: [1, 0] },
  });
  assert.equal(calls, 1, "predict is called once, with every grid point");
  const grid = fig.data[0] as { z: number[][]; zmin: number; zmax: number };
  // rows are y = 0, 1, 2; columns x = 0, 0.5, 1
  assert.deepEqual(grid.z, [[0.1, 0.9, 0.9], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]]);
  assert.deepEqual([grid.zmin, grid.zmax], [0, 1], "probabilities span [0, 1]");
  assert.deepEqual((fig.data[1] as { contours: unknown }).contours, {
    start: 0.5,
    end: 0.5,
    size: 1,
    coloring: "none",
  });
  assert.deepEqual(fig.data.slice(2).map((t) => [t.name, t.x]), [["0", [1]], ["1", [0]]]);
  assert.throws(
    () => plot.decisionBoundary(() => [1, 2], { xRange: [0, 1], yRange: [0, 1], resolution: 2 }),
    /returned 2 scores for 4 points/,
  );
});

Deno.test("tensors from lib/tensor.ts plot directly", async () => {
  const { tensor } = await import("@kit/tensor.ts");
  const fig = plot.line(tensor([0, 1, 2]), tensor([[1], [4], [9]]));
  assert.deepEqual(fig.data[0].x, [0, 1, 2]);
  assert.deepEqual(fig.data[0].y, [1, 4, 9], "an [n, 1] tensor is a series of n values");
  const hm = plot.heatmap(tensor([[1, 2], [3, 4]]));
  assert.deepEqual(hm.data[0].z, [[1, 2], [3, 4]]);
  const path = plot.contourPaths((x, y) => x + y, {
    xRange: [0, 1],
    yRange: [0, 1],
    resolution: 2,
    paths: [{ name: "p", points: tensor([[0, 0], [1, 1]]) }],
  });
  assert.deepEqual(path.data[1].x, [0, 1]);
});

Deno.test("subplots: one legend entry per name and colour, grouped across panels", () => {
  const panel = () =>
    plot.line([{ name: "train", y: [1, 2] }, { name: "val", y: [2, 3] }, { y: [0, 0] }]);
  const fig = plot.subplots([
    panel(),
    panel(),
    plot.line([{ name: "train", y: [1], color: "#000" }]),
  ]);
  const shown = fig.data.filter((t) => t.showlegend !== false).map((t) => t.name);
  assert.deepEqual(
    shown,
    ["train", "val", "train"],
    "repeats hidden; a differently coloured train stays",
  );
  assert.equal(
    fig.data[0].legendgroup,
    fig.data[3].legendgroup,
    "train in both panels toggles together",
  );
  assert.notEqual(fig.data[0].legendgroup, fig.data[6].legendgroup);
  assert.equal(fig.data[2].showlegend, false, "unnamed traces stay out of the legend");
});

Deno.test("a slider with a title keeps the template's top margin (its frames' own is dropped)", () => {
  const frames = [1, 2].map((k) => ({ label: k, data: plot.line([0, 1], [0, k]) }));
  const titled = plot.slider(frames, { title: "A title" });
  assert.equal((titled.layout.margin as { t: number }).t, 56, "room for the title");
  const untitled = plot.slider(frames);
  assert.equal((untitled.layout.margin as { t: number }).t, 24);
});
