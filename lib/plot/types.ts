/**
 * Constants and types shared by the plot builders: the pinned plotly.js, the palette, traces,
 * layouts and the options every builder takes.
 *
 * @module
 */
/** Version of plotly.js the kit pins (npm `plotly.js-dist-min`); the HTML fallback loads it. */
export const PLOTLY_VERSION = "4.1.2";

/**
 * Where the kit's own copy of plotly.js is served, relative to the Jupyter server's base URL:
 * `deno task kernel:install` puts `plotly.min.js` into the kit kernel's kernelspec folder
 * (`kernels/deno-kit/`), and every Jupyter server (the classic Notebook, nbclassic, Jupyter
 * Server under JupyterLab and Notebook 7) serves a kernelspec's files at
 * `<base_url>kernelspecs/<kernel>/<file>`. The HTML fallback tries this first.
 */
export const PLOTLY_KERNELSPEC_PATH = "kernelspecs/deno-kit/plotly.min.js";

/**
 * Last resort of the HTML fallback when the page has no `window.Plotly` and the kit's copy
 * cannot be loaded (no Jupyter server, or the kit's kernel not installed): needs the network.
 */
export const PLOTLY_CDN =
  `https://cdn.jsdelivr.net/npm/plotly.js-dist-min@${PLOTLY_VERSION}/plotly.min.js`;

/** MIME type of a Plotly figure in Jupyter outputs. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/**
 * Okabe-Ito palette (colour-blind safe), in the order traces get them. Yellow is replaced by
 * grey, which reads better on white.
 */
export const COLORS: readonly string[] = [
  "#0072B2", // blue
  "#D55E00", // vermillion
  "#009E73", // bluish green
  "#CC79A7", // reddish purple
  "#E69F00", // orange
  "#56B4E9", // sky blue
  "#000000", // black
  "#999999", // grey
];

/** One Plotly trace (`{type: "scatter", x, y, ...}`); see https://plotly.com/javascript/reference/. */
export type Trace = Record<string, unknown>;
/** A Plotly layout object. */
export type Layout = Record<string, unknown>;
/** A Plotly config object (`{responsive, displaylogo, ...}`). */
export type Config = Record<string, unknown>;
/** One animation frame: a name and the trace data (and optionally layout) it shows. */
export interface Frame {
  name: string;
  data: Trace[];
  layout?: Layout;
}

/** What {@link figure} takes: Plotly's figure object. */
export interface FigureSpec {
  data: Trace[];
  layout?: Layout;
  config?: Config;
  frames?: Frame[];
}

/** The JSON form of a figure: exactly what `Plotly.newPlot(div, figure)` accepts. */
export interface FigureJSON {
  data: Trace[];
  layout: Layout;
  config: Config;
  frames?: Frame[];
}

/**
 * A Jupyter MIME bundle as returned by `[Symbol.for("Jupyter.display")]()`. `image/png` (base64)
 * is never made by the kernel: `deno task handouts` adds it to the executed notebooks.
 */
export interface MimeBundle {
  "application/vnd.plotly.v1+json": FigureJSON;
  "text/html": string;
  "text/plain": string;
  "image/png"?: string;
}

/**
 * Numbers a builder accepts: a plain array, a typed array, or anything with a `data` array
 * (a 1-D `Tensor`, or any tensor whose flattened data is the series).
 */
export type Numbers = ArrayLike<number> | { readonly data: ArrayLike<number> };

/** A 2-D grid of values: rows of numbers, or a 2-D tensor (`{data, shape: [rows, cols]}`). */
export type Grid =
  | readonly ArrayLike<number>[]
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

/** Options every builder understands. */
export interface PlotOptions {
  /** Figure title. */
  title?: string;
  /** Horizontal axis title. */
  xLabel?: string;
  /** Vertical axis title. */
  yLabel?: string;
  /** Logarithmic horizontal axis. */
  logX?: boolean;
  /** Logarithmic vertical axis. */
  logY?: boolean;
  /** Fixed horizontal range `[min, max]` (in data units, also for log axes). */
  xRange?: readonly [number, number];
  /** Fixed vertical range `[min, max]` (in data units, also for log axes). */
  yRange?: readonly [number, number];
  /** Height in pixels (default 420). Width follows the page. */
  height?: number;
  /** Fixed width in pixels (default: responsive). */
  width?: number;
  /** Show the legend (default: when there is more than one named trace). */
  showLegend?: boolean;
  /** Extra Plotly layout, deep-merged last (wins over everything above). */
  layout?: Layout;
}

/** A named series for {@link line} and {@link scatter}. */
export interface Series {
  /** Legend entry. */
  name?: string;
  /** Horizontal coordinates (default 0, 1, 2, ...). */
  x?: Numbers;
  /** Vertical coordinates. */
  y: Numbers;
  /** Line/marker colour (default: next colour of the palette). */
  color?: string;
  /** Line dash style. */
  dash?: "solid" | "dash" | "dot" | "dashdot" | "longdash";
  /** Plotly drawing mode (default "lines" for line, "markers" for scatter). */
  mode?: "lines" | "markers" | "lines+markers";
  /** Extra trace properties, merged last. */
  trace?: Trace;
}
