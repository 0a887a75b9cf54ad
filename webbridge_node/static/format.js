// Small helpers the dashboard's modules share: looking up elements, formatting counts,
// durations and service names, writing text without needless DOM changes.

const numberFormat = new Intl.NumberFormat('en-US');

export const byId = (id) => document.getElementById(id);

// 12,345; '—' for anything that is not a finite number.
export function formatCount(value) {
  return typeof value === 'number' && Number.isFinite(value) ? numberFormat.format(value) : '—';
}

// "1 entry", "12,345 entries".
export function countOf(value, one, many) {
  return `${formatCount(value)} ${value === 1 ? one : many}`;
}

// A duration the way the panels show it: 42s, 3m 05s, 2h 07m, 3d 4h ('' for no duration).
export function formatDuration(ms) {
  if (!(ms >= 0)) return '';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

// music_controller -> "Music Controller": the name of a service that has not said its own.
export function titleCase(id) {
  return id.split(/[_\-.\s]+/).filter(Boolean).map((word) => word[0].toUpperCase() + word.slice(1)).join(' ') || id;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// ------------------------------------------------------------------ times
// An entry's time is shown in UTC (as in the session file) or in this browser's zone.
export const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';

const pad2 = (n) => String(n).padStart(2, '0');

// ms since the epoch of an entry ("timestamp" is ISO-8601 UTC with µs; else timestamp_ns),
// NaN if it has no usable time.
const ISO_UTC = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

// Under a flood most entries share their second with the one before: entryMs, formatTime
// and formatDateTime keep what they worked out for the last second (one per kind of
// output) and add only the milliseconds.
let isoSecond = '';               // "2026-11-26T17:45:00" of the last timestamp read
let isoSecondMs = NaN;            // and its ms since the epoch

export function entryMs(entry) {
  const match = typeof entry.timestamp === 'string' ? ISO_UTC.exec(entry.timestamp) : null;
  if (match) {
    const fraction = (match[2] || '').slice(0, 3).padEnd(3, '0');
    // (24:00:00 is a valid time only with no fraction: that one is parsed whole)
    if (match[1].slice(11, 13) !== '24') {
      if (match[1] !== isoSecond) {
        isoSecond = match[1];
        isoSecondMs = Date.parse(`${isoSecond}.000Z`);
      }
      const ms = isoSecondMs + Number(fraction);
      if (Math.abs(ms) <= 8.64e15) return ms;            // (NaN is not)
    } else {
      const ms = Date.parse(`${match[1]}.${fraction}Z`);
      if (Number.isFinite(ms)) return ms;
    }
  }
  const ms = Number(entry.timestamp_ns) / 1e6;
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? Math.floor(ms) : NaN;
}

// "2026-11-26" of `ms` in UTC or local time.
export function dayOf(ms, zone) {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return zone === 'local' ? `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`
    : d.toISOString().slice(0, 10);
}

// "17:45:00.123", or "11-26 17:45:00.123" with the date.
const timeSeconds = [0, 1, 2, 3].map(() => ({ second: NaN, text: '' }));   // by local and withDate

export function formatTime(ms, zone, withDate) {
  if (!Number.isInteger(ms)) return timeOf(ms, zone, withDate);
  const second = Math.floor(ms / 1000);
  const kept = timeSeconds[(zone === 'local' ? 2 : 0) + (withDate ? 1 : 0)];
  if (kept.second !== second) {
    const text = timeOf(second * 1000, zone, withDate);
    if (!text.endsWith('.000')) return timeOf(ms, zone, withDate);   // (years beyond 9999)
    kept.second = second;
    kept.text = text.slice(0, -3);
  }
  const milli = ms - second * 1000;
  return kept.text + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli;
}

function timeOf(ms, zone, withDate) {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  if (zone !== 'local') {
    const iso = d.toISOString();
    return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 23)}` : iso.slice(11, 23);
  }
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  return withDate ? `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}` : time;
}

// "17:45:00 UTC" or "18:45:00 local": a time of day for the notes, saying its zone.
export function formatClock(ms, zone) {
  return `${formatTime(ms, zone, false).slice(0, 8)} ${zone === 'local' ? 'local' : 'UTC'}`;
}

// "2026-11-26 17:45:00 UTC" or the local equivalent, saying its zone.
const dateTimeSeconds = [0, 1].map(() => ({ second: NaN, text: '' }));   // by local

export function formatDateTime(ms, zone) {
  if (!Number.isInteger(ms)) return `${dayOf(ms, zone)} ${formatClock(ms, zone)}`;
  const second = Math.floor(ms / 1000);
  const kept = dateTimeSeconds[zone === 'local' ? 1 : 0];
  if (kept.second !== second) {
    kept.text = `${dayOf(ms, zone)} ${formatClock(ms, zone)}`;
    kept.second = second;
  }
  return kept.text;
}
