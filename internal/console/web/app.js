// The console page: sign-in, the account and region selector, the views (streams here; the live tail in
// tail.js, the shard map in shards.js). Every control operation is a Kinesis API call (api.js).

import { session, call, consoleGet, listAll, APIError } from './api.js';
import { initTail } from './tail.js';
import { initShards } from './shards.js';
import { $, status, guard } from './ui.js';


const rates = { last: null, perStream: {} };

async function refreshStreams() {
  const names = await listAll('ListStreams', {}, 'StreamNames');
  for (const sel of document.querySelectorAll('.stream-select')) {
    const keep = sel.value;
    sel.replaceChildren(...names.map((n) => new Option(n, n)));
    if (names.includes(keep)) sel.value = keep;
    sel.dispatchEvent(new Event('streams'));
  }
  const rows = await Promise.all(names.map(async (name) => {
    const [summary, shards] = await Promise.all([
      call('DescribeStreamSummary', { StreamName: name }).then((o) => o.StreamDescriptionSummary),
      listAll('ListShards', { StreamName: name }, 'Shards').catch(() => []),
    ]);
    const open = shards.filter((s) => !s.SequenceNumberRange.EndingSequenceNumber).length;
    return { name, summary, open, closed: shards.length - open };
  }));
  const tbody = $('streams').tBodies[0];
  tbody.replaceChildren(...rows.map(({ name, summary: s, open, closed }) => {
    const tr = document.createElement('tr');
    tr.dataset.stream = name;
    const r = rates.perStream[name] || { records: 0, bytes: 0 };
    const cells = [name, s.StreamStatus, s.StreamModeDetails?.StreamMode || 'PROVISIONED', open, closed,
      `${s.RetentionPeriodHours} h`, s.EncryptionType === 'KMS' ? `KMS ${s.KeyId || ''}` : 'none',
      s.ConsumerCount ?? 0, r.records.toFixed(1), r.bytes.toFixed(0)];
    for (const [i, c] of cells.entries()) {
      const td = document.createElement('td');
      td.textContent = String(c);
      td.className = ['name', 'status', 'mode', 'open', 'closed', 'retention', 'encryption', 'consumers', 'rate', 'bytes'][i];
      tr.append(td);
    }
    const td = document.createElement('td');
    const del = document.createElement('button');
    del.textContent = 'Delete';
    del.className = 'danger';
    del.onclick = () => {
      if (del.dataset.armed) {
        guard(async () => {
          await call('DeleteStream', { StreamName: name, EnforceConsumerDeletion: true });
          status(`deleting ${name}`);
          await refreshStreams();
        });
      } else {
        del.dataset.armed = '1';
        del.textContent = 'Really delete?';
      }
    };
    const tail = document.createElement('button');
    tail.textContent = 'Tail';
    tail.onclick = () => { $('tail-stream').value = name; location.hash = '#tail'; };
    td.append(tail, ' ', del);
    tr.append(td);
    return tr;
  }));
}

async function refreshRates() {
  const resp = await consoleGet('rates');
  const now = await resp.json();
  if (rates.last) {
    const secs = Math.max((now.time - rates.last.time) / 1000, 0.001);
    for (const [name, c] of Object.entries(now.streams || {})) {
      const before = rates.last.streams?.[name] || { records: 0, bytes: 0 };
      rates.perStream[name] = { records: (c.records - before.records) / secs, bytes: (c.bytes - before.bytes) / secs };
    }
  }
  rates.last = now;
  for (const tr of $('streams').tBodies[0].rows) {
    const r = rates.perStream[tr.dataset.stream] || { records: 0, bytes: 0 };
    tr.querySelector('.rate').textContent = r.records.toFixed(1);
    tr.querySelector('.bytes').textContent = r.bytes.toFixed(0);
  }
}

async function refreshConsumers() {
  const name = $('consumers-stream').value;
  const list = $('consumers');
  if (!name) {
    list.replaceChildren();
    return;
  }
  const { StreamDescriptionSummary: s } = await call('DescribeStreamSummary', { StreamName: name });
  const [consumers, live] = await Promise.all([
    listAll('ListStreamConsumers', { StreamARN: s.StreamARN }, 'Consumers'),
    consoleGet('subscriptions', { stream: name }).then((r) => r.json()),
  ]);
  list.replaceChildren(...consumers.map((c) => {
    const li = document.createElement('li');
    li.dataset.consumer = c.ConsumerName;
    const shards = live.subscriptions.filter((x) => x.consumer === c.ConsumerName).map((x) => x.shard);
    li.dataset.live = String(shards.length);
    li.textContent = `${c.ConsumerName} (${c.ConsumerStatus}) ` +
      (shards.length ? `· subscribed to ${shards.join(', ')} ` : '· no live subscription ');
    const b = document.createElement('button');
    b.textContent = 'Deregister';
    b.onclick = () => guard(async () => {
      await call('DeregisterStreamConsumer', { StreamARN: s.StreamARN, ConsumerName: c.ConsumerName });
      await refreshConsumers();
    });
    li.append(b);
    return li;
  }));
}

function showView() {
  const view = (location.hash || '#streams').slice(1).split('/')[0];
  for (const sec of document.querySelectorAll('.view')) sec.hidden = sec.id !== `view-${view}`;
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.view === view);
  document.dispatchEvent(new CustomEvent('view', { detail: view }));
}

// Profiles: the keys this page was given, by account; switching one switches account and principal.
const profiles = [];

function renderProfiles() {
  const sel = $('profile');
  sel.replaceChildren(...profiles.map((p, i) => new Option(`${p.accessKeyId}${p.account ? ' (' + p.account + ')' : ''}`, String(i))));
  sel.hidden = profiles.length < 2;
  const add = new Option('another key…', 'add');
  if (session.auth) sel.append(add);
  sel.hidden = !session.auth && profiles.length < 2;
}

async function signIn(key, secret) {
  session.accessKeyId = key;
  session.secretAccessKey = secret;
  await call('ListStreams', { Limit: 1 }); // refused with a wrong secret or an unknown key
}

async function start() {
  const cfg = await (await fetch('/console/api/config', { cache: 'no-store' })).json();
  session.auth = cfg.auth;
  session.region = sessionStorage.getItem('kinesisd.region') || cfg.region;
  session.account = cfg.account;
  $('region').value = session.region;
  for (const r of new Set([cfg.region, 'us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1'])) $('regions').append(new Option(r));
  $('region').onchange = () => {
    session.region = $('region').value.trim() || cfg.region;
    sessionStorage.setItem('kinesisd.region', session.region);
    guard(refreshStreams);
  };
  $('profile').onchange = () => {
    const v = $('profile').value;
    if (v === 'add') {
      $('app').hidden = true;
      $('login').hidden = false;
      return;
    }
    Object.assign(session, profiles[Number(v)]);
    $('who').textContent = `signed in as ${session.accessKeyId}`;
    guard(refreshStreams);
  };
  if (cfg.auth) {
    $('login').hidden = false;
    $('login-form').onsubmit = async (ev) => {
      ev.preventDefault();
      const key = $('login-key').value.trim(), secret = $('login-secret').value;
      $('login-error').textContent = '';
      try {
        await signIn(key, secret);
      } catch (e) {
        $('login-error').textContent = e instanceof APIError ? `Refused: ${e.message}` : String(e);
        return;
      }
      profiles.push({ accessKeyId: key, secretAccessKey: secret });
      $('login-secret').value = '';
      $('login').hidden = true;
      enter();
    };
  } else {
    profiles.push({ accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey });
    enter();
  }
}

let entered = false;

function enter() {
  $('app').hidden = false;
  renderProfiles();
  $('profile').value = String(profiles.length - 1);
  $('who').textContent = session.auth ? `signed in as ${session.accessKeyId}` : '';
  guard(refreshStreams);
  if (entered) return;
  entered = true;
  window.addEventListener('hashchange', showView);
  showView();
  initTail();
  initShards();
  $('create-form').onsubmit = (ev) => {
    ev.preventDefault();
    guard(async () => {
      const name = $('create-name').value.trim();
      const input = { StreamName: name };
      if ($('create-ondemand').checked) input.StreamModeDetails = { StreamMode: 'ON_DEMAND' };
      else input.ShardCount = Number($('create-shards').value);
      await call('CreateStream', input);
      status(`created ${name}`);
      await refreshStreams();
    });
  };
  $('put-form').onsubmit = (ev) => {
    ev.preventDefault();
    guard(async () => {
      const data = btoa(String.fromCharCode(...new TextEncoder().encode($('put-data').value)));
      const out = await call('PutRecord', { StreamName: $('put-stream').value, PartitionKey: $('put-key').value, Data: data });
      status(`put: ${out.ShardId} ${out.SequenceNumber}`);
    });
  };
  $('consumers-stream').addEventListener('change', () => guard(refreshConsumers));
  $('consumers-stream').addEventListener('streams', () => guard(refreshConsumers));
  $('consumer-form').onsubmit = (ev) => {
    ev.preventDefault();
    guard(async () => {
      const { StreamDescriptionSummary: s } = await call('DescribeStreamSummary', { StreamName: $('consumers-stream').value });
      await call('RegisterStreamConsumer', { StreamARN: s.StreamARN, ConsumerName: $('consumer-name').value.trim() });
      $('consumer-name').value = '';
      await refreshConsumers();
    });
  };
  setInterval(() => {
    if (!$('view-streams').hidden) {
      guard(refreshRates);
      guard(refreshConsumers);
    }
  }, 2000);
  setInterval(() => { if (!$('view-streams').hidden) guard(refreshStreams); }, 10000);
}

start().catch((e) => status(String(e), true));
