// deno-lint-ignore-file -- a classic browser script (ES5, window globals), not a Deno module
/* Course kit handouts: the page's own script (the only script a page runs besides plotly.js).
 *
 * - Draws every figure from its JSON (`script.plot-data`), with a config built here: nothing
 *   from the notebook decides what the figure may load. Long titles wrap at every width.
 * - Below NARROW px of width, lays figures out for a phone: smaller fonts and margins, wrapped
 *   titles, the legend and colour bars below the plot, subplot grids in one column (two for
 *   image grids), then, once drawn, fewer or upright tick labels where they still collide.
 *   Redraws (one figure at a time) when the width changes.
 * - Before printing (`beforeprint`, or `kitPreparePrint()` called by the PDF writer), opens
 *   folded code (paper cannot unfold it), adds a small-multiples grid of every step under each
 *   slider figure (each panel names its step), which print shows instead of the interactive
 *   figure, and caps figures at about half a page.
 * - Slider frames' own titles wrap like the figure's, so moving the slider never brings back a
 *   title cut at the figure's edge. The mode bar is off on phones and touch screens and kept
 *   clear of titles elsewhere.
 * - A figure that fails to draw gets `data-rendered="error"` and `data-error`.
 */
(function () {
  "use strict";
  var NARROW = 600;
  var figures = [];

  function clone(v) {
    return JSON.parse(JSON.stringify(v));
  }

  function titleText(t) {
    if (typeof t === "string") return t;
    if (t && typeof t.text === "string") return t.text;
    return "";
  }

  /** Greedy word wrap of a Plotly label (keeps its own <br>s), at most `n` characters a line. */
  function wrap(text, n) {
    var out = [];
    text.split(/<br\s*\/?>/i).forEach(function (para) {
      var line = "";
      para.split(/\s+/).forEach(function (w) {
        var visible = function (s) {
          return s.replace(/<[^>]*>/g, "").length;
        };
        if (line && visible(line) + 1 + visible(w) > n) {
          out.push(line);
          line = w;
        } else line = line ? line + " " + w : w;
      });
      out.push(line);
    });
    return out;
  }

  /** The frames with each frame's own title replaced by `make(title, text)`; others as they are. */
  function wrapFrameTitles(frames, make) {
    if (!Array.isArray(frames)) return frames;
    return frames.map(function (fr) {
      var own = fr && fr.layout && titleText(fr.layout.title);
      if (!own) return fr;
      var copy = Object.assign({}, fr, { layout: Object.assign({}, fr.layout) });
      copy.layout.title = make(fr.layout.title, own);
      return copy;
    });
  }

  /** The most lines any title of the figure (its own, or a frame's) wraps to at `n` characters. */
  function maxTitleLines(title, frames, n) {
    var most = title ? wrap(title, n).length : 0;
    (frames || []).forEach(function (fr) {
      var own = fr && fr.layout && titleText(fr.layout.title);
      if (own) most = Math.max(most, wrap(own, n).length);
    });
    return most;
  }

  /**
   * Top padding of a title anchored at the top of the figure. Plotly puts the first baseline of a
   * title of several lines at the padding (its first line then sticks out above by about a font
   * size), and a one-line title's top there: measured with plotly.js 4.1.
   */
  function titlePad(lines, size) {
    return lines > 1 ? 8 + size : 10;
  }

  /** Where a title placed with {@link titlePad} ends, in px from the top of the figure. */
  function titleBottom(lines, size, lineHeight) {
    return lines > 1
      ? titlePad(lines, size) + (lines - 1) * lineHeight + Math.round(size * 0.3)
      : titlePad(lines, size) + lineHeight;
  }

  /** The grid of 2-D subplots: axis suffixes ("", "2", ...) with their domains. */
  function panelsOf(layout) {
    var panels = [];
    Object.keys(layout).forEach(function (k) {
      var m = /^xaxis(\d*)$/.exec(k);
      if (!m) return;
      var xa = layout[k] || {};
      var ya = layout["yaxis" + m[1]] || {};
      if (!Array.isArray(xa.domain) || !Array.isArray(ya.domain)) return;
      panels.push({ suffix: m[1], x: xa.domain, y: ya.domain });
    });
    panels.sort(function (a, b) {
      return (b.y[1] - a.y[1]) || (a.x[0] - b.x[0]);
    });
    return panels;
  }

  /** A copy of the figure laid out for a narrow screen of `width` px. */
  function narrowFigure(fig, width) {
    var layout = clone(fig.layout || {});
    var font = layout.font || {};
    layout.font = Object.assign({}, font, { size: Math.min(font.size || 12, 11) });
    var margin = layout.margin || {};
    var top = margin.t == null ? 60 : margin.t;
    var bottom = margin.b == null ? 50 : margin.b;
    var height = layout.height || 420;
    var chars = Math.max(18, Math.floor((width - 40) / 7.5));

    var title = titleText(layout.title);
    var extraTop = 0;
    var frames = fig.frames;
    if (title) {
      var multi = panelsOf(layout).length > 1;
      var lines = maxTitleLines(title, fig.frames, chars);
      var pad = titlePad(lines, 14);
      var narrowTitle = function (t, text) {
        t = typeof t === "object" && t ? t : {};
        return Object.assign({}, t, {
          text: wrap(text, chars).join("<br>"),
          font: Object.assign({}, t.font || {}, { size: 14 }),
          x: 0.02,
          xanchor: "left",
          // At the top of the figure; the top margin makes room for every line, a gap, half a
          // tick label and, with subplots, the first panel's heading.
          yref: "container",
          y: 1,
          yanchor: "top",
          pad: { t: pad },
        });
      };
      layout.title = narrowTitle(layout.title, title);
      // A slider's frames bring their own titles: wrapped the same way, or moving the slider
      // would put back a title one line long and cut at the figure's edge.
      frames = wrapFrameTitles(fig.frames, narrowTitle);
      top = Math.max(top, titleBottom(lines, 14, 18) + 16 + (multi ? 30 : 0));
    }

    // Subplot grids become one column; their titles (annotations at the panel tops) follow.
    var panels = panelsOf(layout);
    var columns = {};
    panels.forEach(function (p) {
      columns[p.x.join()] = true;
    });
    if (Object.keys(columns).length > 1) {
      var n = panels.length;
      // Grids of small images (heatmaps only) keep two columns; anything else gets one.
      var images = (fig.data || []).every(function (t) {
        return t && t.type === "heatmap";
      });
      var cols = images && n > 4 ? 2 : 1;
      var rowsN = Math.ceil(n / cols);
      var panelPx = cols === 1 ? 230 : Math.max(120, Math.round((width - 110) / 2));
      // Room for a panel's tick labels and axis title, then the next panel's heading.
      var gapPx = cols === 1 ? 100 : 70;
      var plotPx = rowsN * panelPx + (rowsN - 1) * gapPx;
      var colX = cols === 1 ? [[0, 1]] : [[0, 0.44], [0.56, 1]];
      var anns = Array.isArray(layout.annotations) ? layout.annotations : [];
      var used = {};
      panels.forEach(function (p, i) {
        var r = Math.floor(i / cols);
        var x = colX[i % cols];
        var y1 = 1 - (r * (panelPx + gapPx)) / plotPx;
        var y0 = y1 - panelPx / plotPx;
        // The panel's heading: the paper annotation nearest the middle of its top edge.
        var cx = (p.x[0] + p.x[1]) / 2;
        var best = -1;
        var bestD = 0.05;
        anns.forEach(function (a, j) {
          if (used[j] || a.xref !== "paper" || a.yref !== "paper") return;
          var d = Math.abs(a.x - cx) + Math.abs(a.y - p.y[1]);
          if (d < bestD) {
            bestD = d;
            best = j;
          }
        });
        if (best >= 0) {
          used[best] = true;
          var a = anns[best];
          a.x = (x[0] + x[1]) / 2;
          a.y = y1;
          a.xanchor = "center";
          if (typeof a.text === "string") a.text = wrap(a.text, chars / cols).join("<br>");
        }
        layout["xaxis" + p.suffix].domain = x;
        layout["yaxis" + p.suffix].domain = [Math.max(0, y0), Math.min(1, y1)];
      });
      height = plotPx + top + extraTop + bottom + 40;
    }

    // Legend below the plot, in the container's coordinates, with room made for it.
    var named = (fig.data || []).filter(function (t) {
      return t && t.showlegend !== false && t.name !== undefined;
    }).length;
    var legendPx = 0;
    if (layout.showlegend !== false && named > 0 && (named > 1 || layout.showlegend === true)) {
      var rows = Math.ceil(named / Math.max(1, Math.floor(width / 130)));
      legendPx = rows * 20 + 8;
      layout.legend = Object.assign({}, layout.legend || {}, {
        orientation: "h",
        x: 0,
        xanchor: "left",
        xref: "container",
        y: 0,
        yanchor: "bottom",
        yref: "container",
        bgcolor: "rgba(255,255,255,0)",
      });
      bottom += legendPx;
      height += legendPx;
    }
    layout.margin = Object.assign({}, margin, {
      l: Math.min(margin.l == null ? 60 : margin.l, 48),
      r: Math.min(margin.r == null ? 30 : margin.r, 12),
      t: top + extraTop,
      b: bottom,
    });
    // At least 200 px of plot area whatever the margins became.
    layout.height = Math.max(height, layout.margin.t + layout.margin.b + 200);
    // A fixed width wider than a phone would push the page sideways.
    delete layout.width;
    layout.autosize = true;
    // Colour bars go under the plot too, instead of eating the width.
    var bars = 0;
    var scales = {};
    var data = (fig.data || []).map(function (t) {
      var scaled = t && /^(heatmap|contour|histogram2d|histogram2dcontour)$/.test(t.type) &&
        t.showscale !== false;
      if (!scaled) return t;
      // Panels with the same colour scale show it once (in place they would stack exactly).
      var key = JSON.stringify([t.colorscale, t.zmin, t.zmax, t.coloraxis, t.colorbar]);
      if (scales[key]) return Object.assign({}, t, { showscale: false });
      scales[key] = true;
      bars++;
      var cb = t.colorbar || {};
      return Object.assign({}, t, {
        colorbar: Object.assign({}, cb, {
          orientation: "h",
          x: 0.5,
          xanchor: "center",
          xref: "container",
          // Above the legend, which sits at the bottom of the container.
          y: (legendPx + 8) / (layout.height + 70),
          yanchor: "bottom",
          yref: "container",
          thickness: 10,
          len: 0.85,
          title: Object.assign({}, typeof cb.title === "object" ? cb.title : { text: cb.title }, {
            side: "top",
          }),
        }),
      });
    });
    if (bars) {
      layout.margin.b += 70;
      layout.height += 70;
    }
    return { data: data, layout: layout, frames: frames, legendPx: legendPx };
  }

  /** Traces with the same colour scale as an earlier one hide theirs (it would stack on it). */
  function oneScaleEach(data) {
    var scales = {};
    return (data || []).map(function (t) {
      if (!t || t.showscale === false || !/^(heatmap|contour)$/.test(t.type)) return t;
      var key = JSON.stringify([t.colorscale, t.zmin, t.zmax, t.coloraxis, t.colorbar]);
      if (scales[key]) return Object.assign({}, t, { showscale: false });
      scales[key] = true;
      return t;
    });
  }

  /**
   * A copy of the figure whose title, and the headings of side-by-side panels, wrap instead of
   * running past the figure's edge or into each other.
   */
  function wideFigure(fig, width) {
    var copy = clone(fig);
    copy.data = oneScaleEach(copy.data);
    var layout = copy.layout || {};
    if (!width) return copy;
    // A figure of fixed width is drawn at that width, not the page's.
    if (typeof layout.width === "number" && layout.width < width) width = layout.width;
    var margin = Object.assign({}, layout.margin || {});
    var top = margin.t == null ? 80 : margin.t;
    var grow = 0;
    // Panel headings: paper annotations sitting on top of a panel, wrapped to its width.
    var panels = panelsOf(layout);
    var headingLines = 1;
    if (panels.length > 1 && Array.isArray(layout.annotations)) {
      var plotW = width - (margin.l == null ? 80 : margin.l) - (margin.r == null ? 80 : margin.r);
      layout.annotations = layout.annotations.map(function (a) {
        if (!a || a.xref !== "paper" || a.yref !== "paper" || typeof a.text !== "string") return a;
        var panel = panels.filter(function (p) {
          return Math.abs(a.y - p.y[1]) < 0.02 && a.x >= p.x[0] && a.x <= p.x[1];
        })[0];
        if (!panel) return a;
        var size = (a.font || {}).size || 13;
        var lines = wrap(
          a.text,
          Math.max(12, Math.floor(((panel.x[1] - panel.x[0]) * plotW) / (size * 0.6))),
        );
        if (lines.length < 2) return a;
        if (panel.y[1] > 0.98) headingLines = Math.max(headingLines, lines.length);
        return Object.assign({}, a, { text: lines.join("<br>") });
      });
      grow += (headingLines - 1) * 17;
    }
    var title = titleText(layout.title);
    if (title) {
      var tsize = ((layout.title || {}).font || {}).size || 16;
      // The mode bar sits at the top right: titles wrap before they reach it.
      var chars = Math.max(30, Math.floor((width - 60 - MODEBAR_PX) / (tsize * 0.56)));
      var lines = maxTitleLines(title, copy.frames, chars);
      var pad = titlePad(lines, tsize);
      var wideTitle = function (t, text) {
        t = typeof t === "object" && t ? t : {};
        // At the top of the figure, with room below it for the panel headings and the top tick.
        return Object.assign({}, t, {
          text: wrap(text, chars).join("<br>"),
          yref: "container",
          y: 1,
          yanchor: "top",
          pad: { t: pad },
        });
      };
      layout.title = wideTitle(layout.title, title);
      copy.frames = wrapFrameTitles(copy.frames, wideTitle);
      var need = titleBottom(lines, tsize, Math.round(tsize * 1.3)) + 14 +
        (panels.length > 1 ? headingLines * 17 + 8 : 0);
      grow = Math.max(grow, need - top);
    }
    // Panel headings at the very top of a figure without a title would sit beside the mode bar.
    if (!title && panels.length > 1 && headingLines > 0 && top < 60) {
      grow = Math.max(grow, 60 - top);
    }
    if (grow > 0) {
      margin.t = top + grow;
      layout.margin = margin;
      if (layout.height) layout.height += grow;
    }
    copy.layout = layout;
    return copy;
  }

  /** Touch screens show the mode bar on every tap, on top of whatever is there. */
  var TOUCH = !!(window.matchMedia && window.matchMedia("(hover: none)").matches);
  /** Width kept free at the top right of a wide figure for the mode bar (five buttons). */
  var MODEBAR_PX = 190;

  function config(narrow) {
    // Resizing is done here (see the resize handler), one figure at a time: Plotly's own
    // responsive mode would redraw at the same time as a narrow relayout. The mode bar: none on
    // phones and touch screens (it would cover the title), five buttons elsewhere.
    return {
      responsive: false,
      displaylogo: false,
      displayModeBar: narrow || TOUCH ? false : "hover",
      modeBarButtonsToRemove: [
        "select2d",
        "lasso2d",
        "zoomIn2d",
        "zoomOut2d",
        "hoverClosestCartesian",
        "hoverCompareCartesian",
        "toggleSpikelines",
        "hoverClosest3d",
        "resetCameraLastSave3d",
        "hoverClosestGl2d",
      ],
    };
  }

  function overlaps(a, b) {
    return Math.min(a.right, b.right) - Math.max(a.left, b.left) > 2 &&
      Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 2;
  }

  function anyOverlap(rects) {
    for (var i = 0; i < rects.length; i++) {
      for (var j = i + 1; j < rects.length; j++) if (overlaps(rects[i], rects[j])) return true;
    }
    return false;
  }

  function rectsOf(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector)).map(function (n) {
      return n.getBoundingClientRect();
    }).filter(function (r) {
      return r.width > 0 && r.height > 0;
    });
  }

  /**
   * After a narrow draw, fixes what only the drawn figure shows: room under the plot for the
   * legend as tall as it came out (colour bars above it), and fewer tick labels on an axis
   * whose labels collide.
   */
  function fit(el, fig) {
    var legend = el.querySelector(".legend");
    var first = Promise.resolve();
    if (legend && fig.legendPx && fig.layout.legend.yref === "container") {
      var legendH = legend.getBoundingClientRect().height;
      var height = fig.layout.height - fig.legendPx + legendH + 12;
      first = window.Plotly.relayout(el, {
        "margin.b": fig.layout.margin.b - fig.legendPx + legendH + 12,
        height: height,
      }).then(function () {
        // Colour bars sit right above the legend.
        var idx = [];
        (fig.data || []).forEach(function (t, i) {
          if (t && t.colorbar && t.colorbar.yref === "container") idx.push(i);
        });
        if (!idx.length) return null;
        var y = (legendH + 16) / height;
        return window.Plotly.restyle(
          el,
          {
            "colorbar.y": idx.map(function () {
              return y;
            }),
          },
          idx,
        );
      });
    }
    return first.then(function () {
      var update = {};
      var full = el._fullLayout || {};
      Array.prototype.slice.call(el.querySelectorAll(".subplot")).forEach(function (sp) {
        var id = /(?:^|\s)x(\d*)y(\d*)(?:\s|$)/.exec(sp.getAttribute("class") || "");
        if (!id) return;
        [["x", id[1], ".xaxislayer-above text"], ["y", id[2], ".yaxislayer-above text"]]
          .forEach(function (ax) {
            var name = ax[0] + "axis" + ax[1];
            var rects = rectsOf(sp, ax[2]);
            if (rects.length < 2 || !anyOverlap(rects)) return;
            var spec = full[name] || {};
            var named = spec.type === "category" || spec.tickmode === "array";
            if (spec.type === "log" && !named) update[name + ".dtick"] = 1;
            else if (named && ax[0] === "x") {
              // Category names cannot be thinned out: turn them upright, with room below.
              update[name + ".tickangle"] = -90;
              update[name + ".automargin"] = true;
            } else if (spec.tickmode === "linear" && typeof spec.dtick === "number") {
              update[name + ".dtick"] = spec.dtick * 2;
            } else update[name + ".nticks"] = Math.max(3, Math.floor(rects.length / 2));
          });
      });
      return Object.keys(update).length ? window.Plotly.relayout(el, update) : null;
    });
  }

  /** Runs `job` after the figure's previous job; a failure is shown on the figure, not thrown. */
  function queue(entry, job) {
    entry.busy = (entry.busy || Promise.resolve()).then(function () {
      return job();
    }).catch(function (e) {
      entry.el.setAttribute("data-rendered", "error");
      entry.el.setAttribute("data-error", String(e && e.message || e));
      if (window.console) window.console.error("figure " + entry.el.id + ": " + e);
    });
    return entry.busy;
  }

  function draw(entry) {
    var el = entry.el;
    var narrow = el.clientWidth > 0 && el.clientWidth < NARROW;
    entry.narrow = narrow;
    var fig = narrow
      ? narrowFigure(entry.fig, el.clientWidth)
      : wideFigure(entry.fig, el.clientWidth);
    var spec = { data: fig.data || [], layout: fig.layout || {}, config: config(narrow) };
    if (Array.isArray(fig.frames) && fig.frames.length) spec.frames = fig.frames;
    el.style.minHeight = "";
    el.removeAttribute("data-rendered");
    // A fresh plot, not react(): switching a figure between layouts in place failed for
    // contour plots with colour bars ("Something went wrong with axis scaling").
    return window.Plotly.newPlot(el, spec).then(function () {
      // Colliding tick labels are thinned at every width; the rest is the phone layout's.
      return fit(el, fig);
    }).then(function () {
      el.setAttribute("data-rendered", "true");
      el.setAttribute("data-layout", narrow ? "narrow" : "wide");
    });
  }

  var nodes = Array.prototype.slice.call(document.querySelectorAll("script.plot-data"));
  if (nodes.length && !window.Plotly) {
    nodes.forEach(function (n) {
      var el = document.getElementById(n.getAttribute("data-target"));
      if (!el) return;
      el.textContent = "This figure needs assets/plotly.min.js next to the page.";
      el.className += " plot-missing";
    });
    return;
  }
  nodes.forEach(function (n) {
    var el = document.getElementById(n.getAttribute("data-target"));
    if (!el) return;
    var fig;
    try {
      fig = JSON.parse(n.textContent);
    } catch (e) {
      el.textContent = "This figure's data is not valid JSON.";
      return;
    }
    // Only data, layout and frames are used; the figure's own config is ignored.
    var entry = { el: el, fig: { data: fig.data, layout: fig.layout, frames: fig.frames } };
    figures.push(entry);
    queue(entry, function () {
      return draw(entry);
    });
  });

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      figures.forEach(function (f) {
        queue(f, function () {
          var narrow = f.el.clientWidth > 0 && f.el.clientWidth < NARROW;
          if (narrow || narrow !== f.narrow) return draw(f);
          return window.Plotly.Plots.resize(f.el);
        });
      });
    }, 150);
  });

  /** Folded code cells opened for print (closed again after it). */
  var openedFolds = [];

  /** Small multiples of every step of each slider figure, shown by the print style sheet. */
  function preparePrint() {
    var jobs = [];
    // Paper cannot unfold: print folded code in full.
    Array.prototype.slice.call(document.querySelectorAll("details.source-fold:not([open])"))
      .forEach(function (d) {
        d.open = true;
        openedFolds.push(d);
      });
    figures.forEach(function (f) {
      var frames = f.fig.frames;
      var figureEl = f.el.parentNode;
      if (!Array.isArray(frames) || frames.length < 2 || !figureEl) return;
      if (figureEl.querySelector(".print-frames")) return;
      var grid = document.createElement("div");
      grid.className = "print-frames";
      var heading = document.createElement("div");
      heading.className = "print-frames-title";
      var slider = ((f.fig.layout || {}).sliders || [])[0] || {};
      var prefix = ((slider.currentvalue || {}).prefix) || "";
      var swept = prefix.replace(/\s*=\s*$/, "");
      // The figure's title names one step when the frames bring titles of their own: then the
      // heading names the swept value and its steps instead, and each panel its own step.
      var ownTitles = frames.some(function (fr) {
        return fr && fr.layout && titleText(fr.layout.title);
      });
      var base = ownTitles
        ? ""
        : titleText((f.fig.layout || {}).title).replace(/<br\s*\/?>/gi, " ").replace(
          /<[^>]*>/g,
          "",
        );
      heading.textContent = (base ? base + ": every" : "Every") + " step of the slider" +
        (swept
          ? " (" + swept + " = " + frames.map(function (fr) {
            return fr.name;
          }).join(", ") + ")"
          : "");
      grid.appendChild(heading);
      figureEl.appendChild(grid);
      figureEl.className += " has-print-frames";
      frames.forEach(function (fr) {
        var cell = document.createElement("div");
        cell.className = "print-frame";
        grid.appendChild(cell);
        var layout = clone(f.fig.layout || {});
        delete layout.sliders;
        delete layout.updatemenus;
        Object.assign(layout, clone(fr.layout || {}));
        var own = titleText((fr.layout || {}).title);
        // The step, unless the frame's own title already names it.
        var ownText = own ? own.replace(/<br\s*\/?>/gi, " ") : "";
        var named = prefix !== "" &&
          ownText.replace(/<[^>]*>/g, "").indexOf(prefix + fr.name) >= 0;
        var lines = (named ? [] : [prefix + fr.name]).concat(ownText ? wrap(ownText, 55) : []);
        // The panel title at the top of the panel, its lines above the plot area with a gap
        // of half a tick label: a centred title of several lines ran into the top tick label.
        layout.title = {
          text: lines.join("<br>"),
          font: { size: 10 },
          x: 0.02,
          xanchor: "left",
          yref: "container",
          y: 1,
          yanchor: "top",
          pad: { t: titlePad(lines.length, 10) },
        };
        layout.height = Math.max(200, Math.min(300, (f.fig.layout.height || 420) * 0.5)) +
          (lines.length - 1) * 13;
        layout.width = 330;
        layout.showlegend = false;
        layout.font = { size: 9 };
        layout.margin = { l: 40, r: 8, t: titleBottom(lines.length, 10, 13) + 10, b: 30 };
        var data = (f.fig.data || []).map(function (t, i) {
          return Object.assign({}, t, (fr.data || [])[i] || {});
        });
        jobs.push(window.Plotly.newPlot(cell, data, layout, { staticPlot: true }));
      });
    });
    // A figure never takes more than about half a printed page (A4 between the margins is
    // about 1000 px), so moving it to the next page leaves at most half a page blank.
    figures.forEach(function (f) {
      var h = f.el._fullLayout && f.el._fullLayout.height;
      if (!h || h <= PRINT_MAX) return;
      f.screenHeight = h;
      jobs.push(queue(f, function () {
        return window.Plotly.relayout(f.el, { height: PRINT_MAX });
      }));
    });
    return Promise.all(jobs).then(function () {
      return figures.length;
    });
  }
  var PRINT_MAX = 460;
  window.kitPreparePrint = preparePrint;
  window.addEventListener("beforeprint", function () {
    preparePrint();
  });
  window.addEventListener("afterprint", function () {
    openedFolds.splice(0).forEach(function (d) {
      d.open = false;
    });
    figures.forEach(function (f) {
      if (!f.screenHeight) return;
      var h = f.screenHeight;
      f.screenHeight = 0;
      queue(f, function () {
        return window.Plotly.relayout(f.el, { height: h });
      });
    });
  });
})();
