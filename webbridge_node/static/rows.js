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

// A stable colour per service: one of 36 hues (10° apart, as style.css's hue-N classes)
// from its id (FNV-1a), the same on every page and day.
const hues = new Map();
export function serviceHue(id) {
  let hue = hues.get(id);
  if (hue === undefined) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
    hue = ((hash >>> 0) % 36) * 10;
    if (hues.size > 10000) hues.clear();
    hues.set(id, hue);
  }
  return hue;
}

// A row is filled again each time it shows another item (under a flood, every row in
// sight every frame), and each write to the DOM, even of the value already there, makes
// the browser work out the style and layout of that part again: these write only what
// differs from what the row shows (kept beside the element, as only fillRow writes them).
function setText(element, text) {
  if (element._text === text) return;
  element._text = text;
  element.textContent = text;
}

function setTitle(element, text) {
  if (element._title === text) return;
  element._title = text;
  element.title = text;
}

// `value` undefined removes the attribute.
function setData(element, name, value) {
  const shown = element._data || (element._data = {});
  if (shown[name] === value) return;
  shown[name] = value;
  if (value === undefined) delete element.dataset[name];
  else element.dataset[name] = value;
}

function setClass(element, className) {
  if (element.className !== className) element.className = className;
}

// `text` into `cell`, the text filter's matches in <mark> elements.
function setMessage(cell, text) {
  const ranges = matchRanges(text);
  if (!ranges.length) {
    setText(cell, text);
    return;
  }
  cell._text = undefined;
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
    setClass(row, 'row' + (options.selected ? ' selected' : '') + (options.linked ? ' linked' : '') +
      (options.wrap && item._wrapLines === MAX_WRAP_LINES ? ' clipped' : ''));
    setData(row, 'level', entry.level);
    setData(row, 'kind', entry.kind || 'record');
    setData(row, 'service', item.serviceId);
    setData(row, 'entryId', entry.entry_id || '');
    setData(row, 'marker', undefined);
    const ms = entryMs(entry);
    setText(row._time, formatTime(ms, prefs.timeZone, options.showDates));
    setTitle(row._time, Number.isFinite(ms) ? `${entry.timestamp} · ${formatDateTime(ms, 'local')} (${localZone})` : '');
    setText(row._badge, entry.level);
    setData(row._badge, 'short', SHORT_LEVEL[entry.level]);
    const service = entry.service || item.serviceId;
    setText(row._service, service);
    setTitle(row._service, item.serviceId);
    // a class per hue, not a custom property in the cell's own style: cells of the same
    // hue then share one computed style, which a flood's frames would otherwise work
    // out again for every service cell that changed
    setClass(row._service, 'c-service hue-' + serviceHue(item.serviceId) / 10);
    setMessage(row._message, options.wrap ? wrappedText(entry.message) : oneLine(entry.message));
    setData(row._message, 'service', service);                 // shown before the message on narrow screens
    setTitle(row._message, entry.message.length > MAX_SHOWN_CHARS ? entry.message.slice(0, MAX_SHOWN_CHARS) + ' …'
      : entry.message);
  } else {
    setClass(row, 'row note');
    setData(row, 'level', undefined);
    setData(row, 'service', undefined);
    setData(row, 'entryId', undefined);
    setData(row, 'kind', 'marker');
    setData(row, 'marker', item.marker);
    setText(row._time, '');
    setTitle(row._time, '');
    setText(row._badge, '');
    setData(row._badge, 'short', '');
    setText(row._service, '');
    setTitle(row._service, '');
    setText(row._message, item.text);
    setData(row._message, 'service', '');
    setTitle(row._message, item.text);
  }
}
