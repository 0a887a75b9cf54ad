// One row of the log table: its cells, filled from an entry or a note. And how many
// lines an entry's message takes when long lines wrap (table.js places the rows by it).
//
// Log data reaches the DOM only through textContent, title and attributes, never innerHTML.
import { entryMs, formatDateTime, formatTime, localZone } from './format.js';
import { prefs } from './prefs.js';
import { matchRanges } from './filters.js';

const SHORT_LEVEL = { DEBUG: 'DBG', INFO: 'INFO', WARNING: 'WARN', ERROR: 'ERR', CRITICAL: 'CRIT' };
const MAX_WRAP_LINES = 40;          // a longer message is cut (the detail pane has it all)
const MAX_SHOWN_CHARS = 4000;

export function makeRow(container) {
  const row = document.createElement('div');
  row.className = 'row';
  row.setAttribute('role', 'row');
  const addCell = (className) => {
    const cell = document.createElement('span');
    cell.className = className;
    cell.setAttribute('role', 'cell');
    row.appendChild(cell);
    return cell;
  };
  row._time = addCell('c-time');
  const level = addCell('c-level');
  row._badge = document.createElement('span');
  row._badge.className = 'badge';
  level.appendChild(row._badge);
  row._service = addCell('c-service');
  row._message = addCell('c-msg');
  row._item = undefined;
  container.appendChild(row);
  return row;
}

// The message on one line: line breaks shown as ⏎.
function oneLine(text) {
  const shown = text.length > MAX_SHOWN_CHARS / 2 ? text.slice(0, MAX_SHOWN_CHARS / 2) : text;
  return shown.replace(/\s*[\r\n]+\s*/g, ' ⏎ ') + (shown === text ? '' : ' …');
}

// The message as wrapped rows show it: its own line breaks kept, tabs as four spaces, cut
// after MAX_SHOWN_CHARS characters.
function wrappedText(text) {
  const shown = text.length > MAX_SHOWN_CHARS ? text.slice(0, MAX_SHOWN_CHARS) + ' …' : text;
  return shown.replace(/\r\n?/g, '\n').replace(/\t/g, '    ');
}

// Columns a character takes in a monospace font: 2 for East Asian wide and full-width
// characters and for emoji, 1 for the rest (a surrogate pair counts its two halves).
function columns(text) {
  if (!/[^\u0000-\u10ff]/.test(text)) return text.length;
  let width = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    width += (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) || (code >= 0xffe0 && code <= 0xffe6) ? 2 : 1;
  }
  return width;
}

// Lines an item takes when long lines wrap at `charsPerLine` (a note: always one).
// Cached on the item for that width.
export function wrappedLines(item, charsPerLine) {
  if (!item.entry) return 1;
  if (item._wrapWidth === charsPerLine) return item._wrapLines;
  let lines = 0;
  for (const part of wrappedText(item.entry.message).split('\n')) {
    lines += Math.max(1, Math.ceil(columns(part) / charsPerLine));
    if (lines >= MAX_WRAP_LINES) { lines = MAX_WRAP_LINES; break; }
  }
  item._wrapWidth = charsPerLine;
  item._wrapLines = lines;
  return lines;
}

// A stable colour per service: a hue from its id (FNV-1a), the same on every page and day.
const hues = new Map();
export function serviceHue(id) {
  let hue = hues.get(id);
  if (hue === undefined) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
    hue = (hash >>> 0) % 360;
    if (hues.size > 10000) hues.clear();
    hues.set(id, hue);
  }
  return hue;
}

// `text` into `cell`, the text filter's matches in <mark> elements.
function setMessage(cell, text) {
  const ranges = matchRanges(text);
  if (!ranges.length) {
    cell.textContent = text;
    return;
  }
  const parts = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) parts.push(text.slice(at, start));
    const mark = document.createElement('mark');
    mark.textContent = text.slice(start, end);
    parts.push(mark);
    at = end;
  }
  if (at < text.length) parts.push(text.slice(at));
  cell.replaceChildren(...parts);
}

// `options`: {showDates, wrap, selected, linked}
export function fillRow(row, item, options) {
  row._item = item;
  row._version = item.version;               // a note updated in place has a new version
  if (item.entry) {
    const entry = item.entry;
    row.className = 'row' + (options.selected ? ' selected' : '') + (options.linked ? ' linked' : '');
    row.dataset.level = entry.level;
    row.dataset.kind = entry.kind || 'record';
    row.dataset.service = item.serviceId;
    row.dataset.entryId = entry.entry_id || '';
    delete row.dataset.marker;
    const ms = entryMs(entry);
    row._time.textContent = formatTime(ms, prefs.timeZone, options.showDates);
    row._time.title = Number.isFinite(ms) ? `${entry.timestamp} · ${formatDateTime(ms, 'local')} (${localZone})` : '';
    row._badge.textContent = entry.level;
    row._badge.dataset.short = SHORT_LEVEL[entry.level];
    const service = entry.service || item.serviceId;
    row._service.textContent = service;
    row._service.title = item.serviceId;
    const hue = serviceHue(item.serviceId);
    if (row._hue !== hue) {
      row._hue = hue;
      row.style.setProperty('--hue', String(hue));
    }
    setMessage(row._message, options.wrap ? wrappedText(entry.message) : oneLine(entry.message));
    row._message.dataset.service = service;                 // shown before the message on narrow screens
    row._message.title = entry.message.length > MAX_SHOWN_CHARS ? entry.message.slice(0, MAX_SHOWN_CHARS) + ' …'
      : entry.message;
    row.classList.toggle('clipped', options.wrap && item._wrapLines === MAX_WRAP_LINES);
  } else {
    row.className = 'row note';
    delete row.dataset.level;
    delete row.dataset.service;
    delete row.dataset.entryId;
    row.dataset.kind = 'marker';
    row.dataset.marker = item.marker;
    row._time.textContent = '';
    row._time.title = '';
    row._badge.textContent = '';
    row._badge.dataset.short = '';
    row._service.textContent = '';
    row._service.title = '';
    row._message.textContent = item.text;
    row._message.dataset.service = '';
    row._message.title = item.text;
  }
}
