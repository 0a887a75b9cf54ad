// The connection to the web bridge: its WebSocket (live entries, notices, statuses,
// stats), the history fetched each time the socket opens, and reconnecting with backoff
// when the socket closes, hangs or goes silent.
//
// Incoming messages only change state; the table draws at most once per animation frame.
import { addLimited, addSkipped, enterSession, ingest, ingestHistory, isNewSession, pageCounts } from './store.js';
import {
  pollStats, showConnection, showHistoryError, shownConnectionState, takeStats, takeStatus, takeWebbridgeStats,
} from './panels.js';
import { revealLink } from './permalink.js';

const HISTORY_LIMIT = 1000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;
const HISTORY_TIMEOUT_MS = 10000;
const OPEN_TIMEOUT_MS = 8000;
// The bridge sends its own status every second: this long a silence means the connection
// is dead even if no close event came (a sleeping laptop, a pulled cable).
const SILENCE_MS = 15000;

// Nanosecond timestamps (1796553362928334218) are beyond what a JavaScript number holds
// exactly (2^53): their digits are read as a string, so the .jsonl download keeps them.
// Only an object's key can be "timestamp_ns" followed by a digit (a quote inside a JSON
// string is escaped), and only a value of 16 digits or more may lose precision.
const LONG_TIMESTAMP_NS = /"timestamp_ns":(-?\d{16,})/g;
const TIMESTAMP_KEY = '"timestamp_ns":';
// What the fast path looks for: the key's end. Searched for alone, it is found faster
// than the whole key (V8 searches a pattern this short for its first character, and a
// longer one starting with a quote, which JSON is full of, with a table it builds per
// search); the key's start is then checked where it must be.
const KEY_END = 'mp_ns":';
const KEY_START = '"timesta';

// The web bridge's entries messages end with each entry's timestamp_ns again, as a
// string of its digits: {"type":"entries","entries":[...],"timestamps_ns":["1796…",…]}.
const DIGITS_KEY = '],"timestamps_ns":[';
const DIGIT_TEXT = /^-?\d{1,19}$/;

export function parseKeepingNanoseconds(text) {
  if (!text.includes(TIMESTAMP_KEY)) return JSON.parse(text);
  if (text.endsWith(']}') && text.lastIndexOf(DIGITS_KEY) > 0) {
    const message = withTheirDigits(JSON.parse(text));
    if (message) return message;
  }
  return entriesKeepingNanoseconds(text) || JSON.parse(text.replace(LONG_TIMESTAMP_NS, '"timestamp_ns":"$1"'));
}

// The entries of a message that carries their digits take them (and the message loses
// "timestamps_ns"); null if the digits are not all strings, one per entry, or if the
// first's and the last's are not those of their entries' timestamp_ns (the web bridge
// writes both lists from the same entries, in one pass: checking every one would cost
// more than the search below).
function withTheirDigits(message) {
  const entries = message && message.entries;
  const digits = message && message.timestamps_ns;
  if (!Array.isArray(entries) || !Array.isArray(digits) || digits.length !== entries.length) return null;
  const last = entries.length - 1;
  for (let i = 0; i <= last; i++) {
    const entry = entries[i];
    const d = digits[i];
    if (entry === null || typeof entry !== 'object' || typeof entry.timestamp_ns !== 'number' ||
        typeof d !== 'string') return null;
    if ((i === 0 || i === last) && !(DIGIT_TEXT.test(d) && Number(d) === entry.timestamp_ns)) return null;
  }
  for (let i = 0; i <= last; i++) {
    const d = digits[i];
    if (d.length - (d.charCodeAt(0) === 45 ? 1 : 0) >= 16) entries[i].timestamp_ns = d;   // as LONG_TIMESTAMP_NS
  }
  delete message.timestamps_ns;
  return message;
}

// The same, without the copy of the whole message the replacement makes (under a flood
// a message is hundreds of kB, and copying it cost more than parsing it): for the usual
// message, {"entries": [...]} whose every "timestamp_ns" is one of its entries' and a
// long integer, the message is parsed as it is and each entry then gets its digits.
// Anything else returns null (and is parsed as above).
function entriesKeepingNanoseconds(text) {
  // Without \u escapes and with "timestamp_ns" written only as a key followed by its
  // colon, every key read as timestamp_ns is written "timestamp_ns": in the text.
  if (text.includes('\\u')) return null;
  const digits = [];
  for (let at = text.indexOf(KEY_END); at >= 0; at = text.indexOf(KEY_END, at)) {
    const key = text.startsWith(KEY_START, at - KEY_START.length);  // not "start_timestamp_ns"
    at += KEY_END.length;
    if (!key) continue;
    const start = at;
    if (text.charCodeAt(at) === 45) at++;                                  // -
    const first = at;
    for (let c = text.charCodeAt(at); c >= 48 && c <= 57; c = text.charCodeAt(++at));
    const end = text.charCodeAt(at);
    if (at - first < 16 || (end !== 44 && end !== 125)) return null;      // , }
    digits.push(copyOf(text, start, at));
  }
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  const entries = message && message.entries;
  if (!Array.isArray(entries) || entries.length !== digits.length) return null;
  // Each entry that has the key has it in its own part of the text: as many entries with
  // the key as places it is written means each one is its entry's, in order.
  for (const entry of entries) {
    if (entry === null || typeof entry !== 'object' || typeof entry.timestamp_ns !== 'number') return null;
  }
  for (let i = 0; i < entries.length; i++) entries[i].timestamp_ns = digits[i];
  return message;
}

// text[start, end) as a string of its own: a slice of 13 characters or more would be a
// view that keeps the whole message alive as long as its entry. Today's timestamps have
// 19 digits, made without an array.
function copyOf(t, s, end) {
  if (end - s === 19) {
    return String.fromCharCode(t.charCodeAt(s), t.charCodeAt(s + 1), t.charCodeAt(s + 2), t.charCodeAt(s + 3),
      t.charCodeAt(s + 4), t.charCodeAt(s + 5), t.charCodeAt(s + 6), t.charCodeAt(s + 7), t.charCodeAt(s + 8),
      t.charCodeAt(s + 9), t.charCodeAt(s + 10), t.charCodeAt(s + 11), t.charCodeAt(s + 12), t.charCodeAt(s + 13),
      t.charCodeAt(s + 14), t.charCodeAt(s + 15), t.charCodeAt(s + 16), t.charCodeAt(s + 17), t.charCodeAt(s + 18));
  }
  const codes = [];
  for (let i = s; i < end; i++) codes.push(t.charCodeAt(i));
  return String.fromCharCode(...codes);
}

let socket = null;
let socketGeneration = 0;         // a socket's handlers act only while this is theirs
let backoffMs = BACKOFF_MIN_MS;
let attempts = 0;
let reconnectAt = 0;
let reconnectTimer = 0;
let everLive = false;
let lastMessageAt = 0;
// While the history is being fetched (on each open, and when the logging node starts a
// new session) the socket's messages wait in held.queue, in order, and are taken after it.
let held = null;

function setConnection(state, text) {
  showConnection(state, text, everLive);
}

function socketUrl() {
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.href;
}

// Forgets the current socket: its handlers see a newer generation and do nothing.
function abandonSocket() {
  socketGeneration++;
  if (socket) {
    try { socket.close(); } catch { /* already closed */ }
    socket = null;
  }
}

export function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = 0;
  abandonSocket();
  lastMessageAt = Date.now();
  const generation = socketGeneration;
  attempts++;
  setConnection(everLive ? 'reconnecting' : 'connecting', everLive ? 'reconnecting…' : 'connecting…');
  let thisSocket;
  try {
    thisSocket = new WebSocket(socketUrl());
  } catch {
    scheduleReconnect(generation);
    return;
  }
  socket = thisSocket;
  const hold = { queue: [] };
  held = hold;
  // a handshake that hangs (a stopped server still accepts TCP) counts as a failure
  const openTimer = setTimeout(() => {
    if (generation === socketGeneration && thisSocket.readyState === WebSocket.CONNECTING) scheduleReconnect(generation);
  }, OPEN_TIMEOUT_MS);

  thisSocket.onopen = () => {
    clearTimeout(openTimer);
    if (generation !== socketGeneration) return;
    setConnection('loading', 'loading history…');
    // The socket is open, so live entries are buffered from now on; the history taken
    // now overlaps them, and (session, sequence) removes the overlap.
    fetchHistory().then(({ entries, sessionId }) => {
      ingestHistory(entries, everLive);
      if (sessionId) enterSession(sessionId);
      release(hold);
      if (generation !== socketGeneration || thisSocket.readyState !== WebSocket.OPEN) return;
      everLive = true;
      backoffMs = BACKOFF_MIN_MS;
      attempts = 0;
      setConnection('live', 'live');
      pollStats();
      revealLink();
    });
  };

  thisSocket.onmessage = (event) => {
    if (generation !== socketGeneration) return;
    lastMessageAt = Date.now();
    let message;
    try {
      message = parseKeepingNanoseconds(event.data);
    } catch {
      pageCounts.malformed++;
      return;
    }
    if (!message || typeof message !== 'object') return;
    switch (message.type) {
      case 'entries':
        if (held) held.queue.push(() => ingest(message.entries));
        else takeEntries(message.entries);
        break;
      case 'skipped':
        if (held) held.queue.push(() => addSkipped(Number(message.count)));
        else addSkipped(Number(message.count));
        break;
      case 'limited':
        if (held) held.queue.push(() => addLimited(Number(message.count)));
        else addLimited(Number(message.count));
        break;
      case 'status':
        takeStatus(message.status);
        break;
      case 'stats':
        takeStats(message.stats);
        if (message.webbridge) takeWebbridgeStats(message.webbridge);   // optional, else polled
        break;
      case 'hello':
        followSessionOf(message.session_id);
        break;
      default:
        break;
    }
  };

  thisSocket.onclose = () => {
    // (closed before the history arrived: the pending fetch still takes the history and
    // then what was buffered, in order)
    if (generation !== socketGeneration) return;
    scheduleReconnect(generation);
  };
  thisSocket.onerror = () => { /* onclose follows and schedules the reconnect */ };
}

// Live entries; the first of a new session whose earlier entries are not here (a new
// logging node) waits, with all that follows, for that session's history.
function takeEntries(entries) {
  const rest = ingest(entries, { stopAtNewSession: true });
  if (!rest) return;
  const hold = resync();
  if (hold) hold.queue.push(() => ingest(rest));
  else ingest(rest);
}

// Takes what `hold` kept, in order (also when a reconnect has since replaced it: the
// history the new socket fetches overlaps it, and (session, sequence) removes that).
function release(hold) {
  if (held === hold) held = null;
  for (const deliver of hold.queue) deliver();
}

// The logging node restarted (a new session in its stats, or entries of one): fetch
// the history of the new session, holding what the socket brings meanwhile, so that
// the page shows the new session from its first entry on, in order.
// Returns what holds the messages meanwhile (null if the page is not live: the next
// open fetches the history anyway).
function resync() {
  if (!socket || held || shownConnectionState() !== 'live') return null;
  const hold = { queue: [] };
  held = hold;
  fetchHistory().then(({ entries, sessionId }) => {
    ingest(entries);
    if (sessionId) enterSession(sessionId);
    release(hold);
  });
  return hold;
}

// A session id from the logging node (its stats, the history, the bridge's hello): a new
// one means a new logging node.
export function followSessionOf(id) {
  if (isNewSession(id)) resync();
}

function scheduleReconnect(generation) {
  if (generation !== socketGeneration) return;
  abandonSocket();
  const delay = backoffMs;
  backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
  reconnectAt = Date.now() + delay;
  showReconnectCountdown();
  reconnectTimer = setTimeout(connect, delay);
}

function showReconnectCountdown() {
  if (!reconnectTimer && !reconnectAt) return;
  const left = Math.max(0, reconnectAt - Date.now());
  const what = everLive ? 'reconnecting' : 'connecting';
  setConnection('reconnecting', `${what} in ${(left / 1000).toFixed(1)} s (attempt ${attempts + 1})`);
}

// Once a second: the countdown to the next attempt, and a live socket that went silent.
export function checkConnection() {
  if (reconnectTimer && shownConnectionState() === 'reconnecting') showReconnectCountdown();
  if (socket && shownConnectionState() === 'live' && Date.now() - lastMessageAt > SILENCE_MS) {
    scheduleReconnect(socketGeneration);
  }
}

// The retry-now button: at once, and from the shortest backoff again.
export function reconnectNow() {
  backoffMs = BACKOFF_MIN_MS;
  connect();
}

// The browser is online again: try at once unless a socket is already there.
export function reconnectIfNoSocket() {
  if (!socket) reconnectNow();
}

async function fetchHistory() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), HISTORY_TIMEOUT_MS);
  try {
    const url = new URL('api/logs', location.href);
    url.search = `limit=${HISTORY_LIMIT}`;
    const response = await fetch(url, { cache: 'no-store', signal: abort.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = parseKeepingNanoseconds(await response.text());
    if (typeof body.error === 'string' && body.error) showHistoryError(body.error);
    else showHistoryError('');
    const sessionId = typeof body.session_id === 'string' ? body.session_id : '';
    return { entries: Array.isArray(body.entries) ? body.entries : [], sessionId };
  } catch (err) {
    showHistoryError(err && err.name === 'AbortError' ? 'timed out' : String(err && err.message ? err.message : err));
    return { entries: [], sessionId: '' };
  } finally {
    clearTimeout(timer);
  }
}
