// The detail pane: everything one entry has (its whole message, where in the code it
// was logged, the process and thread, its structured fields, where it sits in the
// session), and copying its message.
//
// Log data reaches the DOM only through textContent, never innerHTML.
import { byId, dayOf, entryMs, formatTime, localZone } from './format.js';
import { prefs } from './prefs.js';
import { selectionChanged } from './table.js';
import { linkChanged } from './permalink.js';

const detailElements = {
  pane: byId('entry-detail'), level: byId('detail-level'), service: byId('detail-service'),
  time: byId('detail-time'), message: byId('detail-message'), fields: byId('detail-fields'),
  keyValues: byId('detail-kv'), keyValueRows: byId('detail-kv-rows'),
  copy: byId('detail-copy'), link: byId('detail-link'), close: byId('detail-close'),
};

let selected = null;              // the item shown

export function selectedItem() {
  return selected;
}

const present = (value) => value !== undefined && value !== null && value !== '' &&
  !(typeof value === 'number' && value === 0);

// "music.py:42", "music.py", or '' (a line without a file says nothing).
function sourceOf(entry) {
  if (typeof entry.file !== 'string' || !entry.file) return '';
  return present(entry.line) ? `${entry.file}:${entry.line}` : entry.file;
}

// [data-field key, label, value] for every property the entry has, in reading order.
function describedFields(entry, item) {
  return [
    ['source', 'source', sourceOf(entry)],
    ['function', 'function', entry.function],
    ['logger', 'logger', entry.logger],
    ['thread', 'thread', entry.thread],
    ['pid', 'pid', entry.pid],
    ['host', 'host', entry.host],
    ['service_id', 'service id', entry.service_id || item.serviceId],
    ['kind', 'kind', entry.kind && entry.kind !== 'record' ? entry.kind : ''],
    ['repeat_count', 'repeats', entry.repeat_count],
    ['timestamp_ns', 'time (ns)', entry.timestamp_ns],
    ['sequence', 'sequence', entry.sequence],
    ['entry_id', 'entry', entry.entry_id],
    ['session_id', 'session', entry.session_id],
  ].filter(([, , value]) => present(value));
}

export function showDetail(item) {
  if (!item || !item.entry) return;
  selected = item;
  const entry = item.entry;
  detailElements.pane.hidden = false;
  detailElements.pane.dataset.level = entry.level;
  detailElements.level.textContent = entry.level;
  detailElements.level.dataset.level = entry.level;
  detailElements.service.textContent = entry.service || item.serviceId;
  const ms = entryMs(entry);
  const local = Number.isFinite(ms) ? `${dayOf(ms, 'local')} ${formatTime(ms, 'local', false)} (${localZone})` : '';
  detailElements.time.textContent = prefs.timeZone === 'local' && local ? local : entry.timestamp || '';
  detailElements.time.title = prefs.timeZone === 'local' ? entry.timestamp || '' : local;
  detailElements.message.textContent = entry.message;

  const fields = document.createDocumentFragment();
  for (const [key, label, value] of describedFields(entry, item)) {
    const field = document.createElement('div');
    field.dataset.field = key;
    const term = document.createElement('dt');
    term.textContent = label;
    const description = document.createElement('dd');
    description.textContent = String(value);
    field.append(term, description);
    fields.appendChild(field);
  }
  detailElements.fields.replaceChildren(fields);

  // the record's structured fields (key -> text), sorted by key
  const pairs = entry.fields && typeof entry.fields === 'object' && !Array.isArray(entry.fields)
    ? Object.entries(entry.fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
  const rows = document.createDocumentFragment();
  for (const [key, value] of pairs) {
    const row = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = key;
    const text = document.createElement('td');
    text.textContent = typeof value === 'string' ? value : JSON.stringify(value);
    row.append(name, text);
    rows.appendChild(row);
  }
  detailElements.keyValueRows.replaceChildren(rows);
  detailElements.keyValues.hidden = pairs.length === 0;
  detailElements.link.hidden = !entry.entry_id;
  selectionChanged();
  linkChanged();
}

export function hideDetail() {
  selected = null;
  detailElements.pane.hidden = true;
  selectionChanged();
  linkChanged();
}

export function detailShown() {
  return !detailElements.pane.hidden;
}

async function copyDetailMessage() {
  if (!selected) return;
  try {
    await navigator.clipboard.writeText(selected.entry.message);
    detailElements.copy.textContent = 'copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(detailElements.message);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    detailElements.copy.textContent = 'selected: press Ctrl+C';
  }
  setTimeout(() => { detailElements.copy.textContent = 'copy message'; }, 1500);
}

// The page's URL names the open entry (permalink.js): that is the link.
async function copyLink() {
  try {
    await navigator.clipboard.writeText(location.href);
    detailElements.link.textContent = 'link copied';
  } catch {
    detailElements.link.textContent = 'the address bar has the link';
  }
  setTimeout(() => { detailElements.link.textContent = 'copy link'; }, 1500);
}

export function startDetail() {
  detailElements.close.addEventListener('click', hideDetail);
  detailElements.copy.addEventListener('click', copyDetailMessage);
  detailElements.link.addEventListener('click', copyLink);
}
