// The filters: level (this one and above), services, and message text (a substring or a
// regular expression, both case-insensitive), kept in the URL (?level=WARNING&service=
// music_controller&text=volume&regex=1) so a filtered view can be reloaded or shared.
import { byId, formatCount } from './format.js';
import { CAP, LEVELS, LEVEL_RANK, capInUrl, displayName, ensureService, serviceLabel, services } from './store.js';
import { anchorTopRow, rebuildView } from './table.js';
import { serviceHue } from './rows.js';
import { linkParams, readLink } from './permalink.js';

const filterElements = {
  level: byId('filter-level'), text: byId('filter-text'), regex: byId('filter-regex'), error: byId('filter-error'),
  levelCounts: byId('level-counts'),
  serviceFilter: byId('service-filter'), serviceValue: byId('service-filter-value'),
  serviceOptions: byId('service-options'), serviceSearch: byId('service-search'), serviceAll: byId('service-all'),
  serviceEmpty: byId('service-empty'),
};

// Services are named by id, or by friendly name until their id is known (a URL may use
// either); matcher is null when there is no text, or when it is an invalid regex.
export const filter = {
  rank: 0, services: new Set(), text: '', regex: false, matcher: null, invalid: '', highlight: null,
};

let serviceOptionsStale = true;   // the service list of the dropdown needs drawing again
let serviceOptionsTimer = 0;
let textQueued = false;           // a typing burst waits for the next frame

// True if `source` has a group that repeats (*, + or {n,}) and holds a repeat
// itself, like (a+)+ or (x*)*: on a line that almost matches, such a pattern
// backtracks for seconds per line in JavaScript's engine, so a filter (or a shared
// link) with one is refused instead of freezing the page.
export function backtracksWithoutEnd(source) {
  const groups = [{ repeats: false }];   // per open group: holds an unbounded repeat
  let lastGroup = null;                  // the group that just closed, if the next token may quantify it
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    let closed = null;
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
    } else if (c === '(') {
      groups.push({ repeats: false });
    } else if (c === ')' && groups.length > 1) {
      closed = groups.pop();
    } else if (c === '*' || c === '+' || (c === '{' && /^\{\d*,\d*\}/.test(source.slice(i)))) {
      const unbounded = c !== '{' || /^\{\d*,\}/.test(source.slice(i));
      if (unbounded) {
        if (lastGroup && lastGroup.repeats) return true;
        groups[groups.length - 1].repeats = true;
      }
      if (c === '{') i = source.indexOf('}', i);
    }
    if (closed && closed.repeats) groups[groups.length - 1].repeats = true;
    lastGroup = closed;
  }
  return false;
}

function compileFilter() {
  filter.matcher = null;
  filter.invalid = '';
  filter.highlight = null;
  const text = filter.text;
  if (!text) return;
  if (filter.regex) {
    if (backtracksWithoutEnd(text)) {
      filter.invalid = 'a repeated group that repeats inside can backtrack for seconds per line; ' +
        'write it without the inner repeat';
      return;                                            // shown as invalid, not applied
    }
    let pattern;
    try {
      pattern = new RegExp(text, 'i');
    } catch (err) {
      filter.invalid = String(err && err.message ? err.message : err).replace(/^Invalid regular expression: /, '');
      return;                                            // shown as invalid, not applied
    }
    filter.matcher = (message) => pattern.test(message);
    filter.highlight = new RegExp(text, 'gi');
  } else {
    const needle = text.toLowerCase();
    filter.matcher = (message) => message.toLowerCase().includes(needle);
    filter.highlight = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
  }
}

const MAX_MARKS = 64;

// Where the text filter matches `text`: [start, end) pairs, in order (none without one).
export function matchRanges(text) {
  const pattern = filter.highlight;
  if (!pattern) return [];
  const ranges = [];
  pattern.lastIndex = 0;
  for (let match; ranges.length < MAX_MARKS && (match = pattern.exec(text));) {
    if (match[0].length === 0) {                         // an empty match marks nothing: step over it
      pattern.lastIndex++;
      continue;
    }
    ranges.push([match.index, match.index + match[0].length]);
  }
  return ranges;
}

export function matches(item) {
  // Notes show whatever the filters, except that entries not streamed live are DEBUG
  // and INFO ones: their note goes with a level filter above INFO.
  if (!item.entry) return item.marker !== 'limited' || filter.rank <= LEVEL_RANK.INFO;
  if (item.rank < filter.rank) return false;
  if (filter.services.size && !filter.services.has(item.serviceId) && !filter.services.has(item.entry.service)) {
    return false;
  }
  if (filter.matcher && !filter.matcher(item.entry.message)) return false;
  return true;
}

export function filtersActive() {
  return Boolean(filter.rank || filter.services.size || filter.matcher);
}

export function readUrl() {
  const params = new URLSearchParams(location.search);
  const level = (params.get('level') || 'DEBUG').toUpperCase();
  filter.rank = LEVEL_RANK[level === 'WARN' ? 'WARNING' : level] ?? 0;
  filter.services = new Set();
  for (const value of params.getAll('service')) {
    for (const name of value.split(',')) if (name.trim()) filter.services.add(name.trim());
  }
  filter.text = params.get('text') || '';
  filter.regex = ['1', 'true', 'yes', 'on'].includes((params.get('regex') || '').toLowerCase());
  for (const name of filter.services) ensureService(name, null);
  compileFilter();
  readLink(params);
}

export function writeUrl() {
  const params = new URLSearchParams();
  if (filter.rank > 0) params.set('level', LEVELS[filter.rank]);
  for (const name of [...filter.services].sort()) params.append('service', name);
  if (filter.text) params.set('text', filter.text);
  if (filter.regex) params.set('regex', '1');
  if (capInUrl) params.set('cap', String(CAP));
  const link = linkParams();
  if (link) {
    if (link.session) params.set('session', link.session);
    params.set('entry', link.entry);
  }
  const query = params.toString();
  const url = location.pathname + (query ? '?' + query : '') + location.hash;
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
}

export function showFilters() {
  filterElements.level.value = LEVELS[filter.rank];
  filterElements.level.dataset.level = LEVELS[filter.rank];
  if (filterElements.text.value !== filter.text) filterElements.text.value = filter.text;
  filterElements.regex.setAttribute('aria-pressed', String(filter.regex));
  if (filter.invalid) {
    filterElements.text.setAttribute('aria-invalid', 'true');
    filterElements.error.textContent = 'invalid regex, not applied: ' + filter.invalid;
    filterElements.error.hidden = false;
  } else {
    filterElements.text.removeAttribute('aria-invalid');
    filterElements.error.textContent = '';
    filterElements.error.hidden = true;
  }
  for (const chip of filterElements.levelCounts.querySelectorAll('.chip')) {
    chip.classList.toggle('below', LEVEL_RANK[chip.dataset.level] < filter.rank);
  }
  const chosen = filter.services.size;
  if (chosen === 0) filterElements.serviceValue.textContent = 'all';
  else if (chosen === 1) filterElements.serviceValue.textContent = serviceLabel([...filter.services][0]);
  else filterElements.serviceValue.textContent = chosen + ' selected';
  filterElements.serviceFilter.classList.toggle('active', chosen > 0);
  serviceOptionsStale = true;
  renderServiceOptions();
}

export function focusTextFilter() {
  filterElements.text.focus();
  filterElements.text.select();
}

// Every filter off (a link shows its entry whatever the filters were).
export function clearFilters() {
  filter.rank = 0;
  filter.services.clear();
  filter.text = '';
  filter.regex = false;
  filtersChanged();
}

function filtersChanged() {
  anchorTopRow();
  compileFilter();
  showFilters();
  writeUrl();
  rebuildView();
}

// The URL named a service by its friendly name: now that its id is known, the filter
// (and the URL) use the id, and the stand-in readUrl made for the name goes.
export function adoptServiceId(id, name) {
  if (!filter.services.has(name)) return;
  filter.services.delete(name);
  filter.services.add(id);
  const standIn = services.get(name);
  if (standIn && !standIn.count) services.delete(name);
  queueMicrotask(() => { showFilters(); writeUrl(); });
}

// ------------------------------------------------------------ service filter
export function markServiceOptionsStale() {
  serviceOptionsStale = true;
}

// After each rendered frame: an open list follows at once, a closed one within 300 ms.
export function refreshStaleServiceOptions() {
  if (serviceOptionsStale && filterElements.serviceFilter.open) renderServiceOptions();
  else if (serviceOptionsStale) scheduleServiceOptions();
}

// Once a second: the counts of an open list.
export function refreshOpenServiceOptions() {
  if (filterElements.serviceFilter.open) renderServiceOptions();
}

export function serviceMenuOpen() {
  return filterElements.serviceFilter.open;
}

export function closeServiceMenu() {
  filterElements.serviceFilter.open = false;
}

function scheduleServiceOptions() {
  if (serviceOptionsTimer) return;
  serviceOptionsTimer = setTimeout(() => { serviceOptionsTimer = 0; renderServiceOptions(); }, 300);
}

function renderServiceOptions() {
  serviceOptionsStale = false;
  const find = filterElements.serviceSearch.value.trim().toLowerCase();
  const list = [...services.values()].sort((a, b) => displayName(a).localeCompare(displayName(b)));
  const existing = new Map();
  for (const option of filterElements.serviceOptions.children) existing.set(option.dataset.service, option);
  const order = [];
  for (const service of list) {
    let option = existing.get(service.id);
    if (!option) {
      option = document.createElement('li');
      option.dataset.service = service.id;
      option.style.setProperty('--hue', String(serviceHue(service.id)));
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = service.id;
      box.dataset.service = service.id;
      const name = document.createElement('span');
      name.className = 'name';
      const id = document.createElement('span');
      id.className = 'id';
      const count = document.createElement('span');
      count.className = 'count';
      label.append(box, name, id, count);
      option.appendChild(label);
    }
    existing.delete(service.id);
    const [box, name, id, count] = option.firstChild.children;
    const label = displayName(service);
    if (name.textContent !== label) name.textContent = label;
    const idText = label === service.id ? '' : service.id;
    if (id.textContent !== idText) id.textContent = idText;
    count.textContent = formatCount(service.count);
    box.checked = filter.services.has(service.id) || (!!service.name && filter.services.has(service.name));
    option.hidden = !!find && !label.toLowerCase().includes(find) && !service.id.toLowerCase().includes(find);
    order.push(option);
  }
  // re-insert only when the order changed, so a click in progress is not disturbed
  const current = filterElements.serviceOptions.children;
  if (current.length !== order.length || order.some((option, i) => current[i] !== option)) {
    filterElements.serviceOptions.replaceChildren(...order);
  }
  filterElements.serviceEmpty.hidden = services.size > 0;
}

function toggleService(id, on) {
  const service = services.get(id);
  filter.services.delete(id);
  if (service && service.name) filter.services.delete(service.name);
  if (on) filter.services.add(id);
  filtersChanged();
}

// ------------------------------------------------------------------- events
export function startFilterControls() {
  filterElements.level.addEventListener('change', () => {
    filter.rank = LEVEL_RANK[filterElements.level.value] ?? 0;
    filtersChanged();
  });
  filterElements.text.addEventListener('input', () => {
    filter.text = filterElements.text.value;
    if (textQueued) return;                                // coalesce typing bursts into one frame
    textQueued = true;
    requestAnimationFrame(() => { textQueued = false; filter.text = filterElements.text.value; filtersChanged(); });
  });
  filterElements.text.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && filterElements.text.value) {
      filterElements.text.value = '';
      filter.text = '';
      filtersChanged();
    }
  });
  filterElements.regex.addEventListener('click', () => {
    filter.regex = !filter.regex;
    filtersChanged();
  });
  filterElements.levelCounts.addEventListener('click', (event) => {
    const chip = event.target.closest('.chip');
    if (!chip) return;
    const rank = LEVEL_RANK[chip.dataset.level];
    filter.rank = filter.rank === rank ? 0 : rank;
    filtersChanged();
  });
  filterElements.serviceOptions.addEventListener('change', (event) => {
    const box = event.target;
    if (box && box.dataset && box.dataset.service !== undefined) toggleService(box.dataset.service, box.checked);
  });
  filterElements.serviceAll.addEventListener('click', () => { filter.services.clear(); filtersChanged(); });
  filterElements.serviceSearch.addEventListener('input', renderServiceOptions);
  filterElements.serviceFilter.addEventListener('toggle', () => {
    if (filterElements.serviceFilter.open) { renderServiceOptions(); filterElements.serviceSearch.focus(); }
  });
  document.addEventListener('click', (event) => {
    if (filterElements.serviceFilter.open && !filterElements.serviceFilter.contains(event.target)) {
      filterElements.serviceFilter.open = false;
    }
  });
}
