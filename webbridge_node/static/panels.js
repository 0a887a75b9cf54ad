// Everything around the table: the header (connection state, session, history error,
// the panels button, the disconnected banner), the services panel (one card per
// service, from services.js) and the stats panel (the logging node's, the web
// bridge's and this page's counters).
import { byId, formatCount, formatDuration, setText } from './format.js';
import { applyTheme, cyclePref, onPrefChange, prefs } from './prefs.js';
import { serviceHue } from './rows.js';
import { serviceCards, takeServiceNames, takeStatus as takeServiceStatus } from './services.js';
import { scheduleRender } from './table.js';
import { followSessionOf } from './connection.js';

const headerElements = {
  connection: byId('connection-state'), connectionText: byId('connection-text'), reconnectNow: byId('reconnect-now'),
  banner: byId('disconnected-banner'), bannerText: byId('banner-text'), sessionId: byId('session-id'),
  historyError: byId('history-error'), togglePanels: byId('toggle-panels'),
  theme: byId('theme'), themeName: byId('theme-name'),
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

// The theme button: follows the system, light, dark, and round again.
const THEME_TITLE = {
  auto: 'colour theme: follows the system setting (click for light)',
  light: 'colour theme: light (click for dark)',
  dark: 'colour theme: dark (click to follow the system again)',
};

function showTheme() {
  applyTheme();
  headerElements.themeName.textContent = prefs.theme;
  headerElements.theme.title = THEME_TITLE[prefs.theme];
  headerElements.theme.dataset.theme = prefs.theme;
}

export function startThemeButton() {
  headerElements.theme.addEventListener('click', () => cyclePref('theme'));
  onPrefChange((name) => { if (name === 'theme') showTheme(); });
  showTheme();
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
// One card per service (services.js decides which and their state).
export function takeStatus(status) {
  if (takeServiceStatus(status)) scheduleServicesPanel();
}

function scheduleServicesPanel() {
  if (servicesPanelQueued) return;
  servicesPanelQueued = true;
  requestAnimationFrame(() => { servicesPanelQueued = false; renderServicesPanel(); });
}

const moreCard = document.createElement('li');
moreCard.className = 'svc-more muted small';

function makeCard(id) {
  const card = document.createElement('li');
  card.className = 'svc';
  card.dataset.service = id;
  card.style.setProperty('--hue', String(serviceHue(id)));
  const part = (className, parent) => {
    const element = document.createElement(parent === card ? 'div' : 'span');
    element.className = className;
    parent.appendChild(element);
    return element;
  };
  const head = part('svc-head', card);
  card._name = part('svc-name', head);
  card._state = part('state', head);
  const sub = part('svc-sub', card);
  card._message = part('svc-msg', sub);
  card._since = part('svc-meta', sub);
  const foot = part('svc-foot', card);
  card._entries = part('svc-entries', foot);
  card._seen = part('svc-seen', foot);
  return card;
}

// At most this many cards (a flood of service ids must not grow the page without end);
// the rest are counted on a last line.
const MAX_CARDS = 100;

export function renderServicesPanel() {
  const now = Date.now();
  const all = serviceCards(now);
  const cards = all.slice(0, MAX_CARDS);
  const existing = new Map();
  for (const card of panelElements.services.children) if (card.dataset.service) existing.set(card.dataset.service, card);
  const order = [];
  let previousKind = '';
  for (const model of cards) {
    const card = existing.get(model.id) || makeCard(model.id);
    existing.delete(model.id);
    card.dataset.state = model.state;
    card.dataset.kind = model.kind;
    card.classList.toggle('group-start', previousKind !== '' && previousKind !== model.kind);
    previousKind = model.kind;
    card.classList.toggle('quiet', model.quiet);
    setText(card._name, model.name);
    card._name.title = model.process ? `${model.id}, in process ${model.process}` : model.id;
    setText(card._state, model.state || 'no status');
    card._state.className = 'state ' + (model.state ? STATE_CLASS[model.state] || 'off' : 'none');
    setText(card._message, model.message);
    card._message.title = model.message;
    const since = Date.parse(model.since);
    const heard = now - model.heardAt;
    setText(card._since, model.quiet ? `silent ${formatDuration(heard)}`
      : Number.isFinite(since) && model.state ? `for ${formatDuration(Math.max(0, now - since))}` : '');
    card._since.title = [model.state && model.since ? `${model.state} since ${model.since}` : '',
      model.heardAt ? `last status ${formatDuration(heard)} ago${model.from === 'supervisor' ? ' (from the supervisor)' : ''}` : '',
      model.host ? `host ${model.host}` : '', model.pid ? `pid ${model.pid}` : ''].filter(Boolean).join(' · ');
    setText(card._entries, model.entries === 1 ? '1 entry' : `${formatCount(model.entries)} entries`);
    card._entries.dataset.count = String(model.entries);
    setText(card._seen, model.lastSeen ? `last seen ${formatDuration(Math.max(0, now - model.lastSeen))} ago` : '');
    order.push(card);
  }
  if (all.length > cards.length) {
    moreCard.textContent = `and ${formatCount(all.length - cards.length)} more services (the service filter lists them all)`;
    order.push(moreCard);
  }
  const current = panelElements.services.children;
  if (current.length !== order.length || order.some((card, i) => current[i] !== card)) {
    panelElements.services.replaceChildren(...order);
  }
  panelElements.servicesEmpty.hidden = all.length > 0;
}

// ----------------------------------------------------------------- stats panel
export function setStat(key, value, formatter = formatCount) {
  const stat = panelElements.stats.querySelector(`[data-stat="${key}"]`);
  if (!stat) return;
  const valueCell = stat.lastElementChild;
  const text = formatter(value);
  if (valueCell.textContent !== text) valueCell.textContent = text;
  const data = typeof value === 'number' ? String(value) : '';
  if (stat.dataset.value !== data) stat.dataset.value = data;   // (a write of the same value costs a style pass)
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
    takeServiceNames(body.service_names);
    if (Array.isArray(body.services)) for (const status of body.services) takeStatus(status);
  } catch {
    // the web bridge is away; the connection indicator already says so
  }
}
