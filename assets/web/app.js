// necromap web view. Plain JavaScript, no framework, no build step.
// Every string from the host goes in with textContent, never parsed as markup.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const ROW_H = 22;
const SEV_RANK = { critical: 5, high: 4, medium: 3, low: 2, info: 1 };
const $ = (id) => document.getElementById(id);
const state = { rows: [], sort: { key: 'severity', dir: -1 }, sel: -1, filter: '', generation: 0, loadingTable: null, mapAt: 0, tableAt: 0 };

// Elements --------------------------------------------------------------
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function sevClass(s) { return 'sev-' + (s || 'none'); }
function clock(ms) { return new Date(ms).toLocaleTimeString(); }

async function getJson(url) {
  const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  const body = await r.json().catch(() => ({ error: 'HTTP ' + r.status }));
  if (!r.ok) throw new Error(body.error || 'HTTP ' + r.status);
  return body;
}

// Theme ------------------------------------------------------------------
function applyTheme(t) {
  if (t) document.documentElement.dataset.theme = t; else delete document.documentElement.dataset.theme;
}
function toggleTheme() {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === 'dark'
    : window.matchMedia('(prefers-color-scheme: dark)').matches;
  const next = dark ? 'light' : 'dark';
  applyTheme(next);
  try { localStorage.setItem('necromap-theme', next); } catch (_) { /* private mode */ }
}

// Map: three columns (listeners, processes, remote endpoints and groups) --
const COLUMN = { listener: 0, process: 1, host: 1, endpoint: 2, group: 2 };
async function loadMap() {
  state.mapAt = Date.now();
  const doc = await getJson('/api/map');
  drawMap(doc);
  showSummary(doc.summary);
  showHealth(doc.health);
}
function drawMap(doc) {
  const map = $('map');
  map.replaceChildren();
  const colX = [150, 420, 690];
  const next = [0, 0, 0];
  const at = new Map();
  for (const n of doc.nodes) {
    const c = COLUMN[n.kind] ?? 2;
    at.set(n.id, { x: colX[c], y: 30 + next[c] * 34, n });
    next[c] += 1;
  }
  const height = 40 + Math.max(...next, 1) * 34;
  map.setAttribute('viewBox', `0 0 880 ${height}`);
  for (const e of doc.edges) {
    const a = at.get(e.from), b = at.get(e.to);
    if (!a || !b) continue;
    const line = svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: e.severity ? sevClass(e.severity) : '' });
    line.appendChild(svg('title', {}, `${e.kind} ×${e.sockets}`));
    map.appendChild(line);
  }
  for (const { x, y, n } of at.values()) {
    const g = svg('g', { class: 'node', tabindex: 0, 'data-id': n.id, 'data-kind': n.kind, 'data-severity': n.severity || 'none' });
    g.appendChild(svg('circle', { cx: x, cy: y, r: n.severity ? 8 : 6, class: sevClass(n.severity) }));
    const anchor = COLUMN[n.kind] === 0 ? 'end' : 'start';
    const dx = anchor === 'end' ? -12 : 12;
    g.appendChild(svg('text', { x: x + dx, y: y - 1, 'text-anchor': anchor }, n.label));
    g.appendChild(svg('text', { x: x + dx, y: y + 10, 'text-anchor': anchor, class: 'sub' }, (n.detail || '').slice(0, 40)));
    g.appendChild(svg('title', {}, [n.label, n.detail, (n.rule_ids || []).join(', ')].filter(Boolean).join('\n')));
    g.addEventListener('click', () => openNode(n));
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') openNode(n); });
    map.appendChild(g);
  }
  const left = Object.entries(doc.left_out || {}).map(([k, v]) => `${v} ${k}s`);
  $('left-out').textContent = left.length ? `(not drawn: ${left.join(', ')}; see the table)` : '';
}

// Connections: loaded through the server's filter, sorted and drawn here --
const COLUMNS = [
  ['severity', 'sev'], ['state', 'state'], ['process', 'process'], ['local', 'local'], ['remote', 'remote'], ['zone', 'zone'],
];
function sortValue(r, key) {
  if (key === 'severity') return SEV_RANK[r.severity] || 0;
  if (key === 'process') return (r.process || '') + ' ' + String(r.pid || 0).padStart(8, '0');
  return r[key] || '';
}
function sortRows() {
  const { key, dir } = state.sort;
  state.rows.sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.id < b.id ? -1 : 1);
  });
}
async function loadTable() {
  const filter = state.filter;
  state.tableAt = Date.now();
  const rows = [];
  let offset = 0, total = 0;
  try {
    for (;;) {
      const q = new URLSearchParams({ filter, limit: '5000', offset: String(offset) });
      const page = await getJson('/api/connections?' + q);
      total = page.total;
      rows.push(...(page.connections || []));
      if (filter !== state.filter) return;
      showRows(rows, total);
      if (page.next_offset === undefined || rows.length >= 50000) break;
      offset = page.next_offset;
    }
  } catch (err) {
    if (filter === state.filter) {
      $('filter-error').textContent = err.message;
      state.rows = [];
      state.sel = -1;
      $('total').textContent = '–';
      $('spacer').style.height = '0px';
      drawRows(true);
    }
    return;
  }
}
// The rows so far (the first page is on screen before the last arrives).
function showRows(rows, total) {
  $('filter-error').textContent = '';
  const chosen = state.rows[state.sel] && state.rows[state.sel].id;
  state.rows = rows.slice();
  sortRows();
  state.sel = chosen ? state.rows.findIndex((r) => r.id === chosen) : -1;
  $('total').textContent = `${total}`;
  $('rows').dataset.loaded = String(state.rows.length);
  $('spacer').style.height = `${state.rows.length * ROW_H}px`;
  drawRows(true);
}
const pool = [];
function drawRows(all) {
  const box = $('rows');
  const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 2);
  const count = Math.ceil(box.clientHeight / ROW_H) + 5;
  const spacer = $('spacer');
  while (pool.length < count) {
    const r = el('div', 'row');
    r.setAttribute('role', 'row');
    for (let i = 0; i < COLUMNS.length; i += 1) r.appendChild(el('span'));
    r.addEventListener('click', () => { select(Number(r.dataset.index)); openSocket(state.rows[state.sel]); });
    pool.push(r);
    spacer.appendChild(r);
  }
  pool.forEach((r, k) => {
    const i = first + k;
    const row = state.rows[i];
    if (!row || k >= count) { r.hidden = true; return; }
    r.hidden = false;
    if (!all && r.dataset.index === String(i) && r.dataset.id === row.id) { r.classList.toggle('sel', i === state.sel); return; }
    r.dataset.index = String(i);
    r.dataset.id = row.id;
    r.style.top = `${i * ROW_H}px`;
    r.classList.toggle('sel', i === state.sel);
    const cells = r.children;
    cells[0].textContent = row.severity || '';
    cells[0].className = sevClass(row.severity);
    cells[1].textContent = row.state || '';
    cells[2].textContent = row.process ? `${row.process} (${row.pid})` : '';
    cells[3].textContent = row.local || '';
    cells[4].textContent = row.remote_name ? `${row.remote} ${row.remote_name}` : (row.remote || '');
    cells[5].textContent = row.zone || '';
    r.title = (row.rule_ids || []).join(', ');
  });
}
function select(i) {
  if (!state.rows.length) return;
  state.sel = Math.max(0, Math.min(state.rows.length - 1, i));
  const box = $('rows');
  const top = state.sel * ROW_H;
  if (top < box.scrollTop) box.scrollTop = top;
  else if (top + ROW_H > box.scrollTop + box.clientHeight) box.scrollTop = top + ROW_H - box.clientHeight;
  drawRows(false);
}
function drawHead() {
  const head = $('thead');
  head.replaceChildren();
  for (const [key, name] of COLUMNS) {
    const b = el('button', '', name + (state.sort.key === key ? (state.sort.dir < 0 ? ' ▼' : ' ▲') : ''));
    b.type = 'button';
    b.dataset.key = key;
    b.addEventListener('click', () => {
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : (key === 'severity' ? -1 : 1) };
      sortRows();
      drawHead();
      drawRows(true);
    });
    head.appendChild(b);
  }
}

// Detail -----------------------------------------------------------------
function openNode(n) {
  document.querySelectorAll('#map .node.chosen').forEach((g) => g.classList.remove('chosen'));
  const g = document.querySelector(`#map .node[data-id="${CSS.escape(n.id)}"]`);
  if (g) g.classList.add('chosen');
  if (n.pid) return showDetail(`/api/processes/${n.pid}?detail=full`, n.label);
  if (n.socket_id) return showDetail('/api/explain?' + new URLSearchParams({ socket_id: n.socket_id, detail: 'full' }), n.label);
  return showDetail(null, n.label);
}
function openSocket(row) {
  if (row) showDetail('/api/explain?' + new URLSearchParams({ socket_id: row.id, detail: 'full' }), `${row.local} → ${row.remote || ''}`);
}
function facts(pairs) {
  const dl = el('dl');
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    dl.appendChild(el('dt', '', k));
    dl.appendChild(el('dd', '', Array.isArray(v) ? v.join(' ← ') : v));
  }
  return dl;
}
async function showDetail(url, title) {
  const box = $('detail'), body = $('detail-body');
  body.replaceChildren(el('h2', '', title));
  box.hidden = false;
  $('close').focus();
  if (!url) { body.appendChild(el('p', '', 'No socket to explain here.')); return; }
  let d;
  try { d = await getJson(url); } catch (err) { body.appendChild(el('p', 'sev-critical', err.message)); return; }
  if (d.verdict) body.appendChild(el('p', '', d.verdict));
  const p = d.process;
  if (p) {
    body.appendChild(el('h3', '', 'Process'));
    body.appendChild(facts([['pid', p.pid], ['name', p.name], ['user', p.user], ['exe', p.exe], ['command', p.cmdline],
      ['parents', p.ancestors], ['container', p.container], ['severity', d.severity || p.severity]]));
  }
  if (d.connection) {
    const c = d.connection;
    body.appendChild(el('h3', '', 'Connection'));
    body.appendChild(facts([['id', c.id], ['state', c.state], ['local', c.local], ['remote', c.remote], ['name', c.remote_name], ['zone', c.zone], ['severity', c.severity]]));
  }
  body.appendChild(el('h3', '', `Findings (${(d.findings || []).length})`));
  for (const f of d.findings || []) {
    const sec = el('div', 'finding');
    sec.appendChild(el('strong', sevClass(f.severity), `${f.severity} · ${f.rule_id}`));
    const note = (d.rules || {})[f.rule_id];
    if (note) { sec.appendChild(el('div', '', note.name)); sec.appendChild(el('p', 'explanation', note.explanation)); }
    const trace = el('ol', 'trace');
    for (const t of f.trace || []) trace.appendChild(el('li', '', t));
    sec.appendChild(el('div', '', 'Trace (why it matched):'));
    sec.appendChild(trace);
    body.appendChild(sec);
  }
  if ((d.steps || []).length) {
    body.appendChild(el('h3', '', 'Next steps'));
    const ol = el('ol', 'steps');
    for (const s of d.steps) { const li = el('li'); li.appendChild(el('code', '', s)); ol.appendChild(li); }
    body.appendChild(ol);
  }
}
function closeDetail() { $('detail').hidden = true; $('rows').focus(); }

// Summary, health, events -------------------------------------------------
function showSummary(s) {
  if (!s) return;
  $('host').textContent = s.host || '';
  const sev = Object.entries(s.findings_by_severity || {}).reverse().map(([k, v]) => `${v} ${k}`).join(', ');
  $('counts').textContent = `${s.sockets} sockets · ${s.processes} processes · ${s.endpoints} endpoints · ${s.findings} findings${sev ? ' (' + sev + ')' : ''} · generation ${s.generation}`;
  state.generation = s.generation;
}
function showHealth(h) {
  if (!h) return;
  const ul = $('health');
  ul.replaceChildren(el('li', '', h.privileged ? 'running as root: every owner visible' : `unprivileged: ${h.processes_denied || 0} processes unreadable`));
  for (const m of h.messages || []) ul.appendChild(el('li', m.level, m.text));
}
const EVENT_TEXT = {
  finding_new: (d) => [`new ${d.finding.severity}`, `${d.rule_name} · ${d.finding.id}`, d.finding.severity],
  finding_ended: (d) => ['ended', `${d.rule_id} · ${d.id}`, d.severity],
  alert: (d) => [`alert ${d.severity}`, `${d.signature} · ${d.remote}`, d.severity === 1 ? 'high' : 'medium'],
  health: () => ['health', 'changed', null],
};
function addEvent(kind, d) {
  const list = $('events');
  const li = el('li', 'ev-' + kind);
  const [what, text, sev] = EVENT_TEXT[kind](d);
  li.dataset.at = String(d.at_ms);
  li.dataset.arrived = String(Date.now());
  li.appendChild(el('time', '', clock(d.at_ms)));
  li.appendChild(el('strong', sevClass(sev), what + ' '));
  li.appendChild(el('span', '', text));
  list.prepend(li);
  while (list.children.length > 300) list.lastChild.remove();
}
function refresh() {
  const now = Date.now();
  if (now - state.mapAt >= 2000) loadMap().catch(() => {});
  if (now - state.tableAt >= 5000 && document.activeElement !== $('filter')) loadTable();
}
function listen() {
  const es = new EventSource('/events');
  const live = $('live');
  es.onopen = () => { live.textContent = 'live'; live.className = 'live'; };
  es.onerror = () => { live.textContent = 'reconnecting'; live.className = 'live off'; };
  for (const kind of Object.keys(EVENT_TEXT)) {
    es.addEventListener(kind, (ev) => {
      const d = JSON.parse(ev.data);
      addEvent(kind, d);
      if (kind === 'health') showHealth(d.health);
    });
  }
  es.addEventListener('summary', (ev) => { showSummary(JSON.parse(ev.data)); refresh(); });
  es.addEventListener('reset', () => { state.mapAt = 0; state.tableAt = 0; refresh(); });
}

// Keys ---------------------------------------------------------------------
function onKey(ev) {
  const typing = ev.target === $('filter');
  if (ev.key === 'Escape') {
    if (!$('detail').hidden) { closeDetail(); ev.preventDefault(); } else if (typing) { $('rows').focus(); }
    return;
  }
  if (typing) return;
  if (ev.key === '/') { ev.preventDefault(); $('filter').focus(); $('filter').select(); return; }
  if (ev.key === 't') { toggleTheme(); return; }
  if (!$('detail').hidden || ev.target.closest('#map')) return;
  const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1, PageDown: 20, PageUp: -20 };
  if (ev.key in moves) { ev.preventDefault(); $('rows').focus(); select((state.sel < 0 ? -1 : state.sel) + moves[ev.key]); return; }
  if (ev.key === 'Enter' && state.sel >= 0) { ev.preventDefault(); openSocket(state.rows[state.sel]); }
}

function start() {
  try { applyTheme(localStorage.getItem('necromap-theme')); } catch (_) { /* private mode */ }
  $('theme').addEventListener('click', toggleTheme);
  $('close').addEventListener('click', closeDetail);
  $('rows').addEventListener('scroll', () => drawRows(false), { passive: true });
  window.addEventListener('resize', () => drawRows(true));
  document.addEventListener('keydown', onKey);
  let typed = null;
  $('filter').addEventListener('input', () => {
    clearTimeout(typed);
    typed = setTimeout(() => { state.filter = $('filter').value.trim(); loadTable(); }, 250);
  });
  $('filter-form').addEventListener('submit', (ev) => { ev.preventDefault(); state.filter = $('filter').value.trim(); loadTable(); });
  drawHead();
  loadMap().catch((err) => { $('left-out').textContent = err.message; });
  loadTable();
  listen();
}
document.addEventListener('DOMContentLoaded', start);
