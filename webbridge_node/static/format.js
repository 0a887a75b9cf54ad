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
