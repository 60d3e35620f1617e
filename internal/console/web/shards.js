// The shard map: the hash-key space as a bar of the open shards, the lineage of splits and merges, and
// the resharding operations (SplitShard, MergeShards, UpdateShardCount), all through the public API.

import { call, listAll } from './api.js';
import { $, status, guard } from './ui.js';

const SPACE = 1n << 128n;
let shards = [];

function isOpen(s) {
  return !s.SequenceNumberRange.EndingSequenceNumber;
}

function range(s) {
  return [BigInt(s.HashKeyRange.StartingHashKey), BigInt(s.HashKeyRange.EndingHashKey)];
}

function select(id) {
  $('split-shard').value = id;
  $('merge-shard').value = id;
  const s = shards.find((x) => x.ShardId === id);
  if (s) {
    const [lo, hi] = range(s);
    $('split-key').value = ((lo + hi + 1n) / 2n).toString();
  }
  for (const d of $('hashbar').children) d.classList.toggle('selected', d.dataset.shard === id);
}

async function refresh() {
  const name = $('shards-stream').value;
  if (!name) return;
  shards = await listAll('ListShards', { StreamName: name }, 'Shards');
  const open = shards.filter(isOpen).sort((a, b) => (range(a)[0] < range(b)[0] ? -1 : 1));
  $('hashbar').replaceChildren(...open.map((s) => {
    const [lo, hi] = range(s);
    const d = document.createElement('div');
    d.dataset.shard = s.ShardId;
    d.style.flexGrow = String(Number(((hi - lo + 1n) * 100000n) / SPACE) / 1000);
    d.style.flexBasis = '0';
    d.textContent = s.ShardId.replace('shardId-', '');
    d.title = `${s.ShardId}\n${lo} – ${hi}`;
    d.onclick = () => select(s.ShardId);
    return d;
  }));
  for (const id of ['split-shard', 'merge-shard']) {
    const keep = $(id).value;
    $(id).replaceChildren(...open.map((s) => new Option(s.ShardId, s.ShardId)));
    if (open.some((s) => s.ShardId === keep)) $(id).value = keep;
  }
  select($('split-shard').value || open[0]?.ShardId);
  $('count-target').value = String(open.length * 2);
  // Lineage: every shard with its parents and children, closed ones greyed.
  const children = {};
  for (const s of shards) {
    for (const p of [s.ParentShardId, s.AdjacentParentShardId]) if (p) (children[p] ||= []).push(s.ShardId);
  }
  $('lineage').replaceChildren(...shards.map((s) => {
    const li = document.createElement('li');
    li.dataset.shard = s.ShardId;
    li.className = isOpen(s) ? 'open' : 'closed';
    const parents = [s.ParentShardId, s.AdjacentParentShardId].filter(Boolean);
    let text = `${s.ShardId} ${isOpen(s) ? 'open' : 'closed'}`;
    if (parents.length) text += ` ← ${parents.join(' + ')}`;
    if (children[s.ShardId]) text += ` → ${children[s.ShardId].join(', ')}`;
    li.textContent = text;
    return li;
  }));
}

/** waitActive polls until the stream is ACTIVE again after a resharding. */
async function waitActive(name) {
  for (let i = 0; i < 100; i++) {
    const { StreamDescriptionSummary: s } = await call('DescribeStreamSummary', { StreamName: name });
    if (s.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function reshard(what, op, input) {
  const name = $('shards-stream').value;
  await call(op, { StreamName: name, ...input });
  status(`${what} on ${name}`);
  await waitActive(name);
  await refresh();
}

export function initShards() {
  $('shards-stream').addEventListener('change', () => guard(refresh));
  $('shards-stream').addEventListener('streams', () => { if (!$('view-shards').hidden) guard(refresh); });
  document.addEventListener('view', (ev) => { if (ev.detail === 'shards') guard(refresh); });
  $('shards-refresh').onclick = () => guard(refresh);
  $('split-shard').onchange = () => select($('split-shard').value);
  $('split-form').onsubmit = (ev) => {
    ev.preventDefault();
    guard(() => reshard('split', 'SplitShard', { ShardToSplit: $('split-shard').value, NewStartingHashKey: $('split-key').value.trim() }));
  };
  $('merge-form').onsubmit = (ev) => {
    ev.preventDefault();
    guard(async () => {
      const s = shards.find((x) => x.ShardId === $('merge-shard').value);
      const next = s && shards.find((x) => isOpen(x) && range(x)[0] === range(s)[1] + 1n);
      if (!next) throw new Error('the shard has no open neighbour above it');
      await reshard('merge', 'MergeShards', { ShardToMerge: s.ShardId, AdjacentShardToMerge: next.ShardId });
    });
  };
  $('count-form').onsubmit = (ev) => {
    ev.preventDefault();
    guard(() => reshard('UpdateShardCount', 'UpdateShardCount', { TargetShardCount: Number($('count-target').value), ScalingType: 'UNIFORM_SCALING' }));
  };
}
