// The live tail: GET /console/api/tail as server-sent events, rendered at most once a frame. The view
// keeps the newest MAX_ROWS rows: older rows leave the view (never the stream); while paused, records
// are still counted and the newest kept for when it resumes.

import { consoleGet, events } from './api.js';
import { $, status } from './ui.js';

const MAX_ROWS = 500;
// MAX_FRAME_ROWS bounds the rows one frame adds: past it (over 12,000 records/s at 60 frames a second)
// the frame shows the newest and the older ones leave the view unseen, still counted.
const MAX_FRAME_ROWS = 200;
const textDecoder = new TextDecoder('utf-8', { fatal: true });

let controller = null;
let paused = false;
let pending = []; // records received and not yet shown, oldest first
let total = 0, thisSecond = 0;

function b64bytes(s) {
  const bin = atob(s || '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** show renders data (base64) as the chosen format: UTF-8 text, pretty JSON, or hex. */
function show(data, format) {
  const bytes = b64bytes(data);
  let text = null;
  if (format !== 'hex') {
    try { text = textDecoder.decode(bytes); } catch { text = null; }
  }
  if (format === 'json' || (format === 'auto' && text !== null && /^\s*[[{"]/.test(text))) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON */ }
  }
  if (text !== null && format !== 'hex') return text;
  let hex = '';
  for (let i = 0; i < Math.min(bytes.length, 512); i++) hex += bytes[i].toString(16).padStart(2, '0') + (i % 16 === 15 ? '\n' : ' ');
  return hex + (bytes.length > 512 ? `… (${bytes.length} bytes)` : '');
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
  return td;
}

function matches(tr) {
  const key = $('tail-filter-key').value, text = $('tail-filter-text').value;
  return (!key || tr._keys.some((k) => k.includes(key))) && (!text || tr._text.includes(text));
}

/** rows builds the rows of one record: itself, and its user records when it is a KPL aggregate. */
function rows(shard, r, format) {
  const tr = document.createElement('tr');
  tr.dataset.pk = r.pk;
  tr.dataset.seq = r.seq;
  tr.dataset.shard = shard;
  cell(tr, shard, 'shard');
  cell(tr, r.seq, 'seq');
  cell(tr, r.pk, 'pk');
  cell(tr, new Date(r.t).toISOString(), 'arrival');
  const out = [tr];
  tr._keys = [r.pk];
  if (r.user) {
    cell(tr, `KPL aggregated record: ${r.user.length} user records`, 'data');
    tr._text = '';
    for (const [i, u] of r.user.entries()) {
      const ut = document.createElement('tr');
      ut.className = 'user';
      ut.dataset.pk = u.pk;
      cell(ut, `↳ ${i}`, 'shard');
      cell(ut, u.ehk ? `hash key ${u.ehk}` : '', 'seq');
      cell(ut, u.pk, 'pk');
      cell(ut, '', 'arrival');
      const shown = show(u.data, format);
      cell(ut, shown, 'data');
      tr._keys.push(u.pk);
      tr._text += shown + '\n';
      ut._keys = [u.pk];
      ut._text = shown;
      out.push(ut);
    }
  } else {
    const shown = r.aggErr ? `${show(r.data, 'hex')}\n(${r.aggErr})` : show(r.data, format);
    cell(tr, shown, 'data');
    tr._text = shown;
  }
  return out;
}

function render() {
  requestAnimationFrame(render);
  if (paused || pending.length === 0) return;
  const batch = pending.length > MAX_FRAME_ROWS ? pending.slice(-MAX_FRAME_ROWS) : pending;
  pending = [];
  const format = $('tail-format').value;
  const frag = document.createDocumentFragment();
  const shown = [];
  for (let i = batch.length - 1; i >= 0; i--) { // newest first
    const [shard, r] = batch[i];
    const trs = rows(shard, r, format);
    if (!matches(trs[0])) continue;
    frag.append(...trs);
    shown.push(r.pk, ...(r.user || []).map((u) => u.pk));
  }
  const body = $('tail-rows');
  body.prepend(frag);
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  if (window.__probe) { // the browser test's latency probe: when each partition key reached the page
    const at = performance.timeOrigin + performance.now();
    for (const pk of shown) window.__probe.push([pk, at]);
  }
}

function setRunning(running) {
  $('tail-start').disabled = running;
  $('tail-stop').disabled = !running;
  $('tail-pause').disabled = !running;
  $('tail-state').textContent = running ? (paused ? 'paused' : 'running') : 'stopped';
}

async function startTail() {
  stopTail();
  const query = { stream: $('tail-stream').value, from: $('tail-from').value };
  if (query.from === 'AT_SEQUENCE_NUMBER') query.seq = $('tail-seq').value.trim();
  if (query.from === 'AT_TIMESTAMP') query.ts = String(new Date($('tail-ts').value).getTime());
  const ctl = new AbortController();
  controller = ctl;
  paused = false;
  $('tail-pause').textContent = 'Pause';
  $('tail-rows').replaceChildren();
  pending = [];
  total = 0;
  const shards = new Set();
  setRunning(true);
  try {
    const resp = await consoleGet('tail', query, ctl.signal);
    await events(resp, (name, data) => {
      switch (name) {
        case 'records':
          for (const r of data.records) pending.push([data.shard, r]);
          if (pending.length > 4 * MAX_ROWS) pending = pending.slice(-MAX_ROWS);
          total += data.records.length;
          thisSecond += data.records.length;
          $('tail-count').textContent = String(total);
          break;
        case 'shards':
          for (const s of data.shards) shards.add(s);
          $('tail-shards').textContent = `reading ${[...shards].join(', ')}`;
          break;
        case 'end':
          shards.delete(data.shard);
          $('tail-shards').textContent = `reading ${[...shards].join(', ')}`;
          break;
        case 'error':
          status(`tail: ${data.__type}: ${data.message}`, true);
          break;
      }
    });
  } catch (e) {
    if (e.name !== 'AbortError') status(`tail: ${e.message}`, true);
  } finally {
    if (controller === ctl) {
      controller = null;
      setRunning(false);
    }
  }
}

function stopTail() {
  if (controller) controller.abort();
  controller = null;
  setRunning(false);
}

function refilter() {
  for (const tr of $('tail-rows').rows) tr.hidden = !matches(tr);
}

export function initTail() {
  $('tail-form').onsubmit = (ev) => {
    ev.preventDefault();
    startTail();
  };
  $('tail-stop').onclick = stopTail;
  $('tail-pause').onclick = () => {
    paused = !paused;
    $('tail-pause').textContent = paused ? 'Resume' : 'Pause';
    setRunning(true);
  };
  $('tail-from').onchange = () => {
    $('tail-seq').hidden = $('tail-from').value !== 'AT_SEQUENCE_NUMBER';
    $('tail-ts').hidden = $('tail-from').value !== 'AT_TIMESTAMP';
  };
  $('tail-filter-key').oninput = refilter;
  $('tail-filter-text').oninput = refilter;
  setInterval(() => {
    $('tail-rate').textContent = String(thisSecond);
    thisSecond = 0;
  }, 1000);
  window.addEventListener('pagehide', stopTail);
  requestAnimationFrame(render);
}
