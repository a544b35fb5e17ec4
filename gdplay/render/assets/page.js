// gdplay's interactive page. Reads the runs gdplay computed (the JSON in #gdplay-data) and draws
// the one the sliders pick, with plotly.js. It computes nothing gdplay did not: the trajectory,
// the numbers and the predicted factors are gdplay's; the page only indexes and draws them.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("gdplay-data").textContent);
  const axes = data.axes;
  const shape = data.shape;
  const names = data.variables;
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const state = { index: axes.map(() => 0), frame: null, playing: null };
  window.gdplayTimings = [];
  window.gdplayAllTimings = [];
  const config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };
  const font = { family: "system-ui, sans-serif", size: 12 };

  function runNumber() {
    return state.index.reduce((sum, i, k) => sum + i * strides[k], 0);
  }
  function indicesOf(b) {
    return strides.map((s, k) => Math.floor(b / s) % shape[k]);
  }
  function fmt(v, digits) {
    if (v === null || v === undefined) return "—";
    if (typeof v !== "number") return String(v);
    return Number(v.toPrecision(digits || 6)).toString();
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- controls: one slider per swept axis, the step slider, play / pause / step -------------
  const controls = document.getElementById("controls");
  axes.forEach((axis, k) => {
    const row = el("div", { class: "control" });
    const label = el("label", { for: "slider-" + axis.label }, axis.label + (axis.log ? " (log scale)" : ""));
    const input = el("input", {
      type: "range", id: "slider-" + axis.label, min: 0, max: axis.values.length - 1, step: 1, value: 0,
      "aria-label": axis.label,
    });
    const shown = el("output", { id: "value-" + axis.label });
    input.addEventListener("input", (event) => {
      // from the input event to the next frame painted after the redraw (benchmarks/page_latency.py)
      const t0 = event.timeStamp;
      state.index[k] = Number(input.value);
      state.frame = null;
      state.painted = null;
      draw().then(() => requestAnimationFrame(() => {
        window.gdplayTimings.push(state.painted - t0);  // the new trajectory's frame
        window.gdplayAllTimings.push(performance.now() - t0);  // every panel redrawn
      }));
    });
    row.append(label, input, shown);
    controls.append(row);
  });
  const player = el("div", { class: "control" });
  const play = el("button", { id: "play", type: "button" }, "▶ play");
  const step = el("button", { id: "step", type: "button" }, "step ▸");
  const frame = el("input", { type: "range", id: "frame", min: 0, max: 0, step: 1, value: 0, "aria-label": "step" });
  const frameOut = el("output", { id: "frame-value" });
  player.append(play, step, el("label", { for: "frame" }, "step"), frame, frameOut);
  controls.append(player);

  // A run's history arrives as float32 series in base64 (see gdplay/render/page.py); decoded once,
  // when the run is first shown. Non-finite values become null (plotly leaves a gap there).
  function decode(text) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return Array.from(new Float32Array(bytes.buffer), (v) => (Number.isFinite(v) ? v : null));
  }
  function history(run) {
    if (run.decoded) return run.decoded;
    const [first, every, last] = run.history.step;
    // points as x* + error and values as f* + gap where gdplay knows x* and f* (see page.py)
    const point = {};
    names.forEach((n, d) => {
      point[n] = run.history.error
        ? decode(run.history.error[n]).map((e) => (e === null ? null : data.x_star[d] + e))
        : decode(run.history.point[n]);
    });
    const gap = run.history.gap ? decode(run.history.gap) : null;
    const value = gap ? gap.map((g) => (g === null ? null : data.f_star + g)) : decode(run.history.value);
    const step = value.map((_, k) => Math.min(first + k * every, last));
    step[step.length - 1] = last;
    const error = run.history.error ? names.map((n) => decode(run.history.error[n])) : null;
    run.decoded = { step: step, point: point, value: value, gap: gap, error: error };
    return run.decoded;
  }
  window.gdplayHistory = (b) => history(data.runs[b]);
  function current() {
    const run = data.runs[runNumber()];
    history(run);
    return run;
  }
  function lastFrame(run) {
    return history(run).step.length - 1;
  }
  function stopPlaying() {
    state.playing = null;
    play.textContent = "▶ play";
  }
  // Play: about 60 frames from step 0 to the last; the next frame is drawn once the last one is,
  // so a slow machine shows fewer frames per second, never a backlog.
  play.addEventListener("click", () => {
    if (state.playing !== null) return stopPlaying();
    const run = current();
    if (state.frame === null || state.frame >= lastFrame(run)) state.frame = 0;
    play.textContent = "❚❚ pause";
    document.body.dataset.played = "yes";
    const token = {};
    state.playing = token;
    const tick = () => {
      if (state.playing !== token) return;
      drawFrame().then(() => {
        const end = lastFrame(current());
        if (state.playing !== token) return;
        if (state.frame >= end) return stopPlaying();
        state.frame = Math.min(end, state.frame + Math.max(1, Math.ceil(end / 60)));
        setTimeout(tick, 30);
      });
    };
    tick();
  });
  step.addEventListener("click", () => {
    stopPlaying();
    const end = lastFrame(current());
    state.frame = state.frame === null || state.frame >= end ? 0 : state.frame + 1;  // at the end: from the start
    drawFrame();
  });
  frame.addEventListener("input", () => {
    stopPlaying();
    state.frame = Number(frame.value);
    drawFrame();
  });

  // ---- the numbers shown: gdplay's own record of the run ---------------------------------------
  function showInfo(run) {
    const info = document.getElementById("info");
    const point = names.map((n) => n + " = " + fmt(run.final.point[n], 7)).join(", ");
    const toTol = run.status === "converged" ? String(run.steps) : "not reached (" + run.status + ")";
    const settings = Object.entries(run.swept).map(([k, v]) => k + " = " + fmt(v, 6)).join(", ");
    const rows = [
      ["settings", run.optimizer + ": " + settings, "info-settings"],
      ["status", run.status + " — " + run.reason, "info-status"],
      ["final point", point, "info-point"],
      ["final f", fmt(run.final.value, 10), "info-value"],
      ["steps to tol", data.tol === null ? "no tol set" : toTol, "info-tol"],
    ];
    info.replaceChildren(
      ...rows.map(([k, v, id]) => {
        const d = el("div", { class: "field" });
        d.append(el("span", { class: "key" }, k), el("span", { id: id, class: "value" }, v));
        return d;
      })
    );
    info.dataset.run = String(run.run);
  }

  // ---- the panels ------------------------------------------------------------------------------
  function visible(run) {
    const n = state.frame === null ? history(run).step.length : state.frame + 1;
    return n;
  }
  function pathTraces(run, n) {
    const h = history(run);
    const xs = names.length === 1 ? h.point[names[0]].slice(0, n) : h.point[names[0]].slice(0, n);
    const ys = names.length === 1 ? h.value.slice(0, n) : h.point[names[1]].slice(0, n);
    const colour = run.status === "diverged" ? "#c0392b" : "#1f77b4";
    return [
      { x: xs, y: ys, mode: "lines+markers", name: "path", line: { color: colour, width: 2 },
        marker: { size: 4, color: colour }, hovertemplate: "step %{customdata}<br>%{x}, %{y}<extra></extra>",
        customdata: h.step.slice(0, n) },
      { x: [xs[0]], y: [ys[0]], mode: "markers", name: "start", marker: { size: 11, color: "white",
        line: { color: colour, width: 2 } } },
      { x: [xs[n - 1]], y: [ys[n - 1]], mode: "markers", name: run.status === "diverged" ? "diverged" : "now",
        marker: { size: 10, symbol: run.status === "diverged" ? "x" : "square", color: colour } },
    ];
  }
  let background = null;  // the landscape's traces, built once: Plotly.react sees the same arrays and skips them
  function landscapeTraces() {
    if (background === null) background = buildLandscape();
    return background;
  }
  function buildLandscape() {
    const land = data.landscape;
    if (!land) return [];
    if (data.dim === 1) return [{ x: land.x, y: land.f, mode: "lines", name: "f", line: { color: "#777" } }];
    let z = land.f;
    if (land.log) {
      let lo = Infinity;
      z.forEach((row) => row.forEach((v) => { if (v !== null && v < lo) lo = v; }));
      z = z.map((row) => row.map((v) => (v === null ? null : Math.log10(v - lo + 1e-12))));
    }
    return [{ type: "contour", x: land.x, y: land.y, z: z, colorscale: "Greys", reversescale: true, opacity: 0.55,
      contours: { coloring: "heatmap" }, showscale: false, name: land.log ? "log₁₀(f − min f)" : "f",
      hoverinfo: "skip" }];
  }
  // The landscape is two plots stacked: the contour underneath (drawn once, and again only when
  // the view is zoomed or panned) and the paths on a transparent plot on top, which is all a
  // slider redraws: re-rendering a contour for every input would cost more than everything else.
  let landRange = null;
  let backgroundDrawn = false;
  function landLayout(top) {
    return {
      title: { text: top ? "" : data.objective, font: font }, font: font, showlegend: false,
      margin: { l: 50, r: 10, t: 40, b: 40 },
      // the top plot's axes carry no labels: the contour's show through, so nothing is drawn twice
      xaxis: { title: { text: top ? "" : names[0] }, range: landRange.x.slice(), showgrid: !top, zeroline: false,
        showticklabels: !top },
      yaxis: { title: { text: top ? "" : data.dim === 1 ? "f" : names[1] }, range: landRange.y.slice(),
        showgrid: !top, zeroline: false, showticklabels: !top },
      paper_bgcolor: top ? "rgba(0,0,0,0)" : "#fff", plot_bgcolor: top ? "rgba(0,0,0,0)" : "#fff",
      uirevision: "keep",
    };
  }
  function drawLandscape(run, n) {
    const div = document.getElementById("landscape");
    const under = document.getElementById("landscape-bg");
    if (!data.landscape) { document.getElementById("landscape-panel").style.display = "none"; return Promise.resolve(); }
    const land = data.landscape;
    if (landRange === null) {
      landRange = data.dim === 1
        ? { x: [land.x[0], land.x[land.x.length - 1]], y: finiteRange(land.f) }
        : { x: [land.x[0], land.x[land.x.length - 1]], y: [land.y[0], land.y[land.y.length - 1]] };
    }
    const drawn = [];
    if (!backgroundDrawn) {
      backgroundDrawn = true;
      drawn.push(Plotly.newPlot(under, landscapeTraces(), landLayout(false), { staticPlot: true, responsive: true }));
    }
    drawn.push(Plotly.react(div, pathTraces(run, n), landLayout(true), config));
    return Promise.all(drawn).then(() => {
      if (!div.dataset.linked && div.on) {  // zoom or pan on top: the contour follows
        div.dataset.linked = "yes";
        div.on("plotly_relayout", () => {
          const L = div._fullLayout;
          landRange = { x: L.xaxis.range.slice(), y: L.yaxis.range.slice() };
          Plotly.relayout(under, { "xaxis.range": landRange.x.slice(), "yaxis.range": landRange.y.slice() });
        });
      }
    });
  }
  function finiteRange(values) {
    const v = values.filter((x) => x !== null);
    const lo = Math.min(...v), hi = Math.max(...v);
    const pad = 0.05 * (hi - lo || 1);
    return [lo - pad, hi + pad];
  }
  function gaps(run) {
    const h = history(run);
    if (h.gap) return h.gap.map((g) => (g === null ? null : Math.abs(g)));  // f − f*, from gdplay in float64
    return h.value.map((v) => (v === null ? null : data.f_star === null ? v : Math.abs(v - data.f_star)));
  }
  function drawLoss(run, n) {
    const g = gaps(run);
    const positive = g.every((v) => v === null || v > 0);
    const label = data.f_star === null ? "f (f* unknown: " + data.f_star_source + ")"
      : "|f − f*|, f* = " + fmt(data.f_star, 7) + " (" + data.f_star_source + ")";
    const traces = [];
    const band = data.bands && run.band !== undefined ? data.bands[run.band] : null;
    if (band) {  // gdplay's quantiles over this grid point's seeds: the page draws them, computes nothing
      const low = decode(band.low), high = decode(band.high);
      const steps = low.map((_, k) => k * data.stored_every);  // thinned as the runs are (page.py)
      traces.push(
        { x: steps, y: low, mode: "lines", name: "band low", line: { width: 0 }, hoverinfo: "skip" },
        { x: steps, y: high, mode: "lines", name: "band", line: { width: 0 }, fill: "tonexty",
          fillcolor: "rgba(31, 119, 180, 0.18)", hoverinfo: "skip" },
        { x: steps, y: decode(band.median), mode: "lines", name: "median", line: { color: "#1f77b4", dash: "dot" } },
      );
    }
    traces.push(
      { x: history(run).step, y: g, mode: "lines", name: "all steps", line: { color: "#bbb" } },
      { x: history(run).step.slice(0, n), y: g.slice(0, n), mode: "lines", name: "shown", line: { color: "#1f77b4" } },
    );
    const title = band ? "loss against the step; shaded: 10%–90% of " + band.runs + " seeds, dotted: their median"
      : "loss against the step";
    const layout = {
      title: { text: title, font: font }, font: font, showlegend: false,
      margin: { l: 60, r: 10, t: 40, b: 40 },
      xaxis: { title: { text: "step" } }, yaxis: { title: { text: label }, type: positive && data.f_star !== null ? "log" : "linear" },
    };
    return Plotly.react(document.getElementById("loss"), traces, layout, config);
  }
  let mapDrawn = false;
  function drawMap(run) {
    const map = data.map;
    const div = document.getElementById("map");
    if (!map) { div.style.display = "none"; return Promise.resolve(); }
    const idx = indicesOf(run.run);
    const selected = { x: [[map.cols === null ? 0 : idx[map.cols]]], y: [[idx[map.rows]]] };
    if (mapDrawn) return Plotly.restyle(div, selected, [div.data.length - 1]);  // only the selection moves
    mapDrawn = true;
    const rowAxis = axes[map.rows], colAxis = map.cols === null ? null : axes[map.cols];
    const traces = [
      { type: "heatmap", z: map.z, colorscale: "Viridis", reversescale: true, name: "cells",
        colorbar: { title: { text: map.colour, side: "right" } }, hovertemplate: "%{z}<extra></extra>" },
    ];
    const dx = [], dy = [];
    map.diverged.forEach((row, i) => row.forEach((d, j) => { if (d) { dx.push(j); dy.push(i); } }));
    traces.push({ x: dx, y: dy, mode: "markers", name: "diverged", marker: { symbol: "x", color: "red", size: 7 },
      hoverinfo: "skip" });
    if (map.boundary && map.row_values) {
      const bx = [], by = [];
      map.boundary.forEach((b, j) => { if (b !== null) { bx.push(j); by.push(fractional(map.row_values, b)); } });
      traces.push({ x: bx, y: by, mode: "lines", name: "predicted stability boundary",
        line: { color: "white", dash: "dash", width: 2 }, hoverinfo: "skip" });
    }
    if (map.best) traces.push({ x: [map.best[1]], y: [map.best[0]], mode: "markers", name: "best",
      marker: { symbol: "star", size: 16, color: "gold", line: { color: "black", width: 1 } }, hoverinfo: "skip" });
    traces.push({ x: [map.cols === null ? 0 : idx[map.cols]], y: [idx[map.rows]], mode: "markers", name: "selected",
      marker: { symbol: "square-open", size: 14, color: "magenta", line: { width: 3 } }, hoverinfo: "skip" });
    const ticks = (axis) => {
      if (axis.log) {  // about equal ratios: a tick at each power of ten, where it falls between cells
        const logs = axis.values.map((v) => Math.log10(v));
        const at = [], text = [];
        for (let k = Math.ceil(logs[0] - 1e-9); k <= Math.floor(logs[logs.length - 1] + 1e-9); k++) {
          at.push(fractional(axis.values, Math.pow(10, k)));
          text.push("10<sup>" + String(k).replace("-", "−") + "</sup>");
        }
        if (at.length >= 2) return { tickvals: at, ticktext: text };
      }
      const step = Math.max(1, Math.ceil(axis.values.length / 8));
      const at = axis.values.map((_, i) => i).filter((i) => i % step === 0);
      return { tickvals: at, ticktext: at.map((i) => axis.labels[i]) };
    };
    const layout = {
      title: { text: "click a cell to select its run" + (map.colour.startsWith("median steps")
        ? " (grey: tol not reached, ✕: diverged)" : " (✕: diverged)"), font: font }, font: font, showlegend: false,
      plot_bgcolor: "#d9d9d9",
      margin: { l: 70, r: 10, t: 40, b: 50 },
      yaxis: Object.assign({ title: { text: rowAxis.label } }, ticks(rowAxis)),
      xaxis: colAxis ? Object.assign({ title: { text: colAxis.label } }, ticks(colAxis)) : { showticklabels: false },
      uirevision: "keep",
    };
    return Plotly.react(div, traces, layout, config);
  }
  function fractional(values, x) {
    if (x <= values[0]) return -0.5;
    if (x >= values[values.length - 1]) return values.length - 0.5;
    for (let k = 0; k < values.length - 1; k++) {
      const a = values[k], b = values[k + 1];
      if (a <= x && x <= b) return k + (Math.log(x) - Math.log(a)) / (Math.log(b) - Math.log(a));
    }
    return values.length - 0.5;
  }
  function drawModes(run, n) {
    const modes = data.modes;
    const div = document.getElementById("modes");
    if (!modes) { div.style.display = "none"; return Promise.resolve(); }
    const per = modes.per_run[run.run];
    const h = history(run);
    const traces = [];
    const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
    modes.eigenvalues.forEach((lam, i) => {
      const v = modes.vectors[i];
      const c = h.step.map((_, k) => {
        let s = 0;
        for (let d = 0; d < names.length; d++) {
          const e = h.error ? h.error[d][k] : h.point[names[d]][k] === null ? null : h.point[names[d]][k] - modes.x_star[d];
          if (e === null) return null;
          s += v[d] * e;
        }
        return Math.abs(s);
      });
      const colour = colours[i % colours.length];
      const factor = per ? per.factor[i] : null;
      const regime = per ? per.regime[i] : "no prediction";
      traces.push({ x: h.step.slice(0, n), y: c.slice(0, n), mode: "lines", line: { color: colour },
        name: "λ = " + fmt(lam, 4) + ": factor " + fmt(factor, 4) + ", " + regime });
      if (factor !== null && factor > 0) {
        // the envelope C·rᵏ through the larger of the first two components
        const c0 = Math.max(c[0] || 0, c.length > 1 && c[1] !== null ? c[1] / factor : 0);
        traces.push({ x: h.step, y: h.step.map((k) => c0 * Math.pow(factor, k)), mode: "lines",
          line: { color: colour, dash: "dot" }, name: "predicted envelope " + fmt(factor, 4) + "ᵏ", hoverinfo: "skip" });
      }
    });
    const layout = {
      title: { text: "error along each Hessian eigenvector |vᵢ·(xₖ − x*)|", font: font }, font: font,
      margin: { l: 60, r: 10, t: 40, b: 40 }, legend: { orientation: "h", y: -0.25 },
      xaxis: { title: { text: "step" } }, yaxis: { type: "log", title: { text: "|component|" } },
    };
    return Plotly.react(div, traces, layout, config);
  }

  function drawFrame() {
    const run = current();
    const n = visible(run);
    frame.max = String(lastFrame(run));
    frame.value = String(n - 1);
    frameOut.textContent = String(history(run).step[n - 1]);
    // The trajectory first; the loss and the modes after the frame that shows it has been painted.
    const first = drawLandscape(run, n);
    const rest = new Promise((resolve) => requestAnimationFrame(() => {
      state.painted = performance.now();
      setTimeout(() => resolve(Promise.all([drawLoss(run, n), drawModes(run, n)])), 0);
    }));
    return Promise.all([first, rest]);
  }
  function draw() {
    const run = current();
    axes.forEach((axis, k) => {
      document.getElementById("slider-" + axis.label).value = String(state.index[k]);
      document.getElementById("value-" + axis.label).textContent = axis.labels[state.index[k]];
    });
    showInfo(run);
    return Promise.all([drawFrame(), drawMap(run)]).then(() => {
      document.body.dataset.drawn = String(run.run);
    });
  }

  document.getElementById("subtitle").textContent =
    data.runs.length + " runs of " + data.steps + " steps, computed by gdplay as one sweep (" + data.dtype + ")" +
    (data.stored_every > 1 ? "; every " + data.stored_every + "th step stored" : "");
  document.getElementById("footer").textContent =
    "gdplay " + (data.provenance.gdplay || "") + ", torch " + (data.provenance.torch || "") +
    ". The data behind this page: the JSON in <script id=\"gdplay-data\">.";

  state.index = indicesOf(data.initial || 0);
  draw().then(() => {
    const map = document.getElementById("map");
    if (data.map && map.on) {
      map.on("plotly_click", (event) => {
        const p = event.points.find((q) => q.data.type === "heatmap") || event.points[0];
        if (!p) return;
        state.index[data.map.rows] = Math.round(p.y);
        if (data.map.cols !== null) state.index[data.map.cols] = Math.round(p.x);
        state.frame = null;
        stopPlaying();
        draw();
      });
    }
    document.body.dataset.ready = "yes";
  });
})();
