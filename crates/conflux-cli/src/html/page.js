// conflux report: per-row views (waterfall, conflicts) drawn from the JSON block, sortable
// tables, and a self-test (open the file with #selftest). No network, no dependencies.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var UP = "#e66100", DOWN = "#1f6fb4", BIAS = "#777777";

  // The SVG namespace, taken from a chart of the page (every report has one) so that the
  // file holds no URL at all.
  var SVG_NS = document.querySelector("svg").namespaceURI;
  function el(tag, attrs, text) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (typeof v !== "number" || !isFinite(v)) return "–";
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toFixed(4));
  }

  // Steps of the waterfall for row r of method m: the largest joint scores, the rest
  // together, the biases (CAFE), from the baseline output to the output.
  function steps(m, r) {
    var row = m.rows[r], names = data.features, k = data.top;
    var order = row.scores.map(function (_, i) { return i; });
    order.sort(function (a, b) { return Math.abs(row.scores[b]) - Math.abs(row.scores[a]); });
    var out = [], rest = 0;
    order.forEach(function (i, n) {
      if (n < k) {
        // The raw value where the row holds one per feature (not for cells of a colour image).
        var values = data.rows[r].values;
        var tip = names[i] + (values.length === names.length ? " = " + fmt(values[i]) : "") + ": " + fmt(row.scores[i]);
        if (row.pos) tip += " (S+ " + fmt(row.pos[i]) + ", S− " + fmt(row.neg[i]) + ")";
        out.push({ label: names[i], value: row.scores[i], tip: tip });
      } else rest += row.scores[i];
    });
    if (order.length > k) out.push({ label: (order.length - k) + " other features", value: rest, tip: "sum of the other features' scores" });
    if (row.bias !== null && row.bias !== undefined) out.push({ label: "biases", value: row.bias, tip: "bias S+ − S−", bias: true });
    return out;
  }

  function waterfall(svg, m, r) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var row = m.rows[r], st = steps(m, r);
    var start = row.baseline === null ? 0 : row.baseline;
    var lo = Math.min(start, row.output), hi = Math.max(start, row.output), acc = start;
    st.forEach(function (s) { acc += s.value; lo = Math.min(lo, acc); hi = Math.max(hi, acc); });
    var W = 640, L = 190, H = 22 * (st.length + 2) + 50, span = (hi - lo) || 1;
    function x(v) { return L + (W - L - 20) * (v - lo) / span; }
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("width", W); svg.setAttribute("height", H);
    var y = 10;
    svg.appendChild(el("text", { x: L - 6, y: y + 14, "text-anchor": "end" }, "baseline output " + fmt(start)));
    svg.appendChild(el("rect", { x: x(start) - 1, y: y + 2, width: 2, height: 16, fill: "#333", "class": "step" }));
    acc = start;
    st.forEach(function (s) {
      y += 22;
      var a = acc, b = acc + s.value; acc = b;
      svg.appendChild(el("text", { x: L - 6, y: y + 14, "text-anchor": "end" }, s.label));
      var rect = el("rect", { x: Math.min(x(a), x(b)), y: y + 2, width: Math.max(1, Math.abs(x(b) - x(a))), height: 16,
        fill: s.bias ? BIAS : (s.value >= 0 ? UP : DOWN), "class": "step" });
      rect.appendChild(el("title", {}, s.tip));
      svg.appendChild(rect);
    });
    y += 22;
    svg.appendChild(el("text", { x: L - 6, y: y + 14, "text-anchor": "end" }, "output " + fmt(row.output)));
    svg.appendChild(el("rect", { x: x(row.output) - 1, y: y + 2, width: 2, height: 16, fill: "#333", "class": "step" }));
    svg.appendChild(el("line", { x1: L, y1: y + 30, x2: W - 20, y2: y + 30, "class": "axis" }));
    svg.appendChild(el("text", { x: L, y: y + 44, "class": "axis-label" }, fmt(lo)));
    svg.appendChild(el("text", { x: W - 20, y: y + 44, "text-anchor": "end", "class": "axis-label" }, fmt(hi) + " (model output)"));
    var gap = row.gap;
    return st.length + " steps, gap " + (gap === null ? "n/a" : fmt(gap));
  }

  // An AME's row: attention per group (orange), its Granger target ω (blue) when labelled.
  function attention(svg, m, r) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var row = m.rows[r], names = data.groups, k = data.top;
    var order = row.importance.map(function (_, i) { return i; });
    order.sort(function (a, b) { return row.importance[b] - row.importance[a]; });
    var shown = order.slice(0, k), rest = order.slice(k);
    var items = shown.map(function (i) { return { label: names[i], a: row.importance[i], w: row.granger ? row.granger[i] : null }; });
    if (rest.length) {
      var sa = 0, sw = 0;
      rest.forEach(function (i) { sa += row.importance[i]; if (row.granger) sw += row.granger[i]; });
      items.push({ label: rest.length + " other groups", a: sa, w: row.granger ? sw : null });
    }
    var max = 1e-12;
    items.forEach(function (it) { max = Math.max(max, it.a, it.w === null ? 0 : it.w); });
    var W = 640, L = 190, H = 24 * items.length + 50, y = 10;
    function x(v) { return L + (W - L - 20) * v / max; }
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("width", W); svg.setAttribute("height", H);
    items.forEach(function (it) {
      svg.appendChild(el("text", { x: L - 6, y: y + 13, "text-anchor": "end" }, it.label));
      var bar = el("rect", { x: L, y: y + 2, width: Math.max(1, x(it.a) - L), height: it.w === null ? 16 : 10, fill: UP, "class": "step" });
      bar.appendChild(el("title", {}, it.label + ": attention " + fmt(it.a) + (it.w === null ? "" : ", Granger target ω " + fmt(it.w))));
      svg.appendChild(bar);
      if (it.w !== null) svg.appendChild(el("rect", { x: L, y: y + 13, width: Math.max(1, x(it.w) - L), height: 6, fill: DOWN, "class": "step" }));
      y += 24;
    });
    svg.appendChild(el("line", { x1: L, y1: y + 4, x2: W - 20, y2: y + 4, "class": "axis" }));
    svg.appendChild(el("text", { x: L, y: y + 18, "class": "axis-label" }, "0"));
    svg.appendChild(el("text", { x: W - 20, y: y + 18, "text-anchor": "end", "class": "axis-label" }, fmt(max) + " (attention" + (row.granger ? "; ω in blue)" : ")")));
    return "predicted " + (row.label === null ? "" : "class " + row.label + ", ") + fmt(row.output) +
      (row.mge === null ? "" : "; KL(ω ‖ attention) " + fmt(row.mge));
  }

  // Image maps: each panel is one value per input element ([C, H, W], or one channel) of the
  // grid the report holds (pixels, or cells of a large image), drawn as one rect per cell;
  // the score maps sum their channels.
  function grid() { return { h: data.image.height, w: data.image.width }; }
  function pooled(values, g, channel) {
    var hw = g.h * g.w, channels = values.length / hw, out = new Array(hw).fill(0);
    for (var c = 0; c < channels; c++) {
      if (channel !== undefined && c !== channel) continue;
      for (var i = 0; i < hw; i++) out[i] += values[c * hw + i];
    }
    return out;
  }
  function mix(t, to) {
    t = Math.max(0, Math.min(1, t));
    var a = [255, 255, 255], b = [parseInt(to.slice(1, 3), 16), parseInt(to.slice(3, 5), 16), parseInt(to.slice(5, 7), 16)];
    return "rgb(" + a.map(function (v, i) { return Math.round(v + (b[i] - v) * t); }).join(",") + ")";
  }
  function range(v) {
    var lo = Infinity, hi = -Infinity;
    v.forEach(function (x) { lo = Math.min(lo, x); hi = Math.max(hi, x); });
    return [lo, hi];
  }
  // panel: { title, values, kind: "input" | "up" | "down" | "signed", max }
  function heatmap(panel) {
    var g = grid(), fig = document.createElement("figure"), svg = el("svg", {
      "class": "heatmap", viewBox: "0 0 " + g.w + " " + g.h, width: 160, height: Math.round(160 * g.h / g.w),
      "shape-rendering": "crispEdges", role: "img", "aria-label": panel.title });
    var colour;
    if (panel.kind === "input") {
      if (panel.values.length === 3 * g.h * g.w) {
        var ch = [0, 1, 2].map(function (c) { return pooled(panel.values, g, c); });
        var lr = range(ch[0].concat(ch[1], ch[2])), span = (lr[1] - lr[0]) || 1;
        colour = function (i) { return "rgb(" + ch.map(function (v) { return Math.round(255 * (v[i] - lr[0]) / span); }).join(",") + ")"; };
      } else {
        var v = pooled(panel.values, g), gr = range(v), sp = (gr[1] - gr[0]) || 1;
        colour = function (i) { var t = Math.round(255 * (v[i] - gr[0]) / sp); return "rgb(" + t + "," + t + "," + t + ")"; };
      }
    } else {
      var p = pooled(panel.values, g), max = panel.max || 1e-300;
      colour = function (i) {
        if (panel.kind === "up") return mix(p[i] / max, UP);
        if (panel.kind === "down") return mix(p[i] / max, DOWN);
        return p[i] >= 0 ? mix(p[i] / max, UP) : mix(-p[i] / max, DOWN);
      };
    }
    for (var i = 0; i < g.h; i++) for (var j = 0; j < g.w; j++)
      svg.appendChild(el("rect", { x: j, y: i, width: 1, height: 1, fill: colour(i * g.w + j) }));
    fig.appendChild(svg);
    var cap = document.createElement("figcaption");
    cap.textContent = panel.title + (panel.kind === "input" ? "" : " (max " + fmt(panel.max) + ")");
    fig.appendChild(cap);
    return fig;
  }
  function peak(list) {
    var g = grid(), max = 0;
    list.forEach(function (v) { pooled(v, g).forEach(function (x) { max = Math.max(max, Math.abs(x)); }); });
    return max;
  }
  function perPixel(v) { return data.group_of.map(function (g) { return v[g]; }); }
  function imagePanels(m, r) {
    var row = m.rows[r], values = data.rows[r].values;
    var out = [{ title: "input, data row " + data.rows[r].row, values: values, kind: "input" }];
    if (data.kind === "ame") {
      var a = perPixel(row.importance);
      out.push({ title: "attention of the pixel's group", values: a, kind: "up", max: peak([a]) });
      if (row.granger) { var w = perPixel(row.granger); out.push({ title: "Granger target ω", values: w, kind: "down", max: peak([w]) }); }
    } else if (row.pos) {
      var both = peak([row.pos, row.neg]);
      out.push({ title: "S+ (pushes up)", values: row.pos, kind: "up", max: both });
      out.push({ title: "S− (pushes down)", values: row.neg, kind: "down", max: both });
      out.push({ title: "joint S+ − S−", values: row.scores, kind: "signed", max: peak([row.scores]) });
    } else {
      out.push({ title: "score", values: row.scores, kind: "signed", max: peak([row.scores]) });
    }
    return out;
  }
  function globalPanels(m) {
    var gl = m.global;
    if (data.kind === "ame") { var a = perPixel(gl.importance); return [{ title: "mean attention", values: a, kind: "up", max: peak([a]) }]; }
    if (gl.pos) {
      var both = peak([gl.pos, gl.neg]);
      return [{ title: "mean S+", values: gl.pos, kind: "up", max: both }, { title: "mean S−", values: gl.neg, kind: "down", max: both },
        { title: "mean |S+ − S−|", values: gl.abs, kind: "up", max: peak([gl.abs]) }];
    }
    return [{ title: "mean |score|", values: gl.abs, kind: "up", max: peak([gl.abs]) }];
  }
  function images(m, r) {
    var rowBox = document.getElementById("image-row"), globalBox = document.getElementById("image-global");
    if (!data.image || !rowBox) return;
    while (rowBox.firstChild) rowBox.removeChild(rowBox.firstChild);
    imagePanels(m, r).forEach(function (p) { rowBox.appendChild(heatmap(p)); });
    if (globalBox.getAttribute("data-method") !== String(data.methods.indexOf(m))) {
      while (globalBox.firstChild) globalBox.removeChild(globalBox.firstChild);
      globalPanels(m).forEach(function (p) { globalBox.appendChild(heatmap(p)); });
      globalBox.setAttribute("data-method", String(data.methods.indexOf(m)));
    }
  }

  function conflicts(list, m, r) {
    var row = m.rows[r];
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    if (!row.pos) { list.appendChild(document.createTextNode("(only CAFE splits scores into S+ and S−)")); return; }
    var idx = row.pos.map(function (_, i) { return i; }).filter(function (i) {
      return Math.min(row.pos[i], row.neg[i]) > data.conflict_share * Math.max(row.pos[i], row.neg[i], 1e-12) && Math.min(row.pos[i], row.neg[i]) > 0;
    });
    idx.sort(function (a, b) { return Math.min(row.pos[b], row.neg[b]) - Math.min(row.pos[a], row.neg[a]); });
    if (!idx.length) { list.appendChild(document.createTextNode("no feature of this row has large opposing effects")); return; }
    idx.slice(0, 10).forEach(function (i) {
      var li = document.createElement("li");
      li.textContent = data.features[i] + ": S+ " + fmt(row.pos[i]) + ", S− " + fmt(row.neg[i]) + ", joint " + fmt(row.scores[i]);
      list.appendChild(li);
    });
  }

  var methodSel = document.getElementById("method-pick"), rowIn = document.getElementById("row-pick"),
      sortSel = document.getElementById("row-sort"), svg = document.getElementById("waterfall") || document.getElementById("attention"),
      info = document.getElementById("waterfall-info"), clist = document.getElementById("row-conflicts");
  function current() { return data.methods[+(methodSel ? methodSel.value : 0)]; }
  // Spearman correlation of |scores| between every other method and this one, for row r.
  function ranks(v) {
    var idx = v.map(function (_, i) { return i; }).sort(function (a, b) { return v[a] - v[b]; });
    var out = new Array(v.length), i = 0;
    while (i < idx.length) {
      var j = i;
      while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
      for (var k = i; k <= j; k++) out[idx[k]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return out;
  }
  function spearman(a, b) {
    var ra = ranks(a), rb = ranks(b), n = ra.length, ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (var i = 0; i < n; i++) { ma += ra[i] / n; mb += rb[i] / n; }
    for (i = 0; i < n; i++) { sab += (ra[i] - ma) * (rb[i] - mb); saa += (ra[i] - ma) * (ra[i] - ma); sbb += (rb[i] - mb) * (rb[i] - mb); }
    return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
  }
  function agreement(m, r) {
    var absm = m.rows[r].scores.map(Math.abs), parts = [];
    data.methods.forEach(function (o) {
      if (o !== m) parts.push(o.spec + " " + fmt(spearman(absm, o.rows[r].scores.map(Math.abs))));
    });
    return parts.length ? "; rank agreement with " + parts.join(", ") : "";
  }
  function show(r) {
    var m = current();
    r = Math.max(0, Math.min(m.rows.length - 1, r | 0));
    rowIn.value = data.rows[r].row;
    info.textContent = "data row " + data.rows[r].row + ": " +
      (data.kind === "ame" ? attention(svg, m, r) : waterfall(svg, m, r) + agreement(m, r));
    conflicts(clist, m, r);
    images(m, r);
    return r;
  }
  var pos = 0;
  function byRowNumber(n) {
    for (var i = 0; i < data.rows.length; i++) if (data.rows[i].row === n) return i;
    return -1;
  }
  if (svg && data.rows.length) {
    rowIn.addEventListener("change", function () { var i = byRowNumber(+rowIn.value); if (i >= 0) pos = show(i); });
    document.getElementById("row-next").addEventListener("click", function () { pos = show(next(1)); });
    document.getElementById("row-prev").addEventListener("click", function () { pos = show(next(-1)); });
    if (methodSel) methodSel.addEventListener("change", function () { pos = show(pos); });
    pos = show(0);
  }
  // Order of rows for next/previous: data order, by prediction, or by conflict.
  function next(dir) {
    var m = current(), n = m.rows.length, key = sortSel.value;
    if (key === "row") return (pos + dir + n) % n;
    var order = m.rows.map(function (_, i) { return i; });
    order.sort(function (a, b) { return m.rows[b][key] - m.rows[a][key]; });
    return order[(order.indexOf(pos) + dir + n) % n];
  }

  // Sortable tables: click a header.
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
    Array.prototype.forEach.call(t.querySelectorAll("th"), function (th, c) {
      th.classList.add("sortable");
      th.addEventListener("click", function () {
        var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var desc = th.getAttribute("data-desc") !== "1";
        rows.sort(function (a, b) {
          var x = a.cells[c].getAttribute("data-v"), y = b.cells[c].getAttribute("data-v");
          if (x === null) { x = a.cells[c].textContent; y = b.cells[c].textContent; return desc ? y.localeCompare(x) : x.localeCompare(y); }
          return desc ? y - x : x - y;
        });
        th.setAttribute("data-desc", desc ? "1" : "0");
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  // #selftest: pick another row and say in the page whether the waterfall changed.
  if (location.hash === "#selftest") {
    var out = document.createElement("p");
    out.id = "selftest-result";
    if (svg && data.rows.length > 1) {
      var box = document.getElementById("image-row"), before = svg.innerHTML, beforeImg = box ? box.innerHTML : "";
      pos = show(1);
      out.textContent = "selftest: row " + data.rows[1].row + " shown; waterfall changed: " + (svg.innerHTML !== before) +
        (box ? "; images changed: " + (box.innerHTML !== beforeImg) : "");
    } else {
      out.textContent = "selftest: only " + data.rows.length + " row(s) kept; nothing to compare";
    }
    document.body.appendChild(out);
  }
})();
