// The past: the sessions the logging node wrote (the web bridge's /api/sessions), one
// session a page at a time with the filters applied on the server, "jump to time", and a
// search across every session whose results link into their session.
//
// The URL's hash names what is shown (#view=past, then session=ID, at=CURSOR, since=TIME,
// level, service, text, regex, search), so the address bar is a link to it: a result's
// link, or a row's time, is such a link. The live view's query (?level=…&entry=…) is left
// alone. Every fetch asks for a bounded page (limit); only that page is in the DOM.
// Log data reaches the DOM only through textContent, title and attributes.
import { byId, entryMs, formatDateTime, formatTime } from './format.js';
import { makeRow, serviceHue } from './rows.js';
import { onPrefChange, prefs } from './prefs.js';

const PAGE_LIMIT = 200;         // entries a page
const SESSIONS_LIMIT = 50;      // sessions a page of the list
const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
const SHORT_LEVEL = { DEBUG: 'DBG', INFO: 'INFO', WARNING: 'WARN', ERROR: 'ERR', CRITICAL: 'CRIT' };

const view = byId('past-view');
const toggle = byId('past-toggle');
const liveTab = byId('live-tab');
const errorBox = byId('past-error');
const listPane = byId('past-sessions-pane');
const listBody = byId('past-sessions');
const moreButton = byId('past-more');
const entriesPane = byId('past-entries-pane');
const rowsBox = byId('past-rows');
const title = byId('past-title');
const pageInfo = byId('past-page-info');
const earlierButton = byId('past-earlier');
const laterButton = byId('past-later');
const levelSelect = byId('past-level');
const serviceInput = byId('past-service');
const textInput = byId('past-text');
const regexButton = byId('past-regex');
const timeInput = byId('past-time');
const searchInput = byId('past-search');

let shown = false;
let listNext = null;            // the list's "next" (older sessions), null at the end
let page = null;                // {entries, earlier, later, stopped, scanned}
let request = 0;                // the latest request; older answers are dropped

// The hash as parameters (#view=past&session=…).
function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

export function pastShown() {
  return shown;
}

// Shows what `params` name, the URL following (Back goes to what was shown before);
// the same again does nothing unless `again` (a jump to the same time reloads).
function setHash(params, again = false) {
  const text = params.toString();
  const hash = text ? '#' + text : '';
  if (hash === location.hash || (!hash && !location.hash)) {
    if (again) render();
    return;
  }
  history.pushState(null, '', location.pathname + location.search + hash);
  render();
}

// The filters in the hash, from the inputs.
function filterParams(params) {
  if (levelSelect.value !== 'DEBUG') params.set('level', levelSelect.value);
  const services = serviceInput.value.split(',').map((s) => s.trim()).filter(Boolean);
  if (services.length) params.set('service', services.join(','));
  if (textInput.value) params.set('text', textInput.value);
  if (regexButton.getAttribute('aria-pressed') === 'true') params.set('regex', '1');
  return params;
}

// The server's query parameters for the hash's filters.
function serverFilters(params, query) {
  const level = params.get('level');
  if (level && LEVELS.includes(level)) query.set('level', level);
  if (params.get('service')) query.set('service', params.get('service'));
  const text = params.get('text');
  if (text) {
    query.set('q', params.get('regex') === '1' ? text : text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    query.set('icase', '1');
  }
}

function say(text) {
  errorBox.hidden = !text;
  errorBox.textContent = text;
}

async function getJson(path, query) {
  const url = new URL(path, location.href);
  url.search = query.toString();
  let response;
  try {
    response = await fetch(url, { cache: 'no-store' });
  } catch (err) {
    throw new Error(`the web bridge did not answer (${err.message})`);
  }
  let body = null;
  try { body = await response.json(); } catch { /* below */ }
  if (!response.ok) {
    const why = body && typeof body.error === 'string' ? body.error : response.statusText;
    throw new Error(`${response.status}: ${why}`);
  }
  if (!body || typeof body !== 'object') throw new Error('the web bridge sent something that is not JSON');
  return body;
}

function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(2)} GiB`;
}

function sessionTime(ns) {
  const ms = Number(ns) / 1e6;
  return Number.isFinite(ms) && ms > 0 ? formatDateTime(ms, prefs.timeZone) : '—';
}

function cell(row, text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (text instanceof Node) td.appendChild(text);
  else td.textContent = text;
  row.appendChild(td);
  return td;
}

function sessionLink(id, extra = {}) {
  const params = new URLSearchParams({ view: 'past', session: id, ...extra });
  return '#' + params.toString();
}

function sessionRow(session) {
  const row = document.createElement('tr');
  row.className = 'past-session';
  row.dataset.session = session.id;
  row.dataset.live = session.live ? '1' : '0';
  const link = document.createElement('a');
  link.href = sessionLink(session.id);
  link.textContent = session.id;
  const id = cell(row, link, 'p-id');
  if (session.live) {
    const badge = document.createElement('span');
    badge.className = 'live-badge';
    badge.textContent = 'live';
    id.appendChild(badge);
  }
  cell(row, sessionTime(session.start_ns), 'p-start');
  cell(row, session.live ? 'still writing' : sessionTime(session.end_ns), 'p-end');
  const size = cell(row, formatBytes(session.bytes), 'p-size');
  const parts = Number(session.parts) || 0;
  size.title = `${session.bytes} bytes in ${parts} part${parts === 1 ? '' : 's'}` +
    (session.compressed_parts ? ` (${session.compressed_parts} compressed)` : '');
  cell(row, String(session.lines ?? '—'), 'p-lines');
  const levels = document.createElement('div');
  levels.className = 'p-levels';
  cell(row, levels, 'p-levels-cell');
  for (const level of LEVELS) {
    const count = session.levels ? Number(session.levels[level]) || 0 : 0;
    const chip = document.createElement('span');
    chip.className = 'chip' + (count ? '' : ' zero');
    chip.dataset.level = level;
    chip.title = `${count} ${level} lines`;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = SHORT_LEVEL[level];
    const value = document.createElement('span');
    value.className = 'count';
    value.textContent = String(count);
    chip.append(name, value);
    levels.appendChild(chip);
  }
  return row;
}

async function loadSessions(more) {
  const mine = ++request;
  const query = new URLSearchParams({ limit: String(SESSIONS_LIMIT) });
  if (more && listNext) query.set('before', listNext);
  say('');
  listPane.dataset.state = 'loading';
  try {
    const body = await getJson('api/sessions', query);
    if (mine !== request) return;
    const sessions = Array.isArray(body.sessions) ? body.sessions : [];
    if (!more) listBody.replaceChildren();
    for (const session of sessions) listBody.appendChild(sessionRow(session));
    listNext = typeof body.next === 'string' ? body.next : null;
    moreButton.hidden = !listNext;
    byId('past-sessions-empty').hidden = listBody.children.length > 0;
    listPane.dataset.state = 'ready';
  } catch (err) {
    if (mine !== request) return;
    listPane.dataset.state = 'error';
    say(`could not list the sessions: ${err.message}`);
  }
}

// One entry of a page as a row, like the live table's.
function entryRow(entry, { linked, search }) {
  const row = makeRow(rowsBox);
  row.classList.add('past-row');
  const timeLink = document.createElement('a');
  timeLink.className = 'past-link';
  timeLink.href = sessionLink(entry.session_id, { at: entry.cursor, ...keptFilters() });
  timeLink.title = `link to this entry in session ${entry.session_id}`;
  row._time.appendChild(timeLink);
  const sessionCell = document.createElement('span');
  sessionCell.className = 'c-session';
  sessionCell.setAttribute('role', 'cell');
  sessionCell.textContent = entry.session_id || '';
  row.insertBefore(sessionCell, row._time.nextSibling);
  row.dataset.cursor = entry.cursor || '';
  row.dataset.session = entry.session_id || '';
  if (linked) row.classList.add('linked');
  if (entry.truncated) {
    row.dataset.kind = 'truncated';
    row.dataset.level = '';
    timeLink.textContent = entry.cursor;
    row._badge.textContent = 'CUT';
    row._badge.dataset.short = 'CUT';
    row._message.textContent = `entry cut: ${entry.line_bytes} bytes in the session file, the first ` +
      `${(entry.raw || '').length} characters shown: ${entry.raw || ''}`;
    row._message.title = 'this entry is too large to send whole; read it in the session file';
    return row;
  }
  if (entry.raw !== undefined && entry.message === undefined) {
    row.dataset.kind = 'raw';
    timeLink.textContent = entry.cursor;
    row._message.textContent = entry.raw;
    row._message.title = 'a line not in the session-file layout, as it is in the file';
    return row;
  }
  const ms = entryMs(entry);
  timeLink.textContent = formatTime(ms, prefs.timeZone, true);
  row._time.title = Number.isFinite(ms) ? `${entry.timestamp}` : '';
  row.dataset.level = entry.level;
  row.dataset.kind = entry.kind || 'record';
  row.dataset.entryId = entry.entry_id || '';
  row._badge.textContent = entry.level;
  row._badge.dataset.short = SHORT_LEVEL[entry.level] || entry.level;
  const service = entry.service || '';
  row._service.textContent = service;
  row._service.title = search ? `${service} · session ${entry.session_id}` : service;
  row.style.setProperty('--hue', String(serviceHue(service)));
  const message = String(entry.message ?? '');
  row._message.textContent = message.length > 4000 ? message.slice(0, 4000) + ' …' : message;
  row._message.title = message.slice(0, 4000);
  row._message.dataset.service = service;
  return row;
}

// The filters of the hash, to keep in a link.
function keptFilters() {
  const params = hashParams();
  const kept = {};
  for (const key of ['level', 'service', 'text', 'regex']) if (params.get(key)) kept[key] = params.get(key);
  return kept;
}

function showPage(kind) {
  rowsBox.replaceChildren();
  const at = hashParams().get('at');
  for (const entry of page.entries) {
    entryRow(entry, { linked: kind === 'session' && at && entry.cursor === at, search: kind === 'search' });
  }
  byId('past-rows-empty').hidden = page.entries.length > 0;
  earlierButton.hidden = kind === 'search';
  earlierButton.disabled = !page.earlier;
  laterButton.disabled = !page.later;
  let info = `${page.entries.length} shown`;
  if (page.stopped === 'budget') {
    info += ` · stopped after reading ${formatBytes(page.scanned)} (a request's budget): ` +
      `${kind === 'search' ? 'more' : 'later'} goes on from there`;
  } else if (!page.later) {
    info += kind === 'search' ? ' · no more results' : '';
  }
  const cut = page.entries.filter((entry) => entry.truncated).length;
  if (cut) info += ` · ${cut} cut (too large to send whole)`;
  pageInfo.textContent = info;
  entriesPane.dataset.state = 'ready';
  const linked = rowsBox.querySelector('.row.linked');
  if (linked) linked.scrollIntoView({ block: 'center' });
  else byId('past-scroll').scrollTop = 0;
}

// A page of the open session: forward from `cursor` (or from `since`), or backward.
async function loadEntries(id, { cursor = null, backward = false } = {}) {
  const mine = ++request;
  const params = hashParams();
  const query = new URLSearchParams({ limit: String(PAGE_LIMIT), order: backward ? 'desc' : 'asc' });
  serverFilters(params, query);
  if (cursor) query.set('cursor', cursor);
  else if (params.get('since') && !backward) query.set('since', params.get('since'));
  say('');
  entriesPane.dataset.state = 'loading';
  pageInfo.textContent = 'loading…';
  try {
    const body = await getJson(`api/sessions/${encodeURIComponent(id)}/entries`, query);
    if (mine !== request) return;
    const entries = Array.isArray(body.entries) ? body.entries : [];
    if (backward) {
      entries.reverse();
      page = { entries, earlier: body.next, later: body.prev, stopped: body.stopped, scanned: body.scanned_bytes };
    } else {
      // a forward page at the session's end still has a "next" (a live session grows)
      const atEnd = !body.stopped && !(body.session && body.session.live);
      const fromStart = !cursor && !params.get('since');
      page = {
        entries, earlier: fromStart ? null : body.prev, later: atEnd ? null : body.next, stopped: body.stopped, scanned: body.scanned_bytes,
      };
    }
    showPage('session');
  } catch (err) {
    if (mine !== request) return;
    entriesPane.dataset.state = 'error';
    pageInfo.textContent = '';
    earlierButton.disabled = true;
    laterButton.disabled = true;
    rowsBox.replaceChildren();
    say(`could not read session ${id}: ${err.message}`);
  }
}

async function loadSearch(q, cursor = null) {
  const mine = ++request;
  const params = hashParams();
  const query = new URLSearchParams({ limit: String(PAGE_LIMIT), q, icase: '1' });
  const level = params.get('level');
  if (level && LEVELS.includes(level)) query.set('level', level);
  if (params.get('service')) query.set('service', params.get('service'));
  if (cursor) query.set('cursor', cursor);
  say('');
  entriesPane.dataset.state = 'loading';
  pageInfo.textContent = 'searching…';
  try {
    const body = await getJson('api/search', query);
    if (mine !== request) return;
    page = {
      entries: Array.isArray(body.entries) ? body.entries : [],
      earlier: null,
      later: typeof body.next === 'string' ? body.next : null,
      stopped: body.stopped,
      scanned: body.scanned_bytes,
    };
    showPage('search');
  } catch (err) {
    if (mine !== request) return;
    entriesPane.dataset.state = 'error';
    pageInfo.textContent = '';
    earlierButton.disabled = true;
    laterButton.disabled = true;
    rowsBox.replaceChildren();
    say(`could not search: ${err.message}`);
  }
}

// The inputs from the hash.
function showFilterInputs(params) {
  const level = params.get('level');
  levelSelect.value = LEVELS.includes(level) ? level : 'DEBUG';
  levelSelect.dataset.level = levelSelect.value;
  serviceInput.value = params.get('service') || '';
  textInput.value = params.get('text') || '';
  regexButton.setAttribute('aria-pressed', params.get('regex') === '1' ? 'true' : 'false');
  timeInput.value = params.get('since') || '';
  searchInput.value = params.get('search') || '';
}

// Shows what the hash names.
function render() {
  const params = hashParams();
  const want = params.get('view') === 'past';
  if (want !== shown) {
    shown = want;
    document.body.classList.toggle('past', shown);
    view.hidden = !shown;
    toggle.setAttribute('aria-pressed', shown ? 'true' : 'false');
    liveTab.setAttribute('aria-pressed', shown ? 'false' : 'true');
  }
  if (!shown) return;
  showFilterInputs(params);
  byId('past-zone').textContent = prefs.timeZone === 'local' ? 'local' : 'UTC';
  const session = params.get('session');
  const search = params.get('search');
  view.dataset.mode = session ? 'session' : search ? 'search' : 'list';
  listPane.hidden = Boolean(session || search);
  entriesPane.hidden = !listPane.hidden;
  byId('past-filters').hidden = !session && !search;
  byId('past-time-field').hidden = !session;
  byId('past-text-field').hidden = !session;
  if (session) {
    title.textContent = `session ${session}`;
    loadEntries(session, { cursor: params.get('at') });
  } else if (search) {
    title.textContent = `search: ${search}`;
    loadSearch(search);
  } else {
    title.textContent = 'sessions';
    loadSessions(false);
  }
}

function applyFilters() {
  const params = hashParams();
  const next = filterParams(new URLSearchParams({ view: 'past' }));
  if (params.get('session')) next.set('session', params.get('session'));
  else if (params.get('search')) next.set('search', params.get('search'));
  if (params.get('since') && params.get('session')) next.set('since', params.get('since'));
  setHash(next);
}

export function togglePast() {
  if (shown) {
    setHash(new URLSearchParams());
  } else {
    setHash(new URLSearchParams({ view: 'past' }));
  }
}

function jumpToTime() {
  const params = hashParams();
  const when = timeInput.value.trim();
  const next = filterParams(new URLSearchParams({ view: 'past', session: params.get('session') || '' }));
  if (when) next.set('since', when);
  setHash(next, true);
}

function searchAll() {
  const q = searchInput.value.trim();
  if (!q) return;
  setHash(filterParams(new URLSearchParams({ view: 'past', search: q })), true);
}

// Keys while the past is shown: the live view's own keys do nothing here.
function onKey(event) {
  if (!shown || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target instanceof HTMLElement && ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
  if (typing) {
    if (event.key === 'Enter') {
      event.preventDefault();
      if (target === searchInput) searchAll();
      else if (target === timeInput) jumpToTime();
      else applyFilters();
    }
    return;
  }
  if (!byId('shortcuts').hidden) return;
  const onControl = target instanceof HTMLElement && ['BUTTON', 'A'].includes(target.tagName);
  if (onControl && (event.key === ' ' || event.key === 'Enter')) return;
  const actions = {
    '/': () => (view.dataset.mode === 'session' ? textInput : searchInput).focus(),
    j: () => { if (!laterButton.disabled && !entriesPane.hidden) laterButton.click(); },
    k: () => { if (!earlierButton.disabled && !earlierButton.hidden && !entriesPane.hidden) earlierButton.click(); },
    Escape: () => { if (view.dataset.mode !== 'list') setHash(new URLSearchParams({ view: 'past' })); },
  };
  const action = actions[event.key];
  if (action) {
    event.preventDefault();
    action();
  } else if ([' ', 'End', 'Home'].includes(event.key)) {
    event.stopImmediatePropagation();           // the live table's keys (keys.js): scroll here instead
  }
}

export function startPast() {
  toggle.addEventListener('click', () => setHash(new URLSearchParams({ view: 'past' })));
  liveTab.addEventListener('click', () => { if (shown) togglePast(); });
  byId('past-back').addEventListener('click', () => setHash(new URLSearchParams({ view: 'past' })));
  moreButton.addEventListener('click', () => loadSessions(true));
  levelSelect.addEventListener('change', applyFilters);
  serviceInput.addEventListener('change', applyFilters);
  textInput.addEventListener('change', applyFilters);
  regexButton.addEventListener('click', () => {
    regexButton.setAttribute('aria-pressed', regexButton.getAttribute('aria-pressed') === 'true' ? 'false' : 'true');
    applyFilters();
  });
  byId('past-jump').addEventListener('click', jumpToTime);
  byId('past-search-go').addEventListener('click', searchAll);
  earlierButton.addEventListener('click', () => {
    const session = hashParams().get('session');
    if (session && page && page.earlier) loadEntries(session, { cursor: page.earlier, backward: true });
  });
  laterButton.addEventListener('click', () => {
    const params = hashParams();
    if (!page || !page.later) return;
    if (params.get('session')) loadEntries(params.get('session'), { cursor: page.later });
    else if (params.get('search')) loadSearch(params.get('search'), page.later);
  });
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', render);
  onPrefChange((name) => {
    if (name !== 'timeZone' || !shown) return;
    byId('past-zone').textContent = prefs.timeZone === 'local' ? 'local' : 'UTC';
    if (view.dataset.mode === 'list') loadSessions(false);
    else if (page && entriesPane.dataset.state === 'ready') showPage(view.dataset.mode);   // the page in memory
  });
  render();
}
