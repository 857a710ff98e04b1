// conflux report: per-row views (waterfall, conflicts) drawn from the JSON block, sortable
// tables, and a self-test (open the file with #selftest). No network, no dependencies.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var UP = "#e66100", DOWN = "#1f6fb4", BIAS = "#777777";

  function el(tag, attrs, text) {
    var e = document.createElementNS(document.getElementById("waterfall").namespaceURI, tag);
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
        var tip = names[i] + " = " + fmt(data.rows[r].values[i]) + ": " + fmt(row.scores[i]);
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

  function conflicts(list, m, r) {
    var row = m.rows[r];
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
      sortSel = document.getElementById("row-sort"), svg = document.getElementById("waterfall"),
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
    info.textContent = "data row " + data.rows[r].row + ": " + waterfall(svg, m, r) + agreement(m, r);
    conflicts(clist, m, r);
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
    order.sort(function (a, b) { return key === "output" ? m.rows[b].output - m.rows[a].output : m.rows[b].conflict - m.rows[a].conflict; });
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
      var before = svg.innerHTML;
      pos = show(1);
      out.textContent = "selftest: row " + data.rows[1].row + " shown; waterfall changed: " + (svg.innerHTML !== before);
    } else {
      out.textContent = "selftest: only " + data.rows.length + " row(s) kept; nothing to compare";
    }
    document.body.appendChild(out);
  }
})();
