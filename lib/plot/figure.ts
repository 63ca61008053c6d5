/**
 * The {@link Figure} class (a Plotly figure that displays itself in Jupyter), {@link figure} for
 * raw Plotly specs, {@link display} and deterministic figure ids.
 *
 * @module
 */
import { deepMerge, isPlainObject, styleAxes, templateLayout } from "./_template.ts";
import { fallbackHtml, figureName, fnv1a, sliderPrefix, sliderStep } from "./html.ts";
import {
  type Config,
  type FigureJSON,
  type FigureSpec,
  type Frame,
  type Layout,
  type MimeBundle,
  PLOTLY_MIME,
  type Trace,
} from "./types.ts";

// ---------------------------------------------------------------------------------------------
// Figure

const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

let figureCounter = 0;

/**
 * Restart figure ids at `kit-plot-<hash>-1`. Figure ids only depend on the figure content and
 * on how many bundles were made before, so a fresh kernel already starts at 1; call this in
 * tests that compare bundles.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * plot.resetFigureIds();
 * const a = plot.line([1, 2, 3]).toMimeBundle()["text/html"];
 * plot.resetFigureIds();
 * const b = plot.line([1, 2, 3]).toMimeBundle()["text/html"];
 * assert.strictEqual(a, b, "ids should repeat after a reset");
 * ```
 */
export function resetFigureIds(): void {
  figureCounter = 0;
}

/**
 * A Plotly figure. Build one with {@link figure} or any other builder of this module; display
 * it by making it the last expression of a notebook cell (or with {@link display}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.figure({ data: [{ type: "bar", x: ["a", "b"], y: [3, 5] }] });
 * const bundle = fig.toMimeBundle();
 * assert.strictEqual(bundle["application/vnd.plotly.v1+json"].data.length, 1);
 * ```
 */
export class Figure {
  /** Traces, in drawing order. */
  readonly data: Trace[];
  /** Layout, with the kit's template merged in. */
  readonly layout: Layout;
  /** Plotly config (responsive, no logo). */
  readonly config: Config;
  /** Animation frames (slider figures), empty otherwise. */
  readonly frames: Frame[];

  /** Prefer {@link figure}, which applies the kit's template; this constructor takes the spec as is. */
  constructor(spec: FigureSpec) {
    this.data = spec.data.map((t) => sanitize(t) as Trace);
    this.layout = sanitize(spec.layout ?? {}) as Layout;
    this.config = sanitize(spec.config ?? {}) as Config;
    this.frames = (spec.frames ?? []).map((f) => sanitize(f) as Frame);
  }

  /** The figure as Plotly JSON (`frames` only when there are some). */
  toJSON(): FigureJSON {
    const out: FigureJSON = { data: this.data, layout: this.layout, config: this.config };
    if (this.frames.length > 0) out.frames = this.frames;
    return out;
  }

  /** The figure title, or "" when there is none. */
  get title(): string {
    const t = this.layout.title;
    if (typeof t === "string") return t;
    if (isPlainObject(t) && typeof t.text === "string") return t.text;
    return "";
  }

  /** One-line description: title, trace count and types, frames. */
  get summary(): string {
    const counts = new Map<string, number>();
    for (const t of this.data) {
      const type = typeof t.type === "string" ? t.type : "scatter";
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
    const types = [...counts].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(", ");
    const n = this.data.length;
    let s = `Plotly figure${this.title ? ` "${this.title}"` : ""}: ${n} trace${n === 1 ? "" : "s"}`;
    if (n > 0) s += ` (${types})`;
    if (this.frames.length > 0) {
      const label = sliderPrefix(this.layout);
      s += `, ${this.frames.length} frames${label ? ` (slider: ${label})` : ""}`;
    }
    return s;
  }

  /**
   * A copy with `layout` deep-merged into this figure's layout.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import * as plot from "@kit/plot.ts";
   * const fig = plot.line([1, 4, 9]).withLayout({ title: { text: "Squares" } });
   * assert.strictEqual(fig.title, "Squares");
   * ```
   */
  withLayout(layout: Layout): Figure {
    return new Figure({
      data: this.data,
      layout: deepMerge(this.layout, layout),
      config: this.config,
      frames: this.frames,
    });
  }

  /**
   * The MIME bundle Jupyter displays. Each call takes the next deterministic id for the HTML
   * fallback's `<div>`.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import * as plot from "@kit/plot.ts";
   * const b = plot.scatter([1, 2], [3, 4], { title: "Two points" }).toMimeBundle();
   * assert.match(b["text/plain"], /Two points/, "the text summary names the title");
   * ```
   */
  toMimeBundle(): MimeBundle {
    const json = this.toJSON();
    const text = JSON.stringify(json);
    figureCounter += 1;
    const id = `kit-plot-${fnv1a(text)}-${figureCounter}`;
    const summary = this.summary;
    const name = figureName(this.layout, summary);
    return {
      [PLOTLY_MIME]: json,
      "text/html": fallbackHtml(id, text, this.layout, name, sliderStep(this.layout)),
      "text/plain": summary,
    } as MimeBundle;
  }

  /** Called by the Deno Jupyter kernel to display the figure. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.toMimeBundle();
  }
}

/**
 * A figure from raw Plotly data and layout, with the kit's template (fonts, palette, grid,
 * margins) merged under your layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.figure({
 *   data: [{ type: "scatter", mode: "lines", x: [0, 1, 2], y: [0, 1, 4], name: "x^2" }],
 *   layout: { title: { text: "A parabola" }, yaxis: { title: { text: "y" } } },
 * });
 * assert.strictEqual(fig.title, "A parabola");
 * ```
 */
export function figure(spec: FigureSpec): Figure {
  // A title object without text (the template's styling, carried by a slider's first frame)
  // is no title: it needs no room.
  const t = spec.layout?.title;
  const hasTitle = typeof t === "string" || (isPlainObject(t) && t.text !== undefined);
  const base = deepMerge(templateLayout(hasTitle), spec.layout ?? {});
  styleAxes(base);
  return new Figure({
    data: spec.data,
    layout: base,
    config: { responsive: true, displaylogo: false, ...spec.config },
    frames: spec.frames,
  });
}

/**
 * Displays figures from anywhere in a cell (not only as its last expression). In the Deno
 * kernel this calls `Deno.jupyter.display`; elsewhere (under `deno test`) it does nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * // outside `deno jupyter` there is nowhere to display to: it returns quietly
 * await assert.doesNotReject(plot.display(plot.line([1, 2, 3]), plot.line([3, 2, 1])));
 * ```
 */
export async function display(...figures: Figure[]): Promise<void> {
  let jupyter: { display(obj: unknown): Promise<void> } | undefined;
  try {
    // The getter throws outside `deno jupyter`.
    jupyter = (Deno as unknown as { jupyter?: typeof jupyter }).jupyter;
  } catch {
    return;
  }
  if (typeof jupyter?.display !== "function") return;
  for (const f of figures) await jupyter.display(f);
}

/**
 * A JSON-ready deep copy: typed arrays become plain arrays, tensors (`{data, shape}` class
 * instances) become nested arrays via their `toArray()`, non-finite numbers become null.
 */
function sanitize(v: unknown): unknown {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (v === null || typeof v !== "object") return v;
  if (ArrayBuffer.isView(v)) {
    return Array.from(v as unknown as ArrayLike<number>, (x) => sanitize(x));
  }
  if (Array.isArray(v)) return v.map(sanitize);
  if (!isPlainObject(v)) {
    const t = v as { toArray?: () => unknown; data?: unknown };
    if (typeof t.toArray === "function") return sanitize(t.toArray());
    if (ArrayBuffer.isView(t.data)) return sanitize(t.data);
    if (v instanceof Figure) return v.toJSON();
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as object)) {
    if (x !== undefined) out[k] = sanitize(x);
  }
  return out;
}
