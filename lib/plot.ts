/**
 * Plotly figures for notebooks and handouts.
 *
 * Every builder returns a {@link Figure}. As the last expression of a notebook cell it displays
 * inline: the Deno kernel calls its `[Symbol.for("Jupyter.display")]()` method, which returns a
 * MIME bundle with
 *
 * - `application/vnd.plotly.v1+json`: `{data, layout, config, frames?}`, drawn natively by
 *   JupyterLab (with the Plotly extension), VS Code and our HTML handouts;
 * - `text/html`: a `<div>` holding text that names the figure (where scripts do not run: an
 *   untrusted notebook, nbconvert's HTML without JavaScript), plus a script that replaces it
 *   with the drawn figure once plotly.js is there: `window.Plotly`, else the kit's copy that
 *   `deno task kernel:install` lets the Jupyter server serve
 *   ({@link PLOTLY_KERNELSPEC_PATH}, offline), else the CDN;
 * - `text/plain`: a one-line summary (title, traces, frames) for terminals and logs.
 *
 * `deno task handouts` adds a static image of each figure to the executed notebooks in
 * `dist/notebooks/`: as `image/png` and inside the `text/html`'s static block.
 *
 * Outside the kernel (under `deno test`) a figure is a plain object: inspect `fig.data`,
 * `fig.layout`, `fig.toJSON()` or `fig.toMimeBundle()`.
 *
 * Figure ids are deterministic: `kit-plot-<hash of the figure>-<n>`, where `n` counts the
 * bundles made since the kernel started (or since {@link resetFigureIds}), so the same notebook
 * gives byte-identical outputs on every run.
 *
 * All builders share one template: the Okabe-Ito colour-blind-safe palette ({@link COLORS}),
 * the system font stack, light grid lines, and Viridis for colour scales.
 *
 * In a notebook, import the namespace: `import { plot } from "@kit/mod.ts"`, then
 *
 * | builder | draws |
 * | --- | --- |
 * | `line(y)`, `line(x, y)`, `line(x, {name: y})`, `line([{name, x, y, dash}])` | curves |
 * | `scatter(...)` (same forms), `scatter(x, y, {groups})` | points, one colour per class |
 * | `histogram(values \| {name: values}, {bins})`, `bar(labels, values \| {name: values})` | distributions, comparisons |
 * | `trainingCurves(history \| {run: history}, {metrics})` | train vs validation, runs overlaid |
 * | `contourPaths(f, {xRange, yRange, paths})` | optimizer paths on a 2-D loss surface |
 * | `surface3d(f, {xRange, yRange, paths})` | a loss landscape in 3-D |
 * | `heatmap(matrix, {x, y, diverging})` | weights, confusion matrices, 2-D sweeps |
 * | `decisionBoundary(predictBatch, {xRange, yRange, points})` | a binary classifier on 2-D data |
 * | `slider([{label, data: figure}], {sliderLabel})` | one frame per swept hyperparameter value |
 * | `subplots([figures], {cols})`, `figure({data, layout})` | panels, raw Plotly |
 *
 * Every builder takes the common {@link PlotOptions} (`title`, `xLabel`, `yLabel`, `logX`,
 * `logY`, `xRange`, `yRange`, `height`, `layout`). Numbers may be arrays, typed arrays or 1-D
 * tensors. To show several figures from one cell, `await plot.display(a, b)`.
 *
 * @module
 */

export * from "./plot/mod.ts";
