// Everything around the table: the header (connection state, session, history error,
// the panels button, the disconnected banner), the services panel (each service's last
// status) and the stats panel (the logging node's, the web bridge's and this page's
// counters).
import { byId, formatCount, formatDuration, setText } from './format.js';
import { displayName, ensureService, services } from './store.js';
import { scheduleRender } from './table.js';
import { followSessionOf } from './connection.js';

const headerElements = {
  connection: byId('connection-state'), connectionText: byId('connection-text'), reconnectNow: byId('reconnect-now'),
  banner: byId('disconnected-banner'), bannerText: byId('banner-text'), sessionId: byId('session-id'),
  historyError: byId('history-error'), togglePanels: byId('toggle-panels'),
};
const panelElements = {
  services: byId('services-panel'), servicesEmpty: byId('services-empty'),
  stats: byId('stats-panel'), statsAge: byId('stats-age'), sessionFile: byId('session-file'),
};

const STATE_CLASS = { STARTING: 'warn', RUNNING: 'ok', STOPPING: 'warn', STOPPED: 'off', ERROR: 'bad', FATAL: 'fatal' };

let lastStatsAt = 0;
let servicesPanelQueued = false;

// ---------------------------------------------------------------------- header
// state: connecting, loading, live or reconnecting; everLive: the page had the web
// bridge once (so the banner says it lost it rather than never reached it).
export function showConnection(state, text, everLive) {
  headerElements.connection.dataset.state = state;
  headerElements.connectionText.textContent = text;
  const down = state === 'reconnecting';
  headerElements.banner.hidden = !down;
  headerElements.bannerText.textContent = everLive
    ? 'lost the web bridge: reconnecting; what was published meanwhile comes from the history once it is back'
    : 'cannot reach the web bridge: retrying';
  headerElements.reconnectNow.hidden = !down;
  document.body.classList.toggle('disconnected', down);
}

export function shownConnectionState() {
  return headerElements.connection.dataset.state;
}

// The session the page follows (store.js decides which).
export function setSession(id) {
  headerElements.sessionId.textContent = id || '—';
}

export function showHistoryError(text) {
  headerElements.historyError.hidden = !text;
  headerElements.historyError.textContent = text ? 'no history' : '';
  headerElements.historyError.title = text ? `history could not be loaded: ${text}` : '';
}

// Panels show beside the table on wide windows and are folded away on narrow ones;
// the button flips whichever is the default.
const narrow = window.matchMedia('(max-width: 760px)');
const panelsShown = () => narrow.matches === document.body.classList.contains('panels-toggled');

function showPanelsState() {
  headerElements.togglePanels.setAttribute('aria-expanded', String(panelsShown()));
  scheduleRender();
}

export function startPanelsButton() {
  headerElements.togglePanels.addEventListener('click', () => {
    document.body.classList.toggle('panels-toggled');
    showPanelsState();
  });
  narrow.addEventListener('change', showPanelsState);
  showPanelsState();
}

// -------------------------------------------------------------- services panel
export function takeStatus(status) {
  if (!status || typeof status !== 'object' || typeof status.service !== 'string' || !status.service) return;
  const service = ensureService(status.service, null);
  service.status = status;
  service.heardAt = Date.now();
  scheduleServicesPanel();
}

function scheduleServicesPanel() {
  if (servicesPanelQueued) return;
  servicesPanelQueued = true;
  requestAnimationFrame(() => { servicesPanelQueued = false; renderServicesPanel(); });
}

export function renderServicesPanel() {
  const list = [...services.values()].filter((service) => service.status)
    .sort((a, b) => displayName(a).localeCompare(displayName(b)));
  const existing = new Map();
  for (const card of panelElements.services.children) existing.set(card.dataset.service, card);
  const order = [];
  const now = Date.now();
  for (const service of list) {
    const status = service.status;
    let card = existing.get(service.id);
    if (!card) {
      card = document.createElement('li');
      card.className = 'svc';
      card.dataset.service = service.id;
      const head = document.createElement('div');
      head.className = 'svc-head';
      const name = document.createElement('span');
      name.className = 'svc-name';
      const state = document.createElement('span');
      state.className = 'state';
      head.append(name, state);
      const sub = document.createElement('div');
      sub.className = 'svc-sub';
      const message = document.createElement('span');
      message.className = 'svc-msg';
      const meta = document.createElement('span');
      meta.className = 'svc-meta';
      sub.append(message, meta);
      card.append(head, sub);
    }
    existing.delete(service.id);
    const [head, sub] = card.children;
    const [name, state] = head.children;
    const [message, meta] = sub.children;
    const stateText = typeof status.state === 'string' ? status.state : '?';
    card.dataset.state = stateText;
    setText(name, displayName(service));
    name.title = service.id;
    setText(state, stateText);
    state.className = 'state ' + (STATE_CLASS[stateText] || 'off');
    setText(message, typeof status.message === 'string' ? status.message : '');
    message.title = message.textContent;
    const since = Date.parse(status.since || status.timestamp || '');
    const quiet = now - service.heardAt;
    let metaText = Number.isFinite(since) ? `for ${formatDuration(Math.max(0, now - since))}` : '';
    const isQuiet = quiet > 5000 && (stateText === 'RUNNING' || stateText === 'STARTING');
    if (isQuiet) metaText = `silent ${formatDuration(quiet)}`;
    card.classList.toggle('quiet', isQuiet);
    setText(meta, metaText);
    meta.title = [status.since ? `${stateText} since ${status.since}` : '', `last status ${formatDuration(quiet)} ago`,
      status.host ? `host ${status.host}` : '', status.pid ? `pid ${status.pid}` : ''].filter(Boolean).join(' · ');
    order.push(card);
  }
  const current = panelElements.services.children;
  if (current.length !== order.length || order.some((card, i) => current[i] !== card)) {
    panelElements.services.replaceChildren(...order);
  }
  panelElements.servicesEmpty.hidden = list.length > 0;
}

// ----------------------------------------------------------------- stats panel
export function setStat(key, value, formatter = formatCount) {
  const stat = panelElements.stats.querySelector(`[data-stat="${key}"]`);
  if (!stat) return;
  const valueCell = stat.lastElementChild;
  const text = formatter(value);
  if (valueCell.textContent !== text) valueCell.textContent = text;
  stat.dataset.value = typeof value === 'number' ? String(value) : '';
  if (stat.hasAttribute('data-alert')) stat.classList.toggle('alert', typeof value === 'number' && value > 0);
}

// The logging node's counters (/logging/stats, relayed by the web bridge).
export function takeStats(stats) {
  if (!stats || typeof stats !== 'object') return;
  lastStatsAt = Date.now();
  for (const key of ['received', 'written', 'deduplicated', 'filtered', 'lost', 'dropped', 'malformed',
    'queue_depth', 'publishers', 'not_streamed']) setStat(key, stats[key]);
  setStat('uptime_s', stats.uptime_s, (value) => (typeof value === 'number' ? formatDuration(value * 1000) : '—'));
  panelElements.sessionFile.textContent = typeof stats.session_file === 'string' ? stats.session_file : '';
  panelElements.sessionFile.title = panelElements.sessionFile.textContent ? 'session file' : '';
  followSessionOf(stats.session_id);
  renderStatsAge();
}

export function takeWebbridgeStats(bridgeStats) {
  if (!bridgeStats || typeof bridgeStats !== 'object') return;
  setStat('webbridge-skipped', bridgeStats.skipped);
  setStat('webbridge-inbox_dropped', bridgeStats.inbox_dropped);
  setStat('webbridge-forwarded', bridgeStats.forwarded);
  setStat('webbridge-clients', bridgeStats.clients);
  setStat('webbridge-malformed', bridgeStats.malformed);
}

export function renderStatsAge() {
  if (!lastStatsAt) {
    panelElements.statsAge.textContent = 'no stats from the logging node yet';
    return;
  }
  const age = Date.now() - lastStatsAt;
  panelElements.statsAge.textContent = age > 5000 ? `stale: ${formatDuration(age)} old` : '';
  panelElements.stats.classList.toggle('stale', age > 5000);
}

export async function pollStats() {
  try {
    const response = await fetch(new URL('api/stats', location.href), { cache: 'no-store' });
    if (!response.ok) return;
    const body = await response.json();
    if (body.logging) takeStats(body.logging);
    takeWebbridgeStats(body.webbridge);
    if (Array.isArray(body.services)) for (const status of body.services) takeStatus(status);
  } catch {
    // the web bridge is away; the connection indicator already says so
  }
}
