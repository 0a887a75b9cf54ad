// What the page holds: every entry at most once, the notes between entries (skipped, not
// streamed, missing), the counts per level and per service, and the accounting of the
// entries the page never got.
//
// Every entry is kept at most once: (session_id, sequence) decides, so history fetched
// after a (re)connect never duplicates what is already shown.
import { countOf, entryMs, formatClock, formatDateTime } from './format.js';
import { prefs } from './prefs.js';
import { friendlyName } from './services.js';
import { adoptServiceId, markServiceOptionsStale } from './filters.js';
import { dropViewBefore, offerToView, rebuildView, scheduleRender } from './table.js';
import { setSession } from './panels.js';

export const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
export const LEVEL_RANK = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };

const startParams = new URLSearchParams(location.search);
// The newest CAP entries are kept in memory; ?cap=N overrides it (tests, small devices).
export const CAP = intParam(startParams.get('cap'), 100, 2000000, 50000);
export const capInUrl = startParams.has('cap');
const TRIM_SLACK = Math.max(50, Math.floor(CAP / 20));

function intParam(text, min, max, fallback) {
  const value = Number.parseInt(text ?? '', 10);
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

// An item is one table row: {number, entry, rank, serviceId} for an entry,
// {number, entry: null, marker, text, version, describe?} for a note (a note updated in
// place gets a new version; describe(note) makes its text again). number increases by
// one per item and orders everything (entries put before the first, from the history a
// link asked for, get smaller numbers).
export const store = { items: [], nextNumber: 1, discarded: 0 };
const lastSequence = new Map();   // session_id -> highest sequence taken
const seenEntryIds = new Set();   // entry_ids of entries without a usable sequence
export const levelCounts = { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 };
// service id -> {id, name, count, last, pid, host}: its entries on this page (count since
// the page opened or was cleared; the last one, and its pid and host)
export const services = new Map();
export const pageCounts = { skipped: 0, limited: 0, gaps: 0, malformed: 0, duplicates: 0 };
// Entries announced as not delivered (not streamed by the logging node, or skipped by the
// web bridge), to set against the sequence gaps they cause. A count can arrive one
// entries message before its gap: the logging node's count covers what it left out
// since its previous message, also after the last entry it sends with the count (up to
// its next message's first entry), and the bridge merges and splits the node's messages.
// So what is announced before an entries message may explain gaps in that message and
// the gap before the first entry of the next one; what is left after that is dropped
// (the history may have filled those entries), so it never hides a later, real gap.
let creditFresh = 0;              // announced since the last entries message
let creditCarried = 0;            // announced before it: good for the next message's first gap
let reconnectGapNote = false;     // the next gap is "missed while disconnected"
// The logging node's session the page follows, and the ones it followed before (a new
// logging node, after a restart, starts a new session with sequence numbers from 1).
export let currentSession = '';
const earlierSessions = new Set();

// The index of the first item numbered `number` or more (items are ordered by number).
export function indexOfNumber(items, number) {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (items[middle].number < number) low = middle + 1; else high = middle;
  }
  return low;
}

// ------------------------------------------------------------------ services
export function ensureService(id, name) {
  let service = services.get(id);
  if (!service) {
    service = { id, name: name || null, count: 0, last: null, pid: 0, host: '' };
    services.set(id, service);
    markServiceOptionsStale();
    if (name && name !== id) adoptServiceId(id, name);
  } else if (name && service.name !== name) {
    service.name = name;
    markServiceOptionsStale();
  }
  return service;
}

export function displayName(service) {
  return friendlyName(service.id);
}

export function serviceLabel(id) {
  return friendlyName(id);
}

// -------------------------------------------------------------------- ingest
function isEntry(entry) {
  return entry !== null && typeof entry === 'object' && typeof entry.message === 'string' &&
    typeof entry.level === 'string' && Object.prototype.hasOwnProperty.call(LEVEL_RANK, entry.level);
}

function addItem(item) {
  item.number = store.nextNumber++;
  store.items.push(item);
  offerToView(item);
}

// A note: `text` or describe(note), which makes its text again when the time zone shown changes.
function addNote(kind, text) {
  const note = { number: 0, entry: null, marker: kind, text: '', version: 0 };
  if (typeof text === 'function') {
    note.describe = text;
    note.text = text(note);
  } else {
    note.text = text;
  }
  addItem(note);
}

// The zone of the times changed: notes that name a time say it again.
export function redescribeNotes() {
  for (const item of store.items) {
    if (item.entry || !item.describe) continue;
    item.text = item.describe(item);
    item.version++;
  }
}

// `missing` sequence numbers were skipped; `credit` is what the announcements can explain.
function noteGap(missing, credit) {
  const carried = Math.min(missing, credit.carried);
  credit.carried -= carried;
  missing -= carried;
  const fresh = Math.min(missing, credit.fresh);
  credit.fresh -= fresh;
  missing -= fresh;
  if (missing <= 0) return;
  pageCounts.gaps += missing;
  addNote('gap', reconnectGapNote
    ? `${countOf(missing, 'entry was', 'entries were')} published while disconnected and ` +
      `${missing === 1 ? 'is' : 'are'} no longer in the history`
    : `${countOf(missing, 'entry', 'entries')} missing here (sequence gap)`);
}

// Takes the entries of one message. With `stopAtNewSession`, stops at the first entry
// of a session the page has not followed yet if the entries before it in that session
// are not here (a new logging node streams only once it sees its subscribers), and
// returns the entries from there on, for after the history of the new session.
export function ingest(list, { stopAtNewSession = false } = {}) {
  if (!Array.isArray(list)) return null;
  const credit = { carried: creditCarried, fresh: creditFresh };
  let checked = false;              // the first sequence check of this message is done
  let rest = null;
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (!isEntry(entry)) { pageCounts.malformed++; continue; }
    const session = typeof entry.session_id === 'string' ? entry.session_id : '';
    const sequence = entry.sequence;
    if (session && session !== currentSession && !earlierSessions.has(session)) {
      if (!currentSession) {
        followSession(session);
      } else {
        if (stopAtNewSession && sequence !== 1) { rest = list.slice(i); break; }
        beginSession(session, entry);
        credit.carried = 0;             // counts of the old session explain none of the new one's gaps
        credit.fresh = 0;
      }
    }
    if (Number.isSafeInteger(sequence)) {
      const last = lastSequence.get(session);
      if (last !== undefined) {
        if (sequence <= last) { pageCounts.duplicates++; continue; }
        if (sequence > last + 1) noteGap(sequence - last - 1, credit);
        if (!checked) { checked = true; credit.carried = 0; }
      }
      lastSequence.set(session, sequence);
    } else if (entry.entry_id) {
      if (seenEntryIds.has(entry.entry_id)) { pageCounts.duplicates++; continue; }
      seenEntryIds.add(entry.entry_id);
      if (seenEntryIds.size > CAP * 2) seenEntryIds.clear();
    }
    reconnectGapNote = false;
    if (typeof entry.service !== 'string') entry.service = '';
    const serviceId = (typeof entry.service_id === 'string' && entry.service_id) || entry.service || '?';
    const service = ensureService(serviceId, entry.service || null);
    service.count++;
    service.last = entry;
    if (entry.pid !== undefined) service.pid = entry.pid;
    if (entry.host !== undefined) service.host = entry.host;
    levelCounts[entry.level]++;
    addItem({ number: 0, entry, rank: LEVEL_RANK[entry.level], serviceId });
  }
  creditCarried = credit.fresh + credit.carried;
  creditFresh = 0;
  trim();
  scheduleRender();
  return rest;
}

// ------------------------------------------------------------------- sessions
function followSession(id) {
  currentSession = id;
  setSession(id);
}

// A new logging node's session: a boundary row, and the counts the old session
// announced explain nothing in the new one.
function beginSession(id, entry) {
  const previous = currentSession;
  earlierSessions.add(previous);
  if (earlierSessions.size > 1000) earlierSessions.clear();
  followSession(id);
  creditFresh = 0;
  creditCarried = 0;
  burstNotes.skipped = null;
  burstNotes.limited = null;
  const startedAt = entry ? entryMs(entry) : NaN;
  addNote('session', (note) => {
    const when = Number.isFinite(startedAt) ? ` at ${formatDateTime(startedAt, prefs.timeZone)}` : '';
    return `session ${id} started${when}: the logging node restarted (previous session ${previous})`;
  });
  scheduleRender();
}

// Whether `id` (from the logging node's stats, the history or the bridge's hello) is a
// session the page has not followed yet; the first one the page hears of, it follows.
export function isNewSession(id) {
  if (typeof id !== 'string' || !id) return false;
  if (!currentSession) { followSession(id); return false; }
  return id !== currentSession && !earlierSessions.has(id);
}

// After the history of a new session: if it had none of its entries (the history
// failed), the boundary row still goes here.
export function enterSession(id) {
  if (isNewSession(id)) beginSession(id, null);
}

// The history taken after a (re)connect; after a reconnect, a gap in it is what was
// published while the page was away and is no longer in the history.
export function ingestHistory(entries, afterReconnect) {
  if (afterReconnect) reconnectGapNote = true;
  ingest(entries);
  reconnectGapNote = false;
}

// Entries of the history older than every entry of the page (a link to one of them):
// they go before the first, in order. Returns how many.
export function prependHistory(entries) {
  const first = store.items.find((item) => item.entry && Number.isSafeInteger(item.entry.sequence));
  if (!first) return 0;
  const session = first.entry.session_id;
  const older = entries.filter((entry) => isEntry(entry) && entry.session_id === session &&
    Number.isSafeInteger(entry.sequence) && entry.sequence < first.entry.sequence)
    .sort((a, b) => a.sequence - b.sequence);
  if (!older.length) return 0;
  let number = store.items[0].number - older.length;
  const items = older.map((entry) => {
    if (typeof entry.service !== 'string') entry.service = '';
    const serviceId = (typeof entry.service_id === 'string' && entry.service_id) || entry.service || '?';
    ensureService(serviceId, entry.service || null).count++;
    levelCounts[entry.level]++;
    return { number: number++, entry, rank: LEVEL_RANK[entry.level], serviceId };
  });
  store.items = items.concat(store.items);
  rebuildView();
  return items.length;
}

// Keeps the newest CAP items; trims in chunks so the cost is amortised.
function trim() {
  if (store.items.length <= CAP + TRIM_SLACK) return;
  const drop = store.items.length - CAP;
  const firstKept = store.items[drop].number;
  for (let i = 0; i < drop; i++) if (store.items[i].entry) store.discarded++;
  store.items = store.items.slice(drop);
  dropViewBefore(firstKept);
}

// A burst of announcements (a flood the node did not stream, a page that fell behind)
// is one note, updated in place: a count that comes this long after the last one
// starts a new note.
const BURST_QUIET_MS = 5000;
const burstNotes = { skipped: null, limited: null };

function addToBurst(kind, count, describe) {
  const now = Date.now();
  let note = burstNotes[kind];
  const kept = note && store.items.length && note.number >= store.items[0].number;
  if (!kept || now - note.lastAt > BURST_QUIET_MS) {
    note = { number: 0, entry: null, marker: kind, text: '', count, firstAt: now, lastAt: now, version: 0, describe };
    burstNotes[kind] = note;
    note.text = describe(note);
    addItem(note);
  } else {
    note.count += count;
    note.lastAt = now;
    note.version++;
    note.text = describe(note);
  }
  scheduleRender();
}

function burstSpan(note) {
  const first = formatClock(note.firstAt, prefs.timeZone);
  const last = formatClock(note.lastAt, prefs.timeZone);
  return first === last ? `at ${first}` : `from ${first.slice(0, 8)} to ${last}`;
}

export function addSkipped(count) {
  if (!(count > 0)) return;
  pageCounts.skipped += count;
  creditFresh += count;
  addToBurst('skipped', count, (note) =>
    `${countOf(note.count, 'entry', 'entries')} skipped by the web bridge ${burstSpan(note)}: this page fell behind`);
}

// The logging node streams at most [logging] dashboard_max_rate entries a second;
// beyond it, DEBUG and INFO records are written but not streamed, and it says how many.
export function addLimited(count) {
  if (!(count > 0)) return;
  pageCounts.limited += count;
  creditFresh += count;
  addToBurst('limited', count, (note) =>
    `${countOf(note.count, 'DEBUG/INFO entry', 'DEBUG/INFO entries')} not streamed live ${burstSpan(note)}: ` +
    'over the logging node\'s dashboard_max_rate (all are in the session file)');
}

// Forgets every item and count (the clear button). What was taken stays taken: an entry
// seen before the clear is still a duplicate after it.
export function clearStore() {
  store.items = [];
  store.discarded = 0;
  for (const level of LEVELS) levelCounts[level] = 0;
  for (const service of services.values()) service.count = 0;
  pageCounts.skipped = 0;
  pageCounts.limited = 0;
  pageCounts.gaps = 0;
  creditFresh = 0;
  creditCarried = 0;
  burstNotes.skipped = null;
  burstNotes.limited = null;
}
