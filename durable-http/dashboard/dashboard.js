// The durable dashboard: one page, plain JavaScript, no build step.
//
// Routes live in the hash, so the server serves one file whatever the view:
//   #/                    the instance list
//   #/instances/{id}      one instance (the id percent-encoded)
//
// Every piece of data goes into the page as text (textContent, attributes), never
// parsed as HTML: ids, names, payloads and error messages all come from outside.

'use strict';

// ---------------------------------------------------------------------------------
// The API

// The dashboard is served at {prefix}/dashboard/ and the API at {prefix}/, so the API
// is one level up from this page whatever the prefix (or proxy path) is.
const API = new URL('../', location.href.split('#')[0]);

// While an instance is in one of these it can still change, so its page refreshes.
const LIVE = new Set(['Pending', 'Running', 'Suspended', 'Blocked']);
const STATUSES = new Set([...LIVE, 'Completed', 'Failed', 'Terminated']);

const INSTANCE_REFRESH_MS = 1000;
const LIST_REFRESH_MS = 5000;
// After a failed load: try again, but less often than a healthy refresh.
const RETRY_MS = 3000;

/** A refusal from the API: its status code and its {"error"} message. */
class ApiError extends Error {
  constructor(status, statusText, message) {
    super(message);
    this.status = status;
    this.statusText = statusText;
  }
  toString() {
    // HTTP/2 has no reason phrase: then just the code
    const status = this.statusText ? `${this.status} ${this.statusText}` : `${this.status}`;
    return `${status}: ${this.message}`;
  }
}

/** The URL of `path` (relative, e.g. `instances/x`) under the API, with `params`. */
function apiUrl(path, params) {
  const url = new URL(path, API);
  if (params) {
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') {
        url.searchParams.set(key, value);
      }
    }
  }
  return url;
}

/** `instances/{id}`, the id as one path segment (as the API's own links encode it). */
function instancePath(id, rest = '') {
  return `instances/${encodeURIComponent(id)}${rest}`;
}

/**
 * Calls the API; resolves to the JSON body (or null), throws ApiError on any status
 * that is not 2xx. `body` is sent as is (a JSON text), so what the user typed is what
 * the API parses.
 */
async function api(method, path, { params, body } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.body = body;
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), init);
  } catch (e) {
    throw new Error(`cannot reach the API at ${API.pathname}: ${e.message}`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: only an error from something in front of the API (a proxy) says this
  }
  if (!response.ok) {
    const message =
      data && typeof data.error === 'string' ? data.error : text.trim() || 'no message';
    throw new ApiError(response.status, response.statusText, message);
  }
  return data;
}

// ---------------------------------------------------------------------------------
// DOM helpers

const $ = (id) => document.getElementById(id);

/**
 * Builds an element: `attrs` become attributes (`text` sets textContent, `class` the
 * class, `data` a map of data-* attributes), `children` are nodes or strings.
 */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = value;
    else if (key === 'data') Object.assign(node.dataset, value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** JSON, indented; `undefined` (a field the API left out) shows as null. */
function pretty(value) {
  return value === undefined ? 'null' : JSON.stringify(value, null, 2);
}

/** A time: local in the text, the API's RFC 3339 UTC in `datetime` and the tooltip. */
function timeEl(iso) {
  if (!iso) return el('span', { class: 'muted', text: '—' });
  const date = new Date(iso);
  const local = Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  return el('time', { datetime: iso, title: iso, text: local });
}

/** "in 4 s" / "3 s ago", for timers. */
function relative(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return '';
  const s = Math.round(Math.abs(ms) / 1000);
  const span =
    s < 120 ? `${s} s`
    : s < 7200 ? `${Math.round(s / 60)} min`
    : s < 172800 ? `${Math.round(s / 3600)} h`
    : `${Math.round(s / 86400)} days`;
  return ms >= 0 ? `in ${span}` : `${span} ago`;
}

/** A "(in 4 s)" that `updateRelatives` keeps current without redrawing the page. */
function relativeEl(iso) {
  return el('span', { class: 'relative', data: { at: iso }, text: `(${relative(iso)})` });
}

function updateRelatives() {
  for (const span of document.querySelectorAll('span.relative[data-at]')) {
    span.textContent = `(${relative(span.dataset.at)})`;
  }
}

/** Makes `node` the badge of `status` (its text, its colour, data-status). */
function setBadge(node, status) {
  // the class only for a status we know, so a new one cannot pick up a random style
  node.className = STATUSES.has(status) ? `badge ${status}` : 'badge';
  node.textContent = status ?? '?';
  node.dataset.status = status ?? '';
  return node;
}

function setTime(id, iso) {
  $(id).replaceChildren(timeEl(iso));
}

// ---------------------------------------------------------------------------------
// Banners

let noticeTimer = null;

/**
 * Shows `error` in the banner. `source` is 'load' (cleared by the next good load) or
 * 'action' (stays until dismissed, the next action or another page).
 */
function showError(error, source) {
  const banner = $('error-banner');
  $('error-text').textContent = error instanceof ApiError ? error.toString() : String(error.message ?? error);
  banner.dataset.source = source;
  if (error instanceof ApiError) banner.dataset.status = String(error.status);
  else delete banner.dataset.status;
  banner.hidden = false;
}

/** Hides the banner; with `source`, only an error of that source. */
function clearError(source) {
  const banner = $('error-banner');
  if (source === undefined || banner.dataset.source === source) banner.hidden = true;
}

function notice(text) {
  const box = $('notice');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (box.hidden = true), 4000);
}

// ---------------------------------------------------------------------------------
// Loading and refreshing
//
// Each load takes a ticket; when its answer arrives it is drawn only if no later load
// (a refresh, an action's reload, another page) has started since. So a slow answer
// never overwrites a newer one, and an old page never draws over the current one.

let ticket = 0;
let refreshTimer = null;

function schedule(load, ms) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    // a hidden tab does not poll; it checks again later
    if (document.hidden) schedule(load, ms);
    else load();
  }, ms);
}

function stopRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

// ---------------------------------------------------------------------------------
// #/  the instance list

const list = {
  // the filters as last applied (not as being typed), so a refresh shows the same list
  filters: {},
  // the token that fetched the page on screen (null: the first page), and the next one
  pageToken: null,
  nextToken: null,
  page: 1,
};

/** The filter form as query parameters; the times in RFC 3339 UTC. */
function readFilters() {
  const statuses = [...document.querySelectorAll('input[name=runtimeStatus]:checked')].map(
    (box) => box.value,
  );
  // datetime-local has no zone: `new Date` reads it as local time, toISOString is UTC
  const utc = (id) => {
    const value = $(id).value;
    if (!value) return null;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw new Error(`"${value}" is not a date and time`);
    return date.toISOString();
  };
  return {
    runtimeStatus: statuses.join(','),
    name: $('filter-name').value.trim(),
    createdTimeFrom: utc('filter-from'),
    createdTimeTo: utc('filter-to'),
    top: $('filter-top').value,
  };
}

function firstPage() {
  list.pageToken = null;
  list.nextToken = null;
  list.page = 1;
}

async function loadList() {
  const mine = ++ticket;
  stopRefresh();
  let page;
  try {
    page = await api('GET', 'instances', {
      params: { ...list.filters, continuationToken: list.pageToken },
    });
  } catch (e) {
    if (mine !== ticket) return;
    showError(e, 'load');
    if ($('auto-refresh').checked) schedule(loadList, Math.max(RETRY_MS, LIST_REFRESH_MS));
    return;
  }
  if (mine !== ticket) return;
  clearError('load');
  drawList(page);
  if ($('auto-refresh').checked) schedule(loadList, LIST_REFRESH_MS);
}

function drawList(page) {
  const instances = Array.isArray(page?.instances) ? page.instances : [];
  const rows = instances.map((s) =>
    el(
      'tr',
      { data: { instanceId: s.instanceId, status: s.runtimeStatus } },
      el('td', {}, el('a', { href: `#/${instancePath(s.instanceId)}`, class: 'mono', text: s.instanceId })),
      el('td', { text: s.name }),
      el('td', { text: s.version }),
      el('td', {}, setBadge(el('span'), s.runtimeStatus)),
      el('td', {}, timeEl(s.createdTime)),
      el('td', {}, timeEl(s.lastUpdatedTime)),
    ),
  );
  $('instances').tBodies[0].replaceChildren(...rows);
  $('list-empty').hidden = rows.length > 0;

  list.nextToken = page?.continuationToken ?? null;
  $('next-page').disabled = list.nextToken === null;
  $('first-page').disabled = list.pageToken === null;
  $('page-info').textContent = `Page ${list.page} · ${rows.length} shown`;
  $('list-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

function showList() {
  $('instance-view').hidden = true;
  $('list-view').hidden = false;
  document.title = 'Instances · durable';
  loadList();
}

// ---------------------------------------------------------------------------------
// #/instances/{id}  one instance

let current = null; // the id shown
// The answer last drawn, as text: an identical answer is not drawn again, so a refresh
// every second does not undo a text selection or reset a scrolled <pre>.
let drawn = null;

/** Empties the instance page, so another instance's data never shows under this id. */
function resetInstance(id) {
  for (const field of ['name', 'version', 'created', 'updated', 'input', 'output', 'error', 'custom-status']) {
    $(field).textContent = '';
  }
  $('status').textContent = '';
  $('status').className = 'badge';
  delete $('status').dataset.status;
  $('instance-id').textContent = id;
  for (const input of ['event-name', 'event-body', 'reason']) $(input).value = '';
  $('event-body').removeAttribute('aria-invalid');
  $('waiting').hidden = true;
  $('not-waiting').hidden = true;
  $('state-error').hidden = true;
  $('live-indicator').textContent = 'Loading…';
  drawn = null;
}

function showInstance(id) {
  $('list-view').hidden = true;
  $('instance-view').hidden = false;
  if (id !== current) resetInstance(id);
  current = id;
  document.title = `${id} · durable`;
  // the API's own status link for this instance (its statusQueryGetUri)
  $('raw-json').href = apiUrl(instancePath(id)).href;
  loadInstance(id);
}

/**
 * The instance with where it waits (GET /instances/{id}/state). If that is refused,
 * the plain status (GET /instances/{id}) still shows the instance, with the reason the
 * state is missing; if that fails too, its refusal is the one shown.
 */
async function fetchInstance(id) {
  try {
    return { state: await api('GET', instancePath(id, '/state')), stateError: null };
  } catch (stateError) {
    const state = await api('GET', instancePath(id));
    return { state, stateError };
  }
}

async function loadInstance(id) {
  const mine = ++ticket;
  stopRefresh();
  let got;
  try {
    got = await fetchInstance(id);
  } catch (e) {
    if (mine !== ticket) return;
    showError(e, 'load');
    $('live-indicator').textContent = 'Not refreshing';
    // gone (purged, or never was): nothing to wait for; otherwise try again
    if (!(e instanceof ApiError && e.status === 404)) schedule(() => loadInstance(id), RETRY_MS);
    return;
  }
  if (mine !== ticket) return;
  clearError('load');
  const text = JSON.stringify([got.state, String(got.stateError ?? '')]);
  if (text !== drawn) drawInstance(got.state, got.stateError);
  else updateRelatives();
  drawn = text;
  if (LIVE.has(got.state.runtimeStatus)) {
    $('live-indicator').textContent = 'Refreshing every second';
    schedule(() => loadInstance(id), INSTANCE_REFRESH_MS);
  } else {
    $('live-indicator').textContent = 'Ended; not refreshing';
  }
}

function drawInstance(s, stateError) {
  $('instance-id').textContent = s.instanceId;
  setBadge($('status'), s.runtimeStatus);
  $('name').textContent = s.name;
  $('version').textContent = s.version;
  setTime('created', s.createdTime);
  setTime('updated', s.lastUpdatedTime);

  $('input').textContent = pretty(s.input);
  const hasOutput = (s.output !== null && s.output !== undefined) || s.runtimeStatus === 'Completed';
  $('output-section').hidden = !hasOutput;
  $('output').textContent = pretty(s.output);
  const hasError = s.error !== null && s.error !== undefined;
  $('error-section').hidden = !hasError;
  // the error is a message, not JSON: shown as written
  $('error').textContent = hasError ? String(s.error) : '';
  $('custom-status').textContent = pretty(s.customStatus);

  drawWaiting(s.waiting, stateError);
  drawEvents(s.events);
}

/** "Where it waits", "What it waits for" and "Live locals" at the top level. */
function drawWaiting(waiting, stateError) {
  $('state-error').hidden = !stateError;
  if (stateError) {
    $('state-error').textContent = `Where it waits is not available: ${stateError}`;
    $('waiting').hidden = true;
    $('not-waiting').hidden = true;
    return;
  }
  $('not-waiting').hidden = Boolean(waiting);
  $('waiting').hidden = !waiting;
  if (!waiting) return;

  $('waiting-expression').textContent = waiting.at?.expression ?? '';
  $('waiting-location').textContent = where(waiting.at);
  $('waiting-point').textContent = waiting.point ?? '';
  $('waiting-fingerprint').textContent = waiting.fingerprint ?? '';
  $('waiting-bytes').textContent = waiting.checkpointBytes ?? '?';
  $('waiting-error').hidden = !waiting.error;
  $('waiting-error').textContent = waiting.error ? `This code cannot read the checkpoint: ${waiting.error}` : '';

  $('awaits').replaceChildren(
    waiting.awaits ? el('ul', {}, awaitedItem(waiting.awaits)) : el('p', { class: 'muted', text: 'Unknown.' }),
  );
  const locals = Array.isArray(waiting.locals) ? waiting.locals : [];
  $('locals').tBodies[0].replaceChildren(...locals.map(localRow));
  $('locals-empty').hidden = locals.length > 0;
}

/** `file:line:column`. */
function where(at) {
  return at ? `${at.file}:${at.line}:${at.column}` : '';
}

function localRow(local) {
  const unshowable = local.unshowable !== undefined && local.unshowable !== null;
  const value = unshowable
    ? el('td', { text: `not shown: ${local.unshowable}` })
    : el('td', {}, el('pre', { text: pretty(local.value) }));
  return el(
    'tr',
    {
      class: unshowable ? 'unshowable' : null,
      data: unshowable ? { local: local.name, unshowable: local.unshowable } : { local: local.name },
    },
    el('td', {}, el('code', { text: local.name })),
    el('td', {}, el('code', { text: local.type })),
    value,
  );
}

/** One node of the AWAITED tree, as an <li> (its children as a nested <ul>). */
function awaitedItem(node) {
  const item = el('li', { data: { kind: node?.kind ?? 'unknown' } });
  if (node && node.task !== undefined) item.dataset.task = String(node.task);
  const label = (text) => el('span', { class: 'kind', text });
  const task = () => (node.task !== undefined ? el('span', { class: 'task', text: `task ${node.task}` }) : null);
  const children = (of) => el('ul', {}, ...(Array.isArray(of) ? of : []).map(awaitedItem));

  switch (node?.kind) {
    case 'activity': {
      item.append(label('activity'), el('code', { text: node.name }), ` — ${node.state}`);
      if (node.attempt !== null && node.attempt !== undefined) item.append(`, attempt ${node.attempt}`);
      if (node.notBefore) item.append(', not before ', timeEl(node.notBefore), ' ', relativeEl(node.notBefore));
      item.append(task());
      // a completed call's input is gone (null): its result waits to be applied
      if (node.state !== 'completed') item.append(el('div', {}, el('pre', { class: 'json', text: pretty(node.input) })));
      break;
    }
    case 'timer':
      item.append(label('timer'));
      if (node.due) item.append('due ', timeEl(node.due), ' ', relativeEl(node.due));
      else item.append('fired; waiting to be applied');
      item.append(task());
      break;
    case 'event':
      item.append(label('event'), el('code', { text: node.name }), task());
      break;
    case 'child':
      item.append(
        label('child'),
        el('a', { href: `#/${instancePath(node.id)}`, class: 'mono', text: node.id, data: { childId: node.id } }),
        ' ',
        el('span', { class: 'muted', text: node.orchestration }),
        task(),
      );
      break;
    case 'all':
      item.append(label('all of'), el('span', { class: 'muted', text: '(every one)' }), children(node.of));
      break;
    case 'any':
      item.append(label('any of'), el('span', { class: 'muted', text: '(the first)' }), children(node.of));
      break;
    case 'function':
      item.append(label('function'), el('code', { text: node.name }), nestedWaiting(node.waiting));
      break;
    case 'returned':
      // the function has returned; its result waits to be applied in the caller
      item.append(label('returned'), el('code', { text: node.name }), ' — its result waits to be applied');
      break;
    case 'other':
      item.append(label('other'), el('code', { text: node.type }));
      break;
    default:
      // a kind this page does not know yet: show it raw rather than hide it
      item.append(label(String(node?.kind ?? 'unknown')), el('pre', { class: 'json', text: pretty(node) }));
  }
  return item;
}

/** A function's own wait: where, what, and its locals, inside the tree. */
function nestedWaiting(waiting) {
  if (!waiting) return el('div', { class: 'nested muted', text: 'not waiting' });
  const block = el(
    'div',
    { class: 'nested' },
    el('pre', { class: 'code', text: waiting.at?.expression ?? '' }),
    el('div', {}, el('span', { class: 'mono', text: where(waiting.at) }), ' ',
      el('small', { class: 'muted', text: `point ${waiting.point ?? ''}` })),
  );
  if (waiting.error) {
    block.append(el('p', { class: 'warning', text: `This code cannot read the checkpoint: ${waiting.error}` }));
  }
  if (waiting.awaits) block.append(el('ul', {}, awaitedItem(waiting.awaits)));
  const locals = Array.isArray(waiting.locals) ? waiting.locals : [];
  if (locals.length > 0) {
    block.append(
      el('table', { class: 'grid locals-nested' },
        el('thead', {}, el('tr', {}, el('th', { text: 'Name' }), el('th', { text: 'Type' }), el('th', { text: 'Value' }))),
        el('tbody', {}, ...locals.map(localRow))),
    );
  }
  return block;
}

function drawEvents(events) {
  const rows = (Array.isArray(events) ? events : []).map((e) =>
    el('tr', { data: { event: e.name } }, el('td', {}, el('code', { text: e.name })), el('td', { text: e.bytes })),
  );
  $('events').tBodies[0].replaceChildren(...rows);
  $('events-empty').hidden = rows.length > 0;
}

// ---------------------------------------------------------------------------------
// Actions: each asks first, shows the API's refusal, and reloads after it is taken.

async function act(button, question, request, done) {
  if (!window.confirm(question)) return;
  clearError();
  button.disabled = true;
  try {
    await request();
  } catch (e) {
    showError(e, 'action');
    return;
  } finally {
    button.disabled = false;
  }
  done();
}

/** POST /instances/{id}/{verb}, with the reason if one was typed. */
function command(verb, { reason = false } = {}) {
  const id = current;
  const button = $(verb);
  const why = $('reason').value.trim();
  const label = button.textContent.trim();
  act(
    button,
    `${label} instance "${id}"?${reason && why ? `\nReason: ${why}` : ''}`,
    () => api('POST', instancePath(id, `/${verb}`), { params: reason ? { reason: why } : undefined }),
    () => {
      notice(`${label}: accepted`);
      loadInstance(id);
    },
  );
}

function raiseEvent(event) {
  event.preventDefault();
  const id = current;
  const name = $('event-name').value.trim();
  const text = $('event-body').value;
  if (!name) {
    showError(new Error('Give the event a name.'), 'action');
    return;
  }
  // checked here so a typo is caught before asking, and before the API is called
  try {
    if (text.trim() !== '') JSON.parse(text);
  } catch (e) {
    $('event-body').setAttribute('aria-invalid', 'true');
    showError(new Error(`The payload is not valid JSON: ${e.message}`), 'action');
    return;
  }
  $('event-body').removeAttribute('aria-invalid');
  // an empty payload is JSON null to the API
  act(
    $('raise-event'),
    `Raise event "${name}" on instance "${id}"?`,
    () => api('POST', instancePath(id, `/raiseEvent/${encodeURIComponent(name)}`), { body: text }),
    () => {
      notice(`Event "${name}" raised`);
      loadInstance(id);
    },
  );
}

function purge() {
  const id = current;
  act(
    $('purge'),
    `Purge instance "${id}" and its sub-orchestrations? This deletes them for good.`,
    () => api('DELETE', instancePath(id)),
    () => {
      notice(`Instance "${id}" purged`);
      location.hash = '#/';
    },
  );
}

// ---------------------------------------------------------------------------------
// Routing

function route() {
  ++ticket; // drop answers meant for the page being left
  stopRefresh();
  clearError();
  const hash = location.hash.replace(/^#/, '') || '/';
  const match = hash.match(/^\/instances\/(.+)$/);
  if (!match) {
    showList();
    return;
  }
  let id;
  try {
    id = decodeURIComponent(match[1]);
  } catch {
    id = match[1]; // not percent-encoded after all: take it as typed
  }
  showInstance(id);
}

function init() {
  $('api-base').textContent = `API: ${API.pathname}`;
  $('error-dismiss').addEventListener('click', () => ($('error-banner').hidden = true));

  // list
  const apply = () => {
    try {
      list.filters = readFilters();
    } catch (e) {
      showError(e, 'action');
      return;
    }
    firstPage();
    loadList();
  };
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearError();
    apply();
  });
  $('clear-filters').addEventListener('click', () => {
    $('filter-form').reset();
    clearError();
    apply();
  });
  $('refresh').addEventListener('click', loadList);
  $('auto-refresh').addEventListener('change', () => {
    if ($('auto-refresh').checked) loadList();
    else stopRefresh();
  });
  $('next-page').addEventListener('click', () => {
    if (list.nextToken === null) return;
    list.pageToken = list.nextToken;
    list.page += 1;
    loadList();
  });
  $('first-page').addEventListener('click', () => {
    firstPage();
    loadList();
  });

  // instance
  $('raise-event-form').addEventListener('submit', raiseEvent);
  $('terminate').addEventListener('click', () => command('terminate', { reason: true }));
  $('suspend').addEventListener('click', () => command('suspend', { reason: true }));
  $('resume').addEventListener('click', () => command('resume', { reason: true }));
  $('retry').addEventListener('click', () => command('retry'));
  $('purge').addEventListener('click', purge);

  try {
    list.filters = readFilters();
  } catch {
    list.filters = {};
  }
  window.addEventListener('hashchange', route);
  route();
}

// the script is deferred: the document is parsed by now
init();
