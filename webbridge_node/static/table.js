// The log table: the items that pass the filters (the view), drawn virtualised: only the
// rows in sight exist in the DOM, recycled as the table scrolls, and the DOM is updated
// at most once per animation frame. It follows the newest rows unless the reader
// scrolled up. Also: pause, clear, downloads of the view, and choosing the entry of the
// detail pane (detail.js).
import { byId, dayOf, entryMs, formatCount, localZone } from './format.js';
import { fillRow, makeRow, wrappedLines } from './rows.js';
import { cyclePref, onPrefChange, prefs } from './prefs.js';
import {
  CAP, clearStore, currentSession, indexOfNumber, levelCounts, pageCounts, redescribeNotes, store,
} from './store.js';
import { filtersActive, markServiceOptionsStale, matches, refreshStaleServiceOptions } from './filters.js';
import { setStat } from './panels.js';
import { hideDetail, selectedItem, showDetail } from './detail.js';

const OVERSCAN = 6;               // rows drawn above and below the visible ones

const tableElements = {
  table: byId('log-table'), scroll: byId('log-scroll'), spacer: byId('log-spacer'), rows: byId('log-rows'),
  empty: byId('log-empty'), jump: byId('jump-latest'), jumpCount: byId('jump-count'),
  viewInfo: byId('view-info'), trimNote: byId('trim-note'), skipNote: byId('skip-note'),
  levelCounts: byId('level-counts'), pause: byId('pause'), newCount: byId('new-count'),
  downloadLog: byId('download-log'), downloadJsonl: byId('download-jsonl'), clear: byId('clear'),
  timeZone: byId('time-zone'), timeZoneName: byId('time-zone-name'), wrap: byId('wrap'),
};

// Where the rows are. Without wrapping every row is geometry.rowHeight tall (style.css
// --row-height: one line, two on narrow screens) and row i sits at i * rowHeight. With
// wrapping an entry's row grows to show its message on as many lines as it takes
// (rows.js counts them from its length and the message column's width in characters:
// the font is monospace), and tops[i] is where row i starts (tops[view.length]: the end).
const geometry = {
  wrap: false, rowHeight: 22, line: 18, pad: 2, extraLines: 0, charsPerLine: 80, tops: [0],
};

export let view = [];             // the items that pass the filters, in order
export let paused = false;
let pausedAtNumber = 0;           // while paused the view holds only items numbered up to this
let newCount = 0;                 // items after pausedAtNumber that pass the filters

export let following = true;      // follow the newest rows
let programmaticTop = -1;         // the scrollTop this module set last (not the reader)
let pendingScrollShift = 0;       // px the rows the reader looks at moved up (older rows trimmed)
let anchorNumber = null;          // after a filter change: keep this item at the top

let renderQueued = false;
const rowPool = [];
let lastSpacerHeight = -1;
let frameNumber = 0;
let pressed = null;               // the row, and its item, under the pointer when it went down
let showDates = false;            // the entries in memory span more than one day: times show dates

// ------------------------------------------------------------------ geometry
function itemHeight(item) {
  if (!geometry.wrap) return geometry.rowHeight;
  return geometry.pad * 2 + geometry.line * (geometry.extraLines + wrappedLines(item, geometry.charsPerLine));
}

function rowTop(index) {
  return geometry.wrap ? geometry.tops[index] : index * geometry.rowHeight;
}

function rowHeightAt(index) {
  return geometry.wrap ? geometry.tops[index + 1] - geometry.tops[index] : geometry.rowHeight;
}

function totalHeight() {
  return rowTop(view.length);
}

// The row at height y (0 .. view.length - 1; 0 for an empty view).
function indexAt(y) {
  if (!geometry.wrap) return Math.max(0, Math.min(view.length - 1, Math.floor(y / geometry.rowHeight)));
  const tops = geometry.tops;
  let low = 0;
  let high = view.length;                                // tops[high] is the end
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (tops[middle] <= y) low = middle; else high = middle;
  }
  return low;
}

function computeTops() {
  if (!geometry.wrap) return;
  const tops = new Array(view.length + 1);
  tops[0] = 0;
  for (let i = 0; i < view.length; i++) tops[i + 1] = tops[i] + itemHeight(view[i]);
  geometry.tops = tops;
}

// Reads the row metrics of the current layout (style.css: --row-height, --row-line,
// --row-pad, --row-extra-lines) and, while wrapping, how many characters the message
// column holds. Places every row again if they changed.
function measure() {
  const style = getComputedStyle(document.documentElement);
  const number = (name, fallback) => Number.parseFloat(style.getPropertyValue(name)) || fallback;
  const before = `${geometry.rowHeight}/${geometry.line}/${geometry.pad}/${geometry.extraLines}/${geometry.charsPerLine}`;
  geometry.rowHeight = number('--row-height', 22);
  geometry.line = number('--row-line', 18);
  geometry.pad = number('--row-pad', 2);
  geometry.extraLines = number('--row-extra-lines', 0) || 0;
  if (geometry.wrap) {
    const probe = measuringRow();
    const charWidth = probe._chars.getBoundingClientRect().width / probe._chars.textContent.length;
    const columnWidth = probe._message.clientWidth;
    if (charWidth > 0 && columnWidth > 0) geometry.charsPerLine = Math.max(8, Math.floor(columnWidth / charWidth));
  }
  const after = `${geometry.rowHeight}/${geometry.line}/${geometry.pad}/${geometry.extraLines}/${geometry.charsPerLine}`;
  if (after === before) return false;
  computeTops();
  for (const row of rowPool) { row._index = -1; row._top = -1; row._height = -1; }
  invalidateRows();
  return true;
}

// A hidden row laid out like the others: the width of its message cell and of a run of
// characters in it.
let probeRow = null;
function measuringRow() {
  if (probeRow) return probeRow;
  probeRow = makeRow(tableElements.scroll);
  probeRow.classList.add('probe');
  probeRow.setAttribute('aria-hidden', 'true');
  probeRow.removeAttribute('role');
  probeRow._chars = document.createElement('span');
  probeRow._chars.className = 'probe-chars';
  probeRow._chars.textContent = 'x'.repeat(200);
  probeRow._message.appendChild(probeRow._chars);
  return probeRow;
}

function setWrap(on) {
  if (geometry.wrap === on) return;
  anchorTopRow();
  geometry.wrap = on;
  document.body.classList.toggle('wrap', on);
  measure();
  computeTops();
  for (const row of rowPool) { row._index = -1; row._top = -1; row._height = -1; row.style.height = ''; }
  invalidateRows();
  scheduleRender();
}

// ---------------------------------------------------------------------- view
function viewPush(item) {
  view.push(item);
  if (geometry.wrap) geometry.tops.push(geometry.tops[geometry.tops.length - 1] + itemHeight(item));
}

function setView(items) {
  view = items;
  computeTops();
}

// A new item: shown at once if it passes the filters, counted as new while paused.
export function offerToView(item) {
  if (!matches(item)) return;
  if (paused) {
    if (item.entry) newCount++;
  } else {
    viewPush(item);
  }
}

export function rebuildView() {
  const lastNumber = paused ? pausedAtNumber : Infinity;
  const shown = [];
  let fresh = 0;
  for (const item of store.items) {
    if (!matches(item)) continue;
    if (item.number <= lastNumber) shown.push(item);
    else if (item.entry) fresh++;
  }
  setView(shown);
  newCount = fresh;
  invalidateRows();
  scheduleRender();
}

// The store trimmed the items numbered below firstKept.
export function dropViewBefore(firstKept) {
  const dropped = indexOfNumber(view, firstKept);
  if (dropped > 0) {
    const shift = rowTop(dropped);
    view = view.slice(dropped);
    if (geometry.wrap) geometry.tops = geometry.tops.slice(dropped).map((top) => top - shift);
    if (!following) pendingScrollShift += shift;           // keep the rows the reader looks at in place
  }
}

// Before a filter change while reading: the next frame keeps the row at the top now
// (or the next one that still shows) at the top.
export function anchorTopRow() {
  if (!following && view.length) {
    anchorNumber = view[indexAt(tableElements.scroll.scrollTop)].number;
  }
}

// ----------------------------------------------------------------- rendering
export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

function invalidateRows() {
  for (const row of rowPool) row._item = undefined;
}

// Dates go with the times once the entries in memory span more than one day (in the
// zone shown).
function updateDates(force = false) {
  const items = store.items;
  let first = null;
  let last = null;
  for (let i = 0; i < items.length && !first; i++) first = items[i].entry;
  for (let i = items.length - 1; i >= 0 && !last; i--) last = items[i].entry;
  const spans = Boolean(first && last) && dayOf(entryMs(first), prefs.timeZone) !== dayOf(entryMs(last), prefs.timeZone);
  if (spans === showDates && !force) return;
  showDates = spans;
  document.body.classList.toggle('show-dates', spans);
  invalidateRows();
}

function showTimeZone() {
  const local = prefs.timeZone === 'local';
  tableElements.timeZoneName.textContent = local ? 'local' : 'UTC';
  tableElements.timeZone.title = local
    ? `times in this browser's zone (${localZone}); click for UTC, as in the session file (t)`
    : `times in UTC, as in the session file; click for this browser's zone, ${localZone} (t)`;
  tableElements.timeZone.dataset.zone = prefs.timeZone;
}

function showWrap() {
  tableElements.wrap.setAttribute('aria-pressed', String(prefs.wrap));
  setWrap(prefs.wrap);
}

function render() {
  renderQueued = false;
  updateDates();
  const total = view.length;
  const height = totalHeight();
  if (height !== lastSpacerHeight) {
    tableElements.spacer.style.height = height + 'px';
    lastSpacerHeight = height;
    tableElements.table.setAttribute('aria-rowcount', String(total + 1));
  }
  const scroller = tableElements.scroll;
  if (pendingScrollShift) {
    if (!following) {
      scroller.scrollTop = Math.max(0, scroller.scrollTop - pendingScrollShift);
      programmaticTop = scroller.scrollTop;
    }
    pendingScrollShift = 0;
  }
  const viewport = scroller.clientHeight;
  if (following) {
    const bottom = Math.max(0, height - viewport);
    if (Math.abs(scroller.scrollTop - bottom) >= 1) {
      scroller.scrollTop = bottom;
    }
    programmaticTop = scroller.scrollTop;
  }
  if (keepInSight) bringIntoSight();
  if (anchorNumber !== null) {
    // after a filter change while reading: keep the row that was at the top (or the next one)
    scroller.scrollTop = rowTop(Math.min(view.length, indexOfNumber(view, anchorNumber)));
    programmaticTop = scroller.scrollTop;
    anchorNumber = null;
  }
  const top = scroller.scrollTop;
  const first = Math.max(0, indexAt(top) - OVERSCAN);
  const last = total ? Math.min(total, indexAt(top + viewport) + 1 + OVERSCAN) : 0;
  // Row i lives in slot i % rowPool.length, so scrolling refills only the rows that came
  // into view; the pool grows to what the viewport needs and no further.
  while (rowPool.length < last - first) {
    rowPool.push(makeRow(tableElements.rows));
    for (const row of rowPool) { row._index = -1; row._top = -1; row._height = -1; }   // slots moved: place every row again
  }
  frameNumber++;
  for (let i = first; i < last; i++) {
    const row = rowPool[i % rowPool.length];
    const item = view[i];
    row._frame = frameNumber;
    if (row._item !== item || row._version !== item.version) {
      fillRow(row, item, { showDates, wrap: geometry.wrap, selected: item === selectedItem(), linked: item === linked });
    }
    if (row._index !== i) {
      row._index = i;
      row.setAttribute('aria-rowindex', String(i + 2));
    }
    const rowY = rowTop(i);
    if (row._top !== rowY) {
      row._top = rowY;
      row.style.transform = `translateY(${rowY}px)`;
    }
    if (geometry.wrap && row._height !== rowHeightAt(i)) {
      row._height = rowHeightAt(i);
      row.style.height = `${row._height}px`;
    }
    if (row.hidden) row.hidden = false;
  }
  for (const row of rowPool) {
    if (row._frame !== frameNumber && !row.hidden) {
      row.hidden = true;
      row._item = undefined;
      row._index = -1;
    }
  }
  tableElements.empty.hidden = total > 0;
  showText(tableElements.empty, store.items.length > 0 ? 'no entries match the filters' : 'waiting for log entries…');

  // jump-to-latest
  const below = total ? total - 1 - indexAt(top + viewport - 1) : 0;
  const showJump = !following && below > 0;
  tableElements.jump.hidden = !showJump;
  if (showJump) showText(tableElements.jumpCount, `(${formatCount(below)} below)`);

  renderLevelCounts();
  renderStatusbar();
  refreshStaleServiceOptions();
}

// Each frame sets these again: a write of the text already there still makes the
// browser recompute that part of the page.
function showText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function renderLevelCounts() {
  for (const chip of tableElements.levelCounts.children) {
    const countText = chip.lastElementChild;
    const text = formatCount(levelCounts[chip.dataset.level]);
    showText(countText, text);
    chip.classList.toggle('zero', levelCounts[chip.dataset.level] === 0);
  }
  showNewCount();
}

function showNewCount() {
  tableElements.newCount.hidden = !paused;
  const text = `${formatCount(newCount)} new`;
  showText(tableElements.newCount, text);
  if (tableElements.newCount.dataset.count !== String(newCount)) tableElements.newCount.dataset.count = String(newCount);
}

function renderStatusbar() {
  const entriesInMemory = store.items.length;
  showText(tableElements.viewInfo, filtersActive()
    ? `${formatCount(view.length)} of ${formatCount(entriesInMemory)} shown`
    : `${formatCount(view.length)} shown`);
  tableElements.trimNote.hidden = store.discarded === 0;
  if (store.discarded) {
    showText(tableElements.trimNote,
      `${formatCount(store.discarded)} older entries discarded: the page keeps the newest ${formatCount(CAP)}`);
  }
  tableElements.skipNote.hidden = pageCounts.skipped === 0 && pageCounts.limited === 0;
  showText(tableElements.skipNote, [pageCounts.skipped ? `${formatCount(pageCounts.skipped)} entries skipped` : '',
    pageCounts.limited ? `${formatCount(pageCounts.limited)} not streamed (rate limit)` : ''].filter(Boolean).join(', '));
  setStat('page-memory', entriesInMemory);
  setStat('page-skipped', pageCounts.skipped);
  setStat('page-limited', pageCounts.limited);
  setStat('page-gaps', pageCounts.gaps);
  setStat('page-discarded', store.discarded);
}

// The rows show the detail pane's entry as selected: redraw them when it changes.
export function selectionChanged() {
  invalidateRows();
  scheduleRender();
}

// ------------------------------------------------------------------- actions
function setPaused(on) {
  if (on === paused) return;
  paused = on;
  tableElements.pause.setAttribute('aria-pressed', String(on));
  tableElements.pause.textContent = on ? 'resume' : 'pause';
  document.body.classList.toggle('paused', on);
  if (on) {
    pausedAtNumber = store.nextNumber - 1;
    newCount = 0;
  } else {
    // append what arrived while paused
    for (let i = indexOfNumber(store.items, pausedAtNumber + 1); i < store.items.length; i++) {
      if (matches(store.items[i])) viewPush(store.items[i]);
    }
    newCount = 0;
  }
  scheduleRender();
}

function clearAll() {
  clearStore();
  setView([]);
  newCount = 0;
  if (paused) pausedAtNumber = store.nextNumber - 1;
  hideDetail();
  following = true;
  markServiceOptionsStale();
  scheduleRender();
}

function download(kind) {
  const parts = [];
  // timestamp_ns is kept as its digits (connection.js): written back as a number, exactly
  const token = `@ns${Math.random().toString(36).slice(2)}@`;
  const tokenPattern = new RegExp(`"${token}(-?\\d+)"`);
  for (const item of view) {
    if (!item.entry) continue;
    const entry = item.entry;
    if (kind === 'log') {
      const service = entry.service || item.serviceId;
      parts.push(`[${entry.timestamp}] ${entry.level.padEnd(8)} ${service.padEnd(20)} ${entry.message}\n`);
    } else {
      const line = JSON.stringify(entry, function exact(key, value) {
        return this === entry && key === 'timestamp_ns' && typeof value === 'string' && /^-?\d+$/.test(value)
          ? token + value : value;
      });
      parts.push(line.replace(tokenPattern, '$1') + '\n');
    }
  }
  const blob = new Blob(parts, { type: kind === 'log' ? 'text/plain' : 'application/x-ndjson' });
  const link = document.createElement('a');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  link.href = URL.createObjectURL(blob);
  link.download = `cantina-${currentSession || 'log'}-view-${stamp}.${kind}`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

// Scrolls `item` (in the view) to the middle of the table and highlights it a moment.
let linked = null;
export function revealItem(item) {
  const index = indexOfNumber(view, item.number);
  if (view[index] !== item) return;
  following = false;
  linked = item;
  invalidateRows();
  const scroller = tableElements.scroll;
  scroller.scrollTop = Math.max(0, rowTop(index) - (scroller.clientHeight - rowHeightAt(index)) / 2);
  programmaticTop = scroller.scrollTop;
  scheduleRender();
  setTimeout(() => { if (linked === item) { linked = null; invalidateRows(); scheduleRender(); } }, 3000);
}

export function jumpToLatest() {
  following = true;
  scheduleRender();
}

export function scrollToOldest() {
  following = false;
  tableElements.scroll.scrollTop = 0;
  programmaticTop = 0;
  scheduleRender();
}

export function togglePause() {
  setPaused(!paused);
}

// Opens the entry after (direction 1) or before (-1) the open one, or the first or last
// one in sight, and keeps it in sight.
let keepInSight = null;
export function selectNextEntry(direction) {
  const scroller = tableElements.scroll;
  const current = selectedItem();
  let index = current ? indexOfNumber(view, current.number) : -1;
  if (!current || view[index] !== current) {
    index = direction > 0 ? indexAt(scroller.scrollTop) - 1 : indexAt(scroller.scrollTop + scroller.clientHeight - 1) + 1;
  }
  for (let i = index + direction; i >= 0 && i < view.length; i += direction) {
    if (!view[i].entry) continue;
    following = false;
    keepInSight = view[i];
    showDetail(view[i]);
    return;
  }
}

// After the layout (the detail pane takes room): scrolls just enough to show keepInSight.
function bringIntoSight() {
  const item = keepInSight;
  keepInSight = null;
  const index = indexOfNumber(view, item.number);
  if (view[index] !== item) return;
  const scroller = tableElements.scroll;
  const top = rowTop(index);
  const bottom = top + rowHeightAt(index);
  if (top < scroller.scrollTop) scroller.scrollTop = top;
  else if (bottom > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = bottom - scroller.clientHeight;
  programmaticTop = scroller.scrollTop;
}

// -------------------------------------------------------------------- events
export function startTable() {
  tableElements.pause.addEventListener('click', () => setPaused(!paused));
  tableElements.newCount.addEventListener('click', () => setPaused(false));
  tableElements.clear.addEventListener('click', clearAll);
  tableElements.downloadLog.addEventListener('click', () => download('log'));
  tableElements.downloadJsonl.addEventListener('click', () => download('jsonl'));
  tableElements.jump.addEventListener('click', jumpToLatest);
  tableElements.timeZone.addEventListener('click', () => cyclePref('timeZone'));
  onPrefChange((name) => {
    if (name !== 'timeZone') return;
    updateDates(true);
    showTimeZone();
    redescribeNotes();
    invalidateRows();
    scheduleRender();
  });
  showTimeZone();

  tableElements.scroll.addEventListener('scroll', () => {
    const scroller = tableElements.scroll;
    // The scroll render() made (following, or keeping a row in place) is drawn already:
    // only the reader's own needs a frame (under a flood, one more each time).
    if (Math.abs(scroller.scrollTop - programmaticTop) < 1) return;
    // the reader moved: follow again only once back at the bottom
    following = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - geometry.rowHeight / 2;
    programmaticTop = -1;
    scheduleRender();
  }, { passive: true });
  tableElements.scroll.addEventListener('wheel', (event) => {
    if (event.deltaY < 0 && view.length) following = false;
  }, { passive: true });
  tableElements.scroll.addEventListener('keydown', (event) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(event.key)) following = false;   // End: keys.js
  });
  // Rows are recycled as the table follows new entries, so the entry is taken when the
  // pointer goes down: the click opens what was under the pointer then, not what the row
  // element shows by the time the button is released.
  tableElements.rows.addEventListener('pointerdown', (event) => {
    const row = event.target.closest('.row');
    pressed = row ? { row, item: row._item } : null;
  });
  tableElements.rows.addEventListener('click', (event) => {
    const row = event.target.closest('.row');
    const item = pressed && pressed.row === row ? pressed.item : row && row._item;
    pressed = null;
    if (!item || !item.entry) return;
    if (getSelection().toString()) return;             // selecting text, not opening
    if (selectedItem() === item) hideDetail();
    else showDetail(item);
  });
  new ResizeObserver(() => { measure(); scheduleRender(); }).observe(tableElements.scroll);
  tableElements.wrap.addEventListener('click', () => cyclePref('wrap'));
  onPrefChange((name) => { if (name === 'wrap') showWrap(); });
  measure();
  showWrap();
}
