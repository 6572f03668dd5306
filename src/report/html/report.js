// DiviML's HTML report: draws the plan held in #diviml-data (written by src/report/html.cpp).
// DOM calls only: no text from the data is ever parsed as HTML.
(function () {
  'use strict';
  const SVGNS = 'http://www.w3.org/2000/svg';  // a namespace name, not an address that is fetched
  const body = document.body;

  window.addEventListener('error', function (e) {
    body.dataset.status = 'error';
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = 'The report failed to draw: ' + (e.message || e);
    body.appendChild(p);
  });

  // --- small helpers ---------------------------------------------------------------------
  function el(tag, props, kids) {
    const e = document.createElement(tag);
    if (props) for (const k in props) {
      if (k === 'text') e.textContent = props[k];
      else if (k === 'cls') e.className = props[k];
      else e.setAttribute(k, props[k]);
    }
    if (kids) for (const c of kids) if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }
  function sv(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function us(x) {
    if (x === null || x === undefined || !isFinite(x)) return '-';
    const a = Math.abs(x);
    if (a >= 1e6) return (x / 1e6).toFixed(3) + ' s';
    if (a >= 1e3) return (x / 1e3).toFixed(3) + ' ms';
    return x.toFixed(a >= 100 ? 1 : 2) + ' \u00b5s';
  }
  function bytes(x) {
    if (x === null || x === undefined) return '-';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(x) >= 1024 && i < u.length - 1) { x /= 1024; ++i; }
    return (i ? x.toFixed(2) : String(Math.round(x))) + ' ' + u[i];
  }
  function pct(x) { return (100 * x).toFixed(1) + '%'; }
  function hue(s) {  // a stable colour per op kind
    let h = 2166136261;
    for (let i = 0; i < s.length; ++i) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return 'hsl(' + (((h >>> 0) % 360)) + ',62%,' + (58 + ((h >>> 9) % 3) * 8) + '%)';
  }
  // A readable step for axis ticks: 1, 2 or 5 times a power of ten.
  function niceStep(span, n) {
    const raw = span / Math.max(1, n);
    const p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
    return 10 * p;
  }

  const D = JSON.parse(document.getElementById('diviml-data').textContent);
  const root = document.getElementById('report');
  const devices = D.devices, nodes = D.nodes, k = devices.length;
  const stream = D.objective === 'throughput';

  // --- header and key figures ------------------------------------------------------------
  document.title = 'DiviML: ' + D.graph + ' on ' + D.platform + ' (' + D.solver + ')';
  root.appendChild(el('h1', {text: D.graph + ' on ' + D.platform}));
  root.appendChild(el('div', {cls: 'sub', id: 'subtitle', text: (stream ? 'period ' + us(D.period_us) + ' (bound ' +
    (D.lower_bound_us > 0 ? us(D.lower_bound_us) : 'none') + '), latency ' + us(D.latency_us) + '; ' : '') +
    'plan by ' + D.solver + ', objective ' + D.objective + ', ' + nodes.length +
    ' ops on ' + k + ' devices, ' + D.copies.length + ' copies'}));
  // A throughput plan's ops and copies are one steady-state round of `round` (lanes x period),
  // given relative to the injection of the round's first input. Drawn over WINDOW rounds at their
  // place in the round (t mod round: nothing negative); an op with delay d belongs to the input
  // injected d rounds earlier, so in its input's own life it runs at t + d x round - lane x period.
  const round = stream ? D.round_us : 0, WINDOW = 2;
  function phase(t) { return stream && round > 0 ? t - Math.floor(t / round) * round : t; }
  function inInput(t, lane, delay) { return t + delay * round - lane * D.period_us; }
  const LANE_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];
  function laneColour(l) { return LANE_COLOURS[l % LANE_COLOURS.length]; }
  function card(key, value, extra) {
    return el('div', {cls: 'card'}, [el('div', {cls: 'k', text: key}), el('div', {cls: 'v', text: value}),
      extra ? el('div', {cls: 'x', text: extra}) : null]);
  }
  const cards = el('div', {cls: 'cards', id: 'figures'});
  const value = stream ? D.period_us : D.makespan_us;
  if (stream) {
    cards.appendChild(card('period', us(D.period_us), D.throughput_per_s.toFixed(1) + ' inputs/s' +
      (D.batch > 1 ? ' (' + (D.throughput_per_s * D.batch).toFixed(1) + ' samples/s)' : '')));
    cards.appendChild(card('latency', us(D.latency_us), D.lanes + ' lane(s)'));
  } else {
    cards.appendChild(card('makespan', us(D.makespan_us)));
  }
  cards.appendChild(card('lower bound', D.lower_bound_us > 0 ? us(D.lower_bound_us) : 'none',
    stream ? 'on the period' : 'on the makespan'));
  cards.appendChild(card('gap', D.lower_bound_us > 0 ? pct(D.gap) : '-', '(value - bound) / value'));
  cards.appendChild(card('status', D.status));
  cards.appendChild(card('solve time', D.solve_time_s.toFixed(3) + ' s'));
  root.appendChild(cards);

  // --- solver comparison -------------------------------------------------------------------
  if (D.comparison) {
    root.appendChild(el('h2', {text: 'Solvers compared'}));
    const vname = stream ? 'period_us' : 'makespan_us';
    const rows = D.comparison.solvers;
    let best = Infinity;
    for (const r of rows) if (r.status !== 'error' && r[vname] < best) best = r[vname];
    const t = el('table', {id: 'comparison'});
    t.appendChild(el('tr', null, ['solver', 'status', stream ? 'period' : 'makespan', 'lower bound', 'gap',
      'speed-up', 'solve time'].map(function (h, i) { return el('th', {cls: i < 2 ? 't' : '', text: h}); })));
    for (const r of rows) {
      const tr = el('tr', {cls: (r.status !== 'error' && r[vname] === best ? 'best ' : '') + (r.solver === D.solver ? 'mine' : '')});
      tr.appendChild(el('td', {cls: 't', text: r.solver}));
      if (r.status === 'error') {
        tr.appendChild(el('td', {cls: 't', text: 'error'}));
        tr.appendChild(el('td', {cls: 'err', colspan: '5', text: r.error}));
      } else {
        tr.appendChild(el('td', {cls: 't', text: r.status}));
        tr.appendChild(el('td', {text: us(r[vname])}));
        tr.appendChild(el('td', {text: r.lower_bound_us > 0 ? us(r.lower_bound_us) : '-'}));
        tr.appendChild(el('td', {text: r.lower_bound_us > 0 ? pct(r.gap) : '-'}));
        tr.appendChild(el('td', {text: r.speedup ? r.speedup.toFixed(2) + 'x' : '-'}));
        tr.appendChild(el('td', {text: r.solve_time_s.toFixed(3) + ' s'}));
      }
      t.appendChild(tr);
    }
    root.appendChild(t);
  }

  // --- latency-period trade-off (compare --tradeoff) ------------------------------------------
  if (D.tradeoff) {
    const T = D.tradeoff, L = T.latency_plan.makespan_us;
    root.appendChild(el('h2', {text: 'Throughput against latency (latency plan: ' + us(L) + ')'}));
    const pts = T.points.filter(function (p) { return p.period_us !== undefined; });
    const TW = 560, TH = 300, PAD = 60;
    let maxLat = L, maxPer = 0;
    for (const p of pts) { maxLat = Math.max(maxLat, p.latency_us); maxPer = Math.max(maxPer, p.period_us); }
    const chart = sv('svg', {width: TW + 2 * PAD, height: TH + 2 * PAD, id: 'tradeoff', role: 'img'});
    // Log scales: latencies and periods span decades.
    const lx = function (v) { return PAD + (Math.log(v / (0.8 * L)) / Math.log(1.25 * maxLat / (0.8 * L))) * TW; };
    const minPer = Math.min.apply(null, pts.map(function (p) { return p.lower_bound_us > 0 ? p.lower_bound_us : p.period_us; }).concat([maxPer]));
    const ly = function (v) { return PAD + TH - (Math.log(v / (0.8 * minPer)) / Math.log(1.25 * maxPer / (0.8 * minPer))) * TH; };
    chart.appendChild(sv('line', {x1: PAD, x2: PAD + TW, y1: PAD + TH, y2: PAD + TH, stroke: '#333'}));
    chart.appendChild(sv('line', {x1: PAD, x2: PAD, y1: PAD, y2: PAD + TH, stroke: '#333'}));
    chart.appendChild(sv('text', {x: PAD + TW / 2, y: PAD + TH + 40, 'text-anchor': 'middle'}, 'one input\'s latency'));
    chart.appendChild(sv('text', {x: 14, y: PAD - 14}, 'period (lower: more inputs/s)'));
    for (const p of T.points) {
      if (p.max_latency_us === null) continue;
      const xv = lx(p.max_latency_us);
      chart.appendChild(sv('line', {x1: xv, x2: xv, y1: PAD, y2: PAD + TH, class: 'cap'}));
      chart.appendChild(sv('text', {x: xv + 3, y: PAD + 10, class: 'tick'}, p.factor + 'x'));
    }
    let line = '';
    pts.slice().sort(function (a, b) { return a.latency_us - b.latency_us; }).forEach(function (p, i) {
      line += (i ? 'L' : 'M') + lx(p.latency_us) + ',' + ly(p.period_us);
    });
    if (line) chart.appendChild(sv('path', {d: line, fill: 'none', stroke: '#2f6fd6'}));
    for (const p of pts) {
      const c = sv('circle', {cx: lx(p.latency_us), cy: ly(p.period_us), r: 5, fill: '#2f6fd6', class: 'point'});
      c.appendChild(sv('title', null, (p.factor ? p.factor + 'x' : 'no limit') + ': period ' + us(p.period_us) +
        ' (bound ' + us(p.lower_bound_us) + '), latency ' + us(p.latency_us)));
      chart.appendChild(c);
      chart.appendChild(sv('text', {x: lx(p.latency_us) + 7, y: ly(p.period_us) - 6, class: 'tick'}, us(p.period_us)));
    }
    root.appendChild(chart);
    const t = el('table', {id: 'tradeoff-table'});
    t.appendChild(el('tr', null, ['latency limit', 'period', 'bound', 'latency', 'inputs/s', 'lanes'].map(
      function (h, i) { return el('th', {cls: i === 0 ? 't' : '', text: h}); })));
    for (const p of T.points) {
      const limit = p.max_latency_us === null ? 'none' : p.factor + 'x (' + us(p.max_latency_us) + ')';
      if (p.period_us === undefined) {
        t.appendChild(el('tr', null, [el('td', {cls: 't', text: limit}), el('td', {cls: 'err', colspan: '5', text: p.error})]));
        continue;
      }
      t.appendChild(el('tr', null, [el('td', {cls: 't', text: limit}), el('td', {text: us(p.period_us)}),
        el('td', {text: us(p.lower_bound_us)}), el('td', {text: us(p.latency_us)}),
        el('td', {text: p.throughput_per_s.toFixed(1)}), el('td', {text: String(p.lanes)})]));
    }
    root.appendChild(t);
  }

  // --- Gantt chart -------------------------------------------------------------------------
  root.appendChild(el('h2', {text: stream ? 'Steady state: ' + WINDOW + ' rounds of ' + D.lanes + ' lane(s) (' +
    us(round) + ' each), period ' + us(D.period_us) + ' marked' : 'Timeline'}));
  const tip = el('div', {id: 'tip'});
  document.body.appendChild(tip);
  function showTip(ev, title, lines, costs) {
    tip.replaceChildren(el('b', {text: title}));
    for (const l of lines) tip.appendChild(el('div', {text: l}));
    if (costs) tip.appendChild(costs);
    tip.style.display = 'block';
    const w = tip.offsetWidth, h = tip.offsetHeight;
    let x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function hideTip() { tip.style.display = 'none'; }
  function costTable(n, chosen) {
    const t = el('table');
    t.appendChild(el('tr', null, [el('th', {cls: 't', text: 'device'}), el('th', {text: 'cost'})]));
    nodes[n].cost.forEach(function (c, d) {
      t.appendChild(el('tr', {cls: d === chosen ? 'on' : ''}, [el('td', {cls: 't', text: devices[d].name}),
        el('td', {text: c === null ? 'cannot run' : us(c)})]));
    });
    return t;
  }

  // Rows: one per device, then one per link direction that carries a copy (more where copies
  // on one link overlap: the latency model has no link contention).
  const rowsOf = [];
  for (let d = 0; d < k; ++d) rowsOf.push({label: devices[d].name, kind: 'device'});
  const linkRows = new Map();
  const copyRow = [];
  D.copies.forEach(function (c, i) {
    const key = c[0] + '>' + c[1];
    if (!linkRows.has(key)) linkRows.set(key, []);
    const subs = linkRows.get(key);
    let s = 0;
    while (s < subs.length && subs[s].until > c[2] + 1e-9) ++s;
    if (s === subs.length) subs.push({until: 0, row: -1});
    subs[s].until = c[3];
    copyRow[i] = {key: key, sub: s};
  });
  const linkKeys = Array.from(linkRows.keys()).sort(function (a, b) {
    const [a0, a1] = a.split('>').map(Number), [b0, b1] = b.split('>').map(Number);
    return a0 - b0 || a1 - b1;
  });
  for (const key of linkKeys) {
    const [a, b] = key.split('>').map(Number);
    linkRows.get(key).forEach(function (s, i) {
      s.row = rowsOf.length;
      rowsOf.push({label: devices[a].name + ' \u2192 ' + devices[b].name + (i ? ' #' + (i + 1) : ''), kind: 'link'});
    });
  }

  let span = D.makespan_us;
  if (stream) {
    span = WINDOW * round;
  } else {
    for (const o of D.ops) span = Math.max(span, o[3]);
    for (const c of D.copies) span = Math.max(span, c[3]);
  }
  if (!(span > 0)) span = 1;
  // Where an interval of the round shows in the window: its place in the round, and the same
  // one round later, and so on (the round before too when it spills over the round's end);
  // clipped to the window.
  function showings(start, end) {
    if (!stream || !(round > 0)) return [[start, end, true]];
    const s0 = phase(start), len = end - start, out = [];
    for (let j = -1; j < WINDOW; ++j) {
      const a = s0 + j * round, b = a + len;
      if (b <= 0 || a >= span) continue;
      out.push([Math.max(0, a), Math.min(span, b), j === 0]);
    }
    return out;
  }

  const kinds = new Map();
  for (const n of nodes) kinds.set(n.op || 'op', (kinds.get(n.op || 'op') || 0) + 1);

  const controls = el('div', {cls: 'controls'});
  const zin = el('button', {type: 'button', text: 'zoom in'});
  const zout = el('button', {type: 'button', text: 'zoom out'});
  const zfit = el('button', {type: 'button', text: 'fit'});
  const find = el('input', {type: 'search', placeholder: 'highlight ops whose id contains\u2026', size: '34', id: 'find'});
  const found = el('span', {cls: 'sub'});
  controls.append(zin, zout, zfit, find, found);
  root.appendChild(controls);
  const scroll = el('div', {cls: 'scroll', id: 'gantt'});
  root.appendChild(scroll);
  const legend = el('div', {cls: 'legend'});
  if (stream) {
    for (let l = 0; l < D.lanes; ++l)
      legend.appendChild(el('span', null, [el('span', {cls: 'sw', style: 'background:' + laneColour(l)}),
        'lane ' + l + ' (inputs ' + l + ', ' + (l + D.lanes) + ', ...)']));
    legend.appendChild(el('span', null, [el('span', {cls: 'sw', style: 'background:#fff;border-style:dashed'}),
      'dashed: every period']));
  } else {
    Array.from(kinds.keys()).sort().forEach(function (op) {
      legend.appendChild(el('span', null, [el('span', {cls: 'sw', style: 'background:' + hue(op)}), op + ' (' + kinds.get(op) + ')']));
    });
  }
  root.appendChild(legend);

  const LABEL = 170, ROW = 22, AXIS = 22;
  let zoom = 1;
  let opRects = [];
  function baseWidth() { return Math.max(600, (scroll.clientWidth || 1000) - LABEL - 20); }
  function drawGantt() {
    const W = baseWidth() * zoom;
    const H = AXIS + rowsOf.length * ROW + 4;
    const g = sv('svg', {width: LABEL + W + 10, height: H, role: 'img'});
    const x = function (t) { return LABEL + (t / span) * W; };
    const step = niceStep(span, W / 110);
    for (let t = 0; t <= span + 1e-9; t += step) {
      g.appendChild(sv('line', {x1: x(t), x2: x(t), y1: AXIS - 4, y2: H, class: 'grid'}));
      g.appendChild(sv('text', {x: x(t) + 2, y: 12, class: 'tick'}, us(t)));
    }
    if (stream && D.period_us > 0)
      for (let t = D.period_us; t < span - 1e-9; t += D.period_us)
        g.appendChild(sv('line', {x1: x(t), x2: x(t), y1: AXIS - 4, y2: H,
          class: Math.abs(t / round - Math.round(t / round)) < 1e-9 ? 'period round' : 'period'}));
    rowsOf.forEach(function (r, i) {
      const y = AXIS + i * ROW;
      if (i % 2 === 0) g.appendChild(sv('rect', {x: 0, y: y, width: LABEL + W + 10, height: ROW, fill: '#fafbfc'}));
      g.appendChild(sv('text', {x: 6, y: y + 15, class: r.kind === 'device' ? 'row-label' : ''}, r.label));
    });
    opRects = [];
    for (const o of D.ops) {
      const n = nodes[o[0]];
      const y = AXIS + o[1] * ROW + 2;
      for (const [a, b, first] of showings(o[2], o[3])) {
        const w = Math.max(0.6, x(b) - x(a));
        // One element per op (the first showing) carries its id; the repeats are drawn alike.
        const r = sv('rect', {x: x(a), y: y, width: w, height: ROW - 4, class: first ? 'op' : 'op rep',
          fill: stream ? laneColour(o[4]) : hue(n.op || 'op')});
        if (first) {
          r.setAttribute('data-node', n.id);
          r.setAttribute('data-device', devices[o[1]].name);
          if (stream) r.setAttribute('data-lane', o[4]);
          opRects.push(r);
        }
        r.addEventListener('mousemove', function (ev) {
          const lines = [(n.op || 'op') + ' on ' + devices[o[1]].name + (stream ? ', lane ' + o[4] : '')];
          if (stream) {
            lines.push('in the round: ' + us(phase(o[2])) + ' - ' + us(phase(o[2]) + o[3] - o[2]) + ' (' + us(o[3] - o[2]) + ')');
            lines.push('in its input\'s life: ' + us(inInput(o[2], o[4], o[5])) + ' (delay ' + o[5] + ' round(s))');
          } else {
            lines.push('start ' + us(o[2]) + ', end ' + us(o[3]) + ' (' + us(o[3] - o[2]) + ')');
          }
          if (n.flops !== undefined) lines.push((n.flops / 1e9).toFixed(3) + ' GFLOP');
          showTip(ev, n.id, lines, costTable(o[0], o[1]));
        });
        r.addEventListener('mouseleave', hideTip);
        g.appendChild(r);
        if (w > 40) {
          const label = sv('text', {x: x(a) + 3, y: y + 13, 'pointer-events': 'none'}, n.id);
          label.setAttribute('textLength', Math.min(w - 6, n.id.length * 6.2));
          label.setAttribute('lengthAdjust', 'spacingAndGlyphs');
          g.appendChild(label);
        }
      }
    }
    D.copies.forEach(function (c, i) {
      const row = linkRows.get(copyRow[i].key)[copyRow[i].sub].row;
      const y = AXIS + row * ROW + 5;
      for (const [a, b] of showings(c[2], c[3])) {
        const r = sv('rect', {x: x(a), y: y, width: Math.max(0.6, x(b) - x(a)), height: ROW - 10, class: 'copy'});
        if (stream) r.setAttribute('fill', laneColour(c[7]));
        r.addEventListener('mousemove', function (ev) {
          showTip(ev, c[5], [devices[c[0]].name + ' \u2192 ' + devices[c[1]].name + (stream ? ', lane ' + c[7] : ''),
            bytes(c[4]) + ', ' + (stream ? 'in the round ' + us(phase(c[2])) : 'start ' + us(c[2]) + ', end ' + us(c[3])) +
            ' (' + us(c[3] - c[2]) + ')']);
        });
        r.addEventListener('mouseleave', hideTip);
        g.appendChild(r);
      }
    });
    scroll.replaceChildren(g);
    highlight();
  }
  function highlight() {
    const q = find.value.trim();
    let hits = 0;
    for (const r of opRects) {
      const on = q !== '' && r.getAttribute('data-node').indexOf(q) >= 0;
      r.classList.toggle('hit', on);
      hits += on ? 1 : 0;
    }
    found.textContent = q === '' ? '' : hits + ' op(s)';
  }
  zin.addEventListener('click', function () { zoom = Math.min(zoom * 2, 4096); drawGantt(); });
  zout.addEventListener('click', function () { zoom = Math.max(zoom / 2, 1); drawGantt(); });
  zfit.addEventListener('click', function () { zoom = 1; drawGantt(); });
  find.addEventListener('input', highlight);
  drawGantt();

  // --- one input end to end (throughput) -----------------------------------------------------
  if (stream) {
    root.appendChild(el('h2', {text: 'One input end to end (lane 0): latency ' + us(D.latency_us)}));
    const pathDiv = el('div', {cls: 'scroll', id: 'path'});
    root.appendChild(pathDiv);
    const mine = D.ops.filter(function (o) { return o[4] === 0; });
    const moves = D.copies.filter(function (c) { return c[7] === 0; });
    const used = Array.from(new Set(mine.map(function (o) { return o[1]; }))).sort(function (a, b) { return a - b; });
    const PW = baseWidth(), PH = AXIS + (used.length + 1) * ROW + 4;
    let end = D.latency_us;
    for (const o of mine) end = Math.max(end, inInput(o[3], 0, o[5]));
    for (const c of moves) end = Math.max(end, inInput(c[3], 0, c[8]));
    if (!(end > 0)) end = 1;
    const g = sv('svg', {width: LABEL + PW + 10, height: PH, role: 'img'});
    const x = function (t) { return LABEL + (t / end) * PW; };
    const step = niceStep(end, PW / 110);
    for (let t = 0; t <= end + 1e-9; t += step) {
      g.appendChild(sv('line', {x1: x(t), x2: x(t), y1: AXIS - 4, y2: PH, class: 'grid'}));
      g.appendChild(sv('text', {x: x(t) + 2, y: 12, class: 'tick'}, us(t)));
    }
    for (let t = round; t < end - 1e-9; t += round)
      g.appendChild(sv('line', {x1: x(t), x2: x(t), y1: AXIS - 4, y2: PH, class: 'period round'}));
    used.forEach(function (d, i) {
      g.appendChild(sv('text', {x: 6, y: AXIS + i * ROW + 15, class: 'row-label'}, devices[d].name));
    });
    g.appendChild(sv('text', {x: 6, y: AXIS + used.length * ROW + 15, class: 'row-label'}, 'copies'));
    for (const o of mine) {
      const a = inInput(o[2], 0, o[5]), b = inInput(o[3], 0, o[5]);
      const r = sv('rect', {x: x(a), y: AXIS + used.indexOf(o[1]) * ROW + 2, width: Math.max(0.6, x(b) - x(a)),
        height: ROW - 4, class: 'path-op', fill: laneColour(0), 'data-path-node': nodes[o[0]].id});
      r.appendChild(sv('title', null, nodes[o[0]].id + ' on ' + devices[o[1]].name + ': ' + us(a) + ' - ' + us(b)));
      g.appendChild(r);
    }
    for (const c of moves) {
      const a = inInput(c[2], 0, c[8]), b = inInput(c[3], 0, c[8]);
      const r = sv('rect', {x: x(a), y: AXIS + used.length * ROW + 5, width: Math.max(0.6, x(b) - x(a)), height: ROW - 10,
        class: 'copy'});
      r.appendChild(sv('title', null, c[5] + ': ' + us(a) + ' - ' + us(b)));
      g.appendChild(r);
    }
    pathDiv.appendChild(g);
    body.dataset.pathEnd = String(end);
  }

  // --- memory over time --------------------------------------------------------------------
  root.appendChild(el('h2', {text: stream ? 'Memory over one steady-state round (' + us(D.memory_span_us) + ')'
                                          : 'Memory over time'}));
  const mem = el('div', {id: 'memory'});
  root.appendChild(mem);
  const MW = baseWidth(), MH = 110;
  D.memory.forEach(function (m, d) {
    const cap = devices[d].memory_bytes;
    // The scale fits the peak; the capacity line shows where it is near enough to matter.
    const capShown = cap && cap <= 2 * m.peak;
    const top = Math.max(1.1 * m.peak, capShown ? 1.05 * cap : 0, 1);
    const end = Math.max(D.memory_span_us, m.steps.length ? m.steps[m.steps.length - 1][0] : 0, 1e-9);
    const g = sv('svg', {width: LABEL + MW + 10, height: MH + 24, 'data-device': devices[d].name});
    const x = function (t) { return LABEL + (t / end) * MW; };
    const y = function (b) { return 8 + MH - (b / top) * MH; };
    g.appendChild(sv('text', {x: 6, y: 22, class: 'row-label'}, devices[d].name));
    g.appendChild(sv('text', {x: 6, y: 38, class: 'tick'}, 'peak ' + bytes(m.peak)));
    g.appendChild(sv('text', {x: 6, y: 52, class: 'tick'}, 'weights ' + bytes(m.resident)));
    g.appendChild(sv('text', {x: 6, y: 66, class: 'tick'}, cap ? 'capacity ' + bytes(cap) + (capShown ? '' : ' (off scale)')
                                                                  : 'no capacity set'));
    g.appendChild(sv('line', {x1: LABEL, x2: LABEL + MW, y1: y(m.peak), y2: y(m.peak), class: 'grid'}));
    g.appendChild(sv('line', {x1: LABEL, x2: LABEL + MW, y1: y(0), y2: y(0), class: 'grid'}));
    let path = 'M' + x(0) + ',' + y(0);
    let last = 0;
    for (const [t, b] of m.steps) {
      path += 'L' + x(t) + ',' + y(last) + 'L' + x(t) + ',' + y(b);
      last = b;
    }
    path += 'L' + x(end) + ',' + y(last) + 'L' + x(end) + ',' + y(0) + 'Z';
    g.appendChild(sv('path', {d: path, class: 'mem'}));
    if (capShown) g.appendChild(sv('line', {x1: LABEL, x2: LABEL + MW, y1: y(cap), y2: y(cap), class: 'cap'}));
    g.appendChild(sv('text', {x: LABEL - 4, y: y(m.peak) + 4, class: 'tick', 'text-anchor': 'end'}, bytes(m.peak)));
    g.appendChild(sv('text', {x: LABEL + 2, y: MH + 22, class: 'tick'}, '0'));
    g.appendChild(sv('text', {x: LABEL + MW - 60, y: MH + 22, class: 'tick'}, us(end)));
    mem.appendChild(g);
  });

  // --- modules (split) ----------------------------------------------------------------------
  if (D.modules.length) {
    root.appendChild(el('h2', {text: 'Modules (' + D.modules.length + ')'}));
    const t = el('table', {id: 'modules'});
    t.appendChild(el('tr', null, ['#', 'entry', 'exit', 'ops inside', 'channels', 'solved as', 'proven', 'cuts'].map(
      function (h, i) { return el('th', {cls: i === 1 || i === 2 || i >= 5 ? 't' : '', text: h}); })));
    D.modules.forEach(function (m, i) {
      t.appendChild(el('tr', null, [el('td', {text: String(i)}), el('td', {cls: 't', text: m.entry === null ? '(start)' : m.entry}),
        el('td', {cls: 't', text: m.exit === null ? '(end)' : m.exit}), el('td', {text: String(m.size)}),
        el('td', {text: String(m.channels)}), el('td', {cls: 't', text: m.how}), el('td', {cls: 't', text: m.proven ? 'yes' : 'no'}),
        el('td', {cls: 't', text: m.cuts.map(function (c) { return c.join(', '); }).join(' | ')})]));
    });
    root.appendChild(el('div', {cls: 'tablewrap'}, [t]));
  }

  // --- notes ------------------------------------------------------------------------------
  if (D.notes.length) {
    root.appendChild(el('h2', {text: 'Solver notes'}));
    root.appendChild(el('ul', {cls: 'notes'}, D.notes.map(function (n) { return el('li', {text: n}); })));
  }

  // --- every op ---------------------------------------------------------------------------
  root.appendChild(el('h2', {text: 'Ops'}));
  const filter = el('input', {type: 'search', placeholder: 'filter by id or kind\u2026', size: '34', id: 'filter'});
  const shown = el('span', {cls: 'sub'});
  root.appendChild(el('div', {cls: 'controls'}, [filter, shown]));
  const wrap = el('div', {cls: 'tablewrap'});
  root.appendChild(wrap);
  const LIMIT = 2000;  // rows drawn at once; the filter searches all
  const order = D.ops.slice().sort(function (a, b) { return phase(a[2]) - phase(b[2]) || a[1] - b[1]; });
  function drawTable() {
    const q = filter.value.trim();
    const t = el('table', {id: 'ops'});
    const head = ['op', 'kind', 'device'].concat(stream ? ['lane', 'delay', 'start in round', 'end in round', 'time',
      'start in its input'] : ['start', 'end', 'time'], devices.map(function (d) { return 'on ' + d.name; }));
    t.appendChild(el('tr', null, head.map(function (h, i) { return el('th', {cls: i < 3 ? 't' : '', text: h}); })));
    let matched = 0;
    for (const o of order) {
      const n = nodes[o[0]];
      if (q !== '' && n.id.indexOf(q) < 0 && (n.op || '').indexOf(q) < 0) continue;
      if (++matched > LIMIT) continue;
      const cells = [el('td', {cls: 't', text: n.id}), el('td', {cls: 't', text: n.op}), el('td', {cls: 't', text: devices[o[1]].name})];
      if (stream) {
        const a = phase(o[2]);
        cells.push(el('td', {text: String(o[4])}), el('td', {text: String(o[5])}), el('td', {text: us(a)}),
          el('td', {text: us(a + o[3] - o[2])}), el('td', {text: us(o[3] - o[2])}),
          el('td', {text: us(inInput(o[2], o[4], o[5]))}));
      } else {
        cells.push(el('td', {text: us(o[2])}), el('td', {text: us(o[3])}), el('td', {text: us(o[3] - o[2])}));
      }
      for (const c of n.cost) cells.push(el('td', {text: c === null ? 'cannot run' : us(c)}));
      t.appendChild(el('tr', null, cells));
    }
    wrap.replaceChildren(t);
    shown.textContent = matched + ' of ' + order.length + (matched > LIMIT ? ' (first ' + LIMIT + ' shown)' : '');
  }
  filter.addEventListener('input', drawTable);
  drawTable();

  let resizeTimer = 0;
  window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawGantt, 150); });
  body.dataset.ops = String(opRects.length);
  // report.html#selftest: hover the first op and check the tooltip names its cost on every
  // device (the browser test reads data-selftest from the DOM).
  if (location.hash === '#selftest' && opRects.length) {
    const r = opRects[0].getBoundingClientRect();
    opRects[0].dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + 1, clientY: r.top + 1, bubbles: true}));
    const rows = tip.querySelectorAll('tr').length - 1;
    const named = tip.textContent.indexOf(opRects[0].getAttribute('data-node')) >= 0;
    body.dataset.selftest = tip.style.display === 'block' && named && rows === k ? 'ok' : 'tooltip: ' + rows + ' cost rows';
    hideTip();
  }
  if (body.dataset.status !== 'error') body.dataset.status = 'ready';
})();
