// The Bellwether dashboard: polls /api/cluster (the serving member's view of
// every member, plus a short history) and redraws. No build step: plain
// browser JavaScript and uPlot, both served by the node.
'use strict';

const POLL_MS = 300;
/** The charts show at most the last 5 minutes, at least the last minute. */
const WINDOW_S = 5 * 60;
const MIN_WINDOW_S = 60;
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4b5563', '#db2777', '#65a30d'];

const $ = (id) => document.getElementById(id);
const charts = {};
let lagMembers = '';
let leaderMarks = [];

function text(el, value) {
  if (el.textContent !== value) el.textContent = value;
}

function bytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The first sentence of an error, short enough for a table cell (the full text is the cell's tooltip). */
function shortError(error) {
  if (!error) return '';
  const first = error.split(/\.\s/)[0];
  return first.length > 80 ? `${first.slice(0, 77)}...` : first;
}

function num(v) {
  return v === undefined || v === null ? '—' : String(v);
}

/** Draws a dashed vertical line at each leader change. */
function leaderChangePlugin() {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.strokeStyle = '#dc2626';
          ctx.setLineDash([5, 4]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          for (const mark of leaderMarks) {
            const x = u.valToPos(mark.t / 1000, 'x', true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

function makeChart(id, series) {
  const el = $(id);
  const opts = {
    width: Math.max(360, el.clientWidth || 420),
    height: 180,
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [{}, ...series.map((s, i) => ({ label: s, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))],
    axes: [{}, { size: 60 }],
    legend: { show: true },
    plugins: [leaderChangePlugin()],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], el);
}

function ensureCharts(memberIds) {
  if (!charts.ops) charts.ops = makeChart('chart-ops', ['ops/s']);
  if (!charts.p99) charts.p99 = makeChart('chart-p99', ['p99 ms']);
  const key = memberIds.join(',');
  if (key !== lagMembers) {
    charts.lag?.destroy();
    $('chart-lag').textContent = '';
    charts.lag = makeChart('chart-lag', memberIds);
    lagMembers = key;
  }
}

function renderCharts(data) {
  const memberIds = data.members.map((m) => m.id);
  ensureCharts(memberIds);
  leaderMarks = data.leaderChanges;
  const now = data.sampledAtMs / 1000;
  const points = data.history.filter((p) => p.t / 1000 >= now - WINDOW_S);
  const xs = points.map((p) => p.t / 1000);
  const first = xs.length > 0 ? xs[0] : now;
  const x = { min: Math.min(now - MIN_WINDOW_S, Math.max(first, now - WINDOW_S)), max: now };
  charts.ops.setData([xs, points.map((p) => p.opsPerSecond)], false);
  charts.ops.setScale('x', x);
  charts.p99.setData([xs, points.map((p) => p.p99Ms)], false);
  charts.p99.setScale('x', x);
  charts.lag.setData([xs, ...memberIds.map((id) => points.map((p) => (id in p.lag ? p.lag[id] : null)))], false);
  charts.lag.setScale('x', x);
  document.body.dataset.leaderChanges = String(leaderMarks.length);
}

function renderMembers(data) {
  const tbody = document.querySelector('#members tbody');
  const rows = data.members.map((m) => {
    const tr = document.createElement('tr');
    tr.dataset.member = m.id;
    tr.dataset.state = m.up ? 'up' : 'down';
    tr.dataset.role = m.up ? m.role : 'down';
    if (!m.up) tr.className = 'down';
    const isLeader = m.up && m.role === 'leader';
    const cells = [
      m.id,
      m.address,
      null,
      isLeader ? null : m.up ? m.role : '—',
      num(m.term),
      num(m.commitIndex),
      num(m.appliedIndex),
      m.up ? num(m.lagEntries) : '—',
      m.up ? bytes(m.dbSizeBytes) : '—',
      m.version ?? '—',
      shortError(m.error),
    ];
    cells.forEach((c, i) => {
      const td = document.createElement('td');
      if (i === 2) {
        const badge = document.createElement('span');
        badge.className = `badge ${m.up ? 'up' : 'down'}`;
        badge.textContent = m.up ? 'up' : 'down';
        td.appendChild(badge);
      } else if (i === 3 && isLeader) {
        const badge = document.createElement('span');
        badge.className = 'badge leader';
        badge.textContent = 'leader';
        td.appendChild(badge);
      } else {
        td.textContent = c;
      }
      if (i >= 4 && i <= 7) td.className = 'num';
      if (i === 10 && m.error) {
        td.className = 'error';
        td.title = m.error;
      }
      tr.appendChild(td);
    });
    return tr;
  });
  tbody.replaceChildren(...rows);
}

function renderSummary(data) {
  text($('cluster'), `cluster ${data.clusterId}`);
  text($('served-by'), data.servedBy);
  const leader = $('leader');
  if (data.leader) {
    text(leader, data.leader.id);
    leader.dataset.leader = data.leader.id;
    text($('term'), String(data.leader.term));
    const since = data.leader.sinceUnixMs;
    text($('leader-since'), since ? `since ${new Date(since).toLocaleTimeString()} (${ago(data.sampledAtMs - since)})` : '');
  } else {
    text(leader, 'none (election)');
    leader.dataset.leader = '';
    text($('term'), num(Math.max(0, ...data.members.map((m) => m.term ?? 0))));
    text($('leader-since'), '');
  }
  const up = data.members.filter((m) => m.up).length;
  text($('up'), `${up} / ${data.members.length}`);
  const last = data.history[data.history.length - 1];
  text($('ops'), last && last.opsPerSecond !== null ? last.opsPerSecond.toFixed(0) : '—');
  text($('p99'), last && last.p99Ms !== null ? `${last.p99Ms.toFixed(1)} ms` : '—');
}

async function poll() {
  try {
    const res = await fetch('/api/cluster', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    $('connection').hidden = true;
    renderSummary(data);
    renderMembers(data);
    renderCharts(data);
  } catch {
    $('connection').hidden = false;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

text($('every'), `${POLL_MS} ms`);
poll();
