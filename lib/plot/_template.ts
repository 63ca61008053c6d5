/**
 * The shared look (palette, font, axes) and the JSON helpers the builders use: internal, not re-
 * exported.
 *
 * @module
 */
import { COLORS, type Layout, type PlotOptions, type Trace } from "./types.ts";

const FONT =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';

/**
 * One legend for all panels: unnamed traces stay out (they would show as "trace 3"), and a trace
 * with the name and colour of one listed already joins its legend group instead of repeating
 * it, so one click hides "train" in every panel.
 */
export function sharedLegend(t: Trace, inLegend: Set<string>): Partial<Trace> {
  if (t.name === undefined) return { showlegend: false };
  const style = (t.line as { color?: unknown } | undefined)?.color ??
    (t.marker as { color?: unknown } | undefined)?.color ?? "";
  const key = `${t.name}|${String(style)}`;
  const group = { legendgroup: t.legendgroup ?? key };
  if (t.showlegend === false) return group;
  if (inLegend.has(key)) return { ...group, showlegend: false };
  inLegend.add(key);
  return group;
}

export function templateLayout(hasTitle: boolean): Layout {
  return {
    font: { family: FONT, size: 13, color: "#1f2937" },
    colorway: [...COLORS],
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    margin: { l: 64, r: 24, t: hasTitle ? 56 : 24, b: 56 },
    height: 420,
    autosize: true,
    hovermode: "closest",
    legend: { bgcolor: "rgba(255,255,255,0.8)", borderwidth: 0 },
    hoverlabel: { font: { family: FONT } },
    title: { x: 0.02, xanchor: "left", font: { size: 16 } },
  };
}

const AXIS_STYLE = {
  gridcolor: "#e5e7eb",
  zerolinecolor: "#cbd5e1",
  linecolor: "#9ca3af",
  showline: true,
  ticks: "outside",
  tickcolor: "#9ca3af",
  automargin: true,
};

/** Axis style under every cartesian axis the layout names (xaxis, yaxis2, ...). */
export function styleAxes(layout: Layout): void {
  const names = new Set(["xaxis", "yaxis"]);
  for (const k of Object.keys(layout)) if (/^[xy]axis\d*$/.test(k)) names.add(k);
  for (const k of [...names].sort()) {
    const cur = isPlainObject(layout[k]) ? layout[k] as Layout : {};
    layout[k] = deepMerge(AXIS_STYLE, cur);
  }
}

/** Keys the template sets; dropped when a frame's figure layout seeds a slider's layout. */
export function stripTemplateKeys(layout: Layout): Layout {
  const out: Layout = {};
  for (const [k, v] of Object.entries(layout)) {
    // The frame's own margin was made for its own title (or none): the slider's template decides.
    if (k === "height" || k === "width" || k === "margin") continue;
    if (/^[xy]axis\d*$/.test(k) && isPlainObject(v)) {
      const { range: _r, ...axis } = v;
      out[k] = axis;
    } else out[k] = v;
  }
  return out;
}

export function applyOptions(layout: Layout, o: PlotOptions): Layout {
  const l: Layout = {};
  if (o.title !== undefined) l.title = { text: o.title };
  const xa: Layout = {};
  const ya: Layout = {};
  if (o.xLabel !== undefined) xa.title = { text: o.xLabel };
  if (o.yLabel !== undefined) ya.title = { text: o.yLabel };
  if (o.logX) xa.type = "log";
  if (o.logY) ya.type = "log";
  if (o.xRange) xa.range = o.logX ? o.xRange.map(Math.log10) : [...o.xRange];
  if (o.yRange) ya.range = o.logY ? o.yRange.map(Math.log10) : [...o.yRange];
  if (Object.keys(xa).length) l.xaxis = xa;
  if (Object.keys(ya).length) l.yaxis = ya;
  if (o.height !== undefined) l.height = o.height;
  if (o.width !== undefined) l.width = o.width;
  if (o.showLegend !== undefined) l.showlegend = o.showLegend;
  return deepMerge(deepMerge(layout, l), o.layout ?? {});
}

export function round6(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) {
    return false;
  }
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Recursive merge of plain objects; arrays and other values of `b` replace those of `a`. */
export function deepMerge(a: Layout, b: Layout): Layout {
  const out: Layout = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}
