// The live pressure dashboard: follows the gateway's pressure stream and shows each hop's state,
// five minutes of charts, the hot items and the fault switches. Paths are relative to the page,
// so the dashboard also works behind a proxy that mounts the gateway under a prefix.

const HOPS = ['gateway', 'source', 'enrichment', 'join', 'sink'];
const WINDOW_MS = 5 * 60_000;
const MAX_POINTS = 300;
const GAP_MS = 5_000; // samples further apart than this are not joined by a line
const STALE_STREAM_MS = 5_000; // a stream silent this long is dropped and opened again
const HOT_ITEMS_EVERY_MS = 5_000;
const FAULTS_SETTLE_MS = 2_000; // pressure samples this soon after a change may predate it
const KEY_STORAGE = 'flow-mesh-api-key';
const CHART_WIDTH = 300;
const CHART_HEIGHT = 80;

const $ = (selector, within = document) => within.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function format(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) < 10 ? 1 : 0 });
}

// ---- requests, with the API key once the gateway asks for one ----

let apiKey = localStorage.getItem(KEY_STORAGE) ?? '';

async function api(path, init = {}) {
  const headers = new Headers(init.headers);
  if (apiKey) headers.set('Authorization', `Bearer ${apiKey}`);
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) $('#api-key-form').hidden = false;
  return response;
}

$('#api-key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  apiKey = $('#api-key').value.trim();
  localStorage.setItem(KEY_STORAGE, apiKey);
  $('#api-key-form').hidden = true;
  reconnectNow();
  refreshHotItems();
});

// ---- hops: a column per stage, a card per replica ----

const stageColumns = Object.fromEntries(HOPS.map((name) => {
  const column = $('#stage-template').content.firstElementChild.cloneNode(true);
  column.dataset.stage = name;
  $('.stage-name', column).textContent = name;
  $('#hops').append(column);
  return [name, column];
}));
const hopCards = new Map(); // "<stage> <replica>" → card

function cardOf(hop) {
  const key = `${hop.name} ${hop.replica}`;
  let card = hopCards.get(key);
  if (!card) {
    card = $('#hop-template').content.firstElementChild.cloneNode(true);
    card.dataset.hop = hop.name;
    card.dataset.replica = hop.replica ?? '';
    $('.hop-name', card).textContent = hop.name;
    $('.replica', card).textContent = hop.replica ?? '';
    hopCards.set(key, card);
  }
  return card;
}

function pressureOf(hop) {
  if (!hop.up) return 'down';
  const waiting = hop.backpressured_ms_per_second ?? 0;
  return waiting < 200 ? 'flowing' : waiting < 600 ? 'strained' : 'backpressured';
}

function renderHops(pressure) {
  const seen = new Set();
  const byStage = new Map(HOPS.map((name) => [name, []]));
  for (const hop of pressure.hops) {
    if (!byStage.has(hop.name)) continue;
    const card = cardOf(hop);
    seen.add(card);
    const state = pressureOf(hop);
    card.dataset.pressure = state;
    const bottleneck = pressure.bottleneck;
    card.dataset.bottleneck = String(Boolean(bottleneck && bottleneck.stage === hop.name && bottleneck.replica === hop.replica));
    $('.pressure-label', card).textContent = state === 'backpressured' ? 'back-pressured' : state;
    $('.details', card).replaceChildren(...(hop.up ? hopDetails(hop) : [el('p', { class: 'error' }, hop.error ?? 'not answering')]));
    byStage.get(hop.name).push(card);
  }
  for (const [name, cards] of byStage) {
    $('.replicas', stageColumns[name]).replaceChildren(...cards);
    $('.replica-count', stageColumns[name]).textContent = cards.length > 1 ? `${cards.length} replicas` : '';
  }
  for (const [key, card] of hopCards) if (!seen.has(card)) hopCards.delete(key);
  renderBottleneck(pressure.bottleneck);
}

const REASONS = {
  down: 'it does not answer',
  'breaker-open': 'its breaker is open',
  'commit-slow': 'committing is slow',
  'dependency-slow': 'its dependency is slow',
  busy: 'busy with its own work',
};

function renderBottleneck(bottleneck) {
  const banner = $('#bottleneck');
  banner.dataset.stage = bottleneck?.stage ?? '';
  banner.dataset.reason = bottleneck?.reason ?? '';
  if (!bottleneck) {
    banner.replaceChildren('no bottleneck: nothing is back-pressured');
    return;
  }
  banner.replaceChildren('bottleneck: ', el('strong', {}, bottleneck.stage), ` (replica ${bottleneck.replica}) — ${REASONS[bottleneck.reason] ?? bottleneck.reason}`);
}

function milliseconds(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  return ms >= 10_000 ? `${format(ms / 1000)} s` : `${format(ms)} ms`;
}

/** A queue's window, the rate its consumer drains it and how long what it holds takes to drain. */
function drainText({ window, drain_per_second: rate, estimated_drain_ms: estimate }) {
  return `window ${format(window)} · ${format(rate)}/s · ${milliseconds(estimate)}`;
}

function hopDetails(hop) {
  const time = [['busy', hop.busy_ms_per_second], ['backpressured', hop.backpressured_ms_per_second], ['idle', hop.idle_ms_per_second]];
  const total = time.reduce((sum, [, ms]) => sum + (ms ?? 0), 0) || 1;
  const bar = el('div', { class: 'time-bar', title: 'ms per second busy / back-pressured / idle' });
  for (const [kind, ms] of time) {
    const part = el('span', { class: kind });
    part.style.width = `${((ms ?? 0) / total) * 100}%`;
    bar.append(part);
  }
  const rows = [
    ['busy / bp / idle', `${time.map(([, ms]) => format(ms)).join(' / ')} ms`],
    ['events in / out', `${format(hop.events_in_per_second)} / ${format(hop.events_out_per_second)} /s`],
    ['event-time lag', el('span', { class: 'event-lag', title: 'now minus the event time of what it last passed on' }, milliseconds(hop.event_time_lag_ms))],
  ];
  if (typeof hop.dependency_ms_per_second === 'number' && hop.dependency_ms_per_second > 0) rows.push(['on its dependency', `${format(hop.dependency_ms_per_second)} ms/s`]);
  if (hop.intake) {
    const { length, capacity, lag, pending } = hop.intake;
    rows.push(['intake', el('span', { class: 'intake', title: `lag ${format(lag)} · read, not yet acknowledged ${format(pending)}` }, `${format(length)} / ${format(capacity)}`)]);
    rows.push(['intake drain', el('span', { class: 'drain', 'data-queue': 'intake' }, drainText(hop.intake))]);
  }
  for (const link of hop.links ?? []) {
    if (link.direction !== 'in' || link.window === undefined) continue;
    rows.push([`${link.link} in`, el('span', { class: 'drain', 'data-queue': link.link }, drainText(link))]);
  }
  for (const breaker of hop.breakers ?? []) {
    rows.push([breaker.dependency, el('span', { class: 'breaker', 'data-state': breaker.state, title: `${format(breaker.failures_total)} failures` }, breaker.state)]);
  }
  if (typeof hop.rss_mb === 'number') rows.push(['memory', `${format(hop.rss_mb)} MB`]);
  return [bar, el('dl', {}, ...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]))];
}

// ---- charts over the last five minutes, one point per update ----

const history = []; // { t, throughput, rejected, requests, hops: { [name]: { credit, queue, capacity } } }

/** A chart from the template; keyClass marks its title with the colour of its one line. */
function addChart(parent, title, keyClass) {
  const figure = $('#chart-template').content.firstElementChild.cloneNode(true);
  $('.chart-title', figure).textContent = title;
  if (keyClass) $('.chart-title', figure).classList.add('key', 'line', keyClass);
  parent.append(figure);
  return { svg: $('svg', figure), now: $('.chart-now', figure), yMax: $('.y-max', figure) };
}

const hopCharts = Object.fromEntries(HOPS.map((name) => {
  const item = el('li');
  $('#hop-charts').append(item);
  return [name, addChart(item, name)];
}));
const throughputChart = addChart($('#edge-charts'), 'throughput (events into the sink)', 'throughput');
const rejectedChart = addChart($('#edge-charts'), '429 answers at the gateway', 'rejected');

function linkTotals(hop) {
  if (!hop.up) return { credit: null, queue: null, capacity: null };
  const links = hop.links ?? [];
  const outbound = links.filter((link) => link.direction === 'out');
  const inbound = links.filter((link) => link.direction === 'in');
  const sum = (list, field) => list.reduce((total, link) => total + (link[field] ?? 0), 0);
  return {
    credit: outbound.length > 0 ? sum(outbound, 'credit_available') : null,
    queue: inbound.length > 0 ? sum(inbound, 'queue_depth') : null,
    capacity: Math.max(sum(outbound, 'capacity'), sum(inbound, 'capacity')) || null,
  };
}

/** A stage's link totals, over all its replicas. */
function stageTotals(replicas) {
  const totals = replicas.map(linkTotals);
  const sum = (field) => (totals.some((total) => total[field] != null) ? totals.reduce((all, total) => all + (total[field] ?? 0), 0) : null);
  return { credit: sum('credit'), queue: sum('queue'), capacity: sum('capacity') };
}

function record(pressure) {
  const t = Date.parse(pressure.at) || Date.now();
  history.push({
    t,
    throughput: pressure.hops.filter((hop) => hop.name === 'sink' && hop.up).reduce((sum, hop) => (sum ?? 0) + (hop.events_in_per_second ?? 0), null),
    rejected: pressure.edge?.requests_429_per_second ?? null,
    requests: pressure.edge?.requests_per_second ?? null,
    hops: Object.fromEntries(HOPS.map((name) => [name, stageTotals(pressure.hops.filter((hop) => hop.name === name))])),
  });
  while (history.length > MAX_POINTS || history[0].t < t - WINDOW_MS) history.shift();
}

/** Up to a round 1, 2 or 5 times a power of ten, so the scale does not jitter with every sample. */
function roundUp(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * power).find((limit) => limit >= value);
}

function linePath(valueOf, max) {
  const now = history.at(-1).t;
  let path = '';
  let previous;
  for (const point of history) {
    const value = valueOf(point);
    if (value === null || value === undefined) { previous = undefined; continue; }
    const x = CHART_WIDTH * (1 - (now - point.t) / WINDOW_MS);
    const y = CHART_HEIGHT * (1 - Math.min(value / max, 1));
    path += `${previous && point.t - previous.t <= GAP_MS ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    previous = point;
  }
  return path;
}

function drawChart(chart, lines, max, reading) {
  chart.svg.replaceChildren(...lines.map(({ className, valueOf }) => {
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('class', className);
    path.setAttribute('d', linePath(valueOf, max));
    return path;
  }));
  chart.yMax.textContent = format(max);
  chart.now.textContent = reading;
}

function drawCharts() {
  const latest = history.at(-1);
  for (const name of HOPS) {
    const valuesOf = (point) => point.hops[name] ?? {};
    const capacity = Math.max(0, ...history.map((point) => valuesOf(point).capacity ?? 0));
    const peak = Math.max(0, ...history.flatMap((point) => [valuesOf(point).credit ?? 0, valuesOf(point).queue ?? 0]));
    const { credit, queue } = valuesOf(latest);
    const reading = [credit != null && `credit ${format(credit)}`, queue != null && `queue ${format(queue)}`].filter(Boolean).join(' · ');
    drawChart(hopCharts[name], [
      { className: 'credit', valueOf: (point) => valuesOf(point).credit },
      { className: 'queue', valueOf: (point) => valuesOf(point).queue },
    ], capacity || roundUp(peak), reading);
  }
  const peakOf = (field) => roundUp(Math.max(0, ...history.map((point) => point[field] ?? 0)));
  drawChart(throughputChart, [{ className: 'throughput', valueOf: (point) => point.throughput }], peakOf('throughput'), `${format(latest.throughput)} /s`);
  drawChart(rejectedChart, [{ className: 'rejected', valueOf: (point) => point.rejected }], peakOf('rejected'), `${format(latest.rejected)} of ${format(latest.requests)} req/s`);
}

// ---- fault switches ----

const faultSwitches = [
  { name: 'slow sink', field: 'slow_sink_ms', toggle: $('#fault-slow-sink'), amount: $('#fault-slow-sink-ms') },
  { name: 'Redis latency', field: 'redis_latency_ms', toggle: $('#fault-redis-latency'), amount: $('#fault-redis-latency-ms') },
  { name: 'Postgres failures', field: 'postgres_failure_percent', toggle: $('#fault-postgres-failures'), amount: $('#fault-postgres-failure-percent') },
];
let faultRequestsInFlight = 0;
let faultsSettleAt = 0;
let faultsQueue = Promise.resolve();

function sayAboutFaults(text) { $('#faults-message').textContent = text; }

function lockFaults(reason) {
  $('#faults').disabled = true;
  sayAboutFaults(reason);
}

function showFaults(faults) {
  for (const { field, toggle, amount } of faultSwitches) {
    const value = faults[field] ?? 0;
    toggle.checked = value > 0;
    if (value > 0) amount.value = String(value);
  }
}

function userIsEditingFaults() {
  const focused = document.activeElement;
  return faultRequestsInFlight > 0 || Date.now() < faultsSettleAt || (focused?.type === 'number' && $('#faults').contains(focused));
}

function syncFaults(faults) {
  if (!faults) return;
  if (faults.enabled === false) lockFaults('fault switches are off: the services were started without them');
  else if (!userIsEditingFaults()) showFaults(faults);
}

/** PUTs the switches as they are when the request leaves, one request at a time, so the last change wins. */
function sendFaults() {
  const invalid = faultSwitches.find(({ toggle, amount }) => toggle.checked && (amount.value === '' || !amount.checkValidity()));
  if (invalid) return sayAboutFaults(`${invalid.name}: enter a whole number from ${invalid.amount.min} to ${invalid.amount.max}`);
  faultRequestsInFlight += 1;
  faultsQueue = faultsQueue.then(async () => {
    const wanted = Object.fromEntries(faultSwitches.map(({ field, toggle, amount }) => [field, toggle.checked ? Number(amount.value) : 0]));
    try {
      const response = await api('v1/faults', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(wanted) });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        showFaults(answer);
        sayAboutFaults('');
      } else if (response.status === 403) {
        lockFaults(answer.error ?? 'fault switches are off');
      } else {
        sayAboutFaults(`could not set the faults: ${answer.error ?? `HTTP ${response.status}`}`);
      }
    } catch (error) {
      sayAboutFaults(`could not set the faults: ${error.message}`);
    } finally {
      faultRequestsInFlight -= 1;
      faultsSettleAt = Date.now() + FAULTS_SETTLE_MS;
    }
  });
}

for (const { toggle, amount } of faultSwitches) {
  toggle.addEventListener('change', sendFaults);
  amount.addEventListener('change', () => { if (toggle.checked) sendFaults(); });
}

// ---- hot items ----

async function refreshHotItems() {
  try {
    const response = await api('v1/hot-items?limit=10');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { minute, items } = await response.json();
    const top = Math.max(1, ...items.map((item) => item.count));
    $('#hot-minute').textContent = `minute of ${new Date(minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
    $('#hot-status').textContent = items.length === 0 ? 'nothing counted yet this minute' : '';
    $('#hot-items').replaceChildren(...items.map(({ item_id: itemId, count }) => {
      const bar = el('span', { class: 'bar' });
      bar.style.width = `${(count / top) * 100}%`;
      return el('li', {}, el('span', { class: 'item' }, itemId), el('span', { class: 'count' }, format(count)), bar);
    }));
  } catch {
    $('#hot-minute').textContent = '';
    $('#hot-status').textContent = 'unavailable';
    $('#hot-items').replaceChildren();
  }
}

// ---- the pressure stream ----

/** Per class (highest first) then per key: what the edge was offered, admitted and shed, and the p99 the sink measures. */
function renderFlows(edge) {
  const row = (side, name, figures) => el('tr', { 'data-flow': `${side}:${name}` },
    el('th', { scope: 'row' }, side === 'key' ? `key ${name}` : name),
    el('td', {}, format(figures.offered_per_second)),
    el('td', {}, format(figures.admitted_per_second)),
    el('td', { class: figures.shed_per_second > 0 ? 'shed' : '' }, format(figures.shed_per_second)),
    el('td', {}, figures.p99_ms == null ? '–' : `${format(figures.p99_ms)} ms`));
  $('#edge-flows tbody').replaceChildren(
    ...Object.entries(edge?.classes ?? {}).map(([name, figures]) => row('class', name, figures)),
    ...Object.entries(edge?.keys ?? {}).map(([name, figures]) => row('key', name, figures)),
  );
}

function onPressure(pressure) {
  renderHops(pressure);
  renderFlows(pressure.edge);
  syncFaults(pressure.faults);
  record(pressure);
  drawCharts();
  $('#last-update').dateTime = pressure.at;
  $('#last-update').textContent = new Date(pressure.at).toLocaleTimeString();
}

function showConnection(state, reason = '') {
  const indicator = $('#connection');
  indicator.dataset.state = state;
  indicator.textContent = state;
  indicator.title = reason;
}

/** Reads a Server-Sent Events body, calling onMessage(event, data) per message; aborts if the stream goes quiet. */
async function readServerSentEvents(body, controller, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let watchdog;
  const stillAlive = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => controller.abort(new Error('the stream went quiet')), STALE_STREAM_MS);
  };
  let pending = '';
  let event = '';
  let data = [];
  try {
    stillAlive();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stillAlive();
      const lines = (pending + value).split(/\r?\n/);
      pending = lines.pop();
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) onMessage(event || 'message', data.join('\n'));
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = fieldValue;
        else if (field === 'data') data.push(fieldValue);
      }
    }
  } finally {
    clearTimeout(watchdog);
  }
}

let streamController;
let wakeFromBackoff = () => {};

function reconnectNow() {
  streamController?.abort();
  wakeFromBackoff();
}

function backoff(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wakeFromBackoff = () => { clearTimeout(timer); resolve(); };
  });
}

async function followPressure() {
  let delayMs = 500;
  for (;;) {
    streamController = new AbortController();
    let reason = 'the stream ended';
    try {
      const response = await api('v1/pressure/stream', { headers: { Accept: 'text/event-stream' }, signal: streamController.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await readServerSentEvents(response.body, streamController, (event, data) => {
        if (event !== 'pressure') return;
        onPressure(JSON.parse(data));
        showConnection('live');
        delayMs = 500;
      });
    } catch (error) {
      reason = error.message;
    }
    showConnection('reconnecting', reason);
    await backoff(delayMs);
    delayMs = Math.min(delayMs * 2, 5_000);
  }
}

followPressure();
refreshHotItems();
setInterval(refreshHotItems, HOT_ITEMS_EVERY_MS);
