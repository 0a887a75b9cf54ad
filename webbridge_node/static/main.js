// Cantina bus dashboard: a live, virtualised log table fed by the web bridge's WebSocket.
// index.html loads this module; it wires the others together and starts them.
//
// Plain JavaScript modules, no framework and no build step:
//   connection.js  the WebSocket, reconnecting, the history fetched on each (re)connect
//   store.js       every entry at most once, counts per level and service, gap accounting
//   table.js       the view (what passes the filters), where its rows are (also wrapped),
//                  its virtualised rendering, pause, clear, downloads
//   rows.js        one row's cells: times, service colours, highlighted matches, wrapping
//   detail.js      the detail pane: everything one entry has
//   permalink.js   the URL names the open entry; opening such a link shows it
//   keys.js        keyboard shortcuts and the list of them (?)
//   filters.js     level, service and text filters, kept in the URL
//   panels.js      header, services panel, stats panel
//   services.js    which service cards the services panel shows, and their state
//   prefs.js       the reader's view preferences (time zone, wrap, theme), kept in this browser
//   format.js      small shared helpers
//   past.js        the past: the sessions, one session a page at a time, search across them
//
// Rules the modules keep:
//   * log data only ever reaches the DOM through textContent / title / attributes,
//     never through innerHTML;
//   * incoming messages only change state; the DOM is updated at most once per
//     animation frame, and only the visible rows exist in the DOM;
//   * every entry is kept at most once: (session_id, sequence) decides, so history
//     fetched after a (re)connect never duplicates what is already shown;
//   * loading a module only looks up its elements and sets its state: the modules call
//     each other (their imports go both ways), so nothing runs before this file starts it.
import { checkConnection, connect, reconnectIfNoSocket, reconnectNow } from './connection.js';
import { CAP, pageCounts, store } from './store.js';
import { following, paused, scheduleRender, startTable, view } from './table.js';
import { startDetail } from './detail.js';
import { startShortcuts } from './keys.js';
import {
  readUrl, refreshOpenServiceOptions, showFilters, startFilterControls, writeUrl,
} from './filters.js';
import {
  pollStats, renderServicesPanel, renderStatsAge, shownConnectionState, startPanelsButton, startThemeButton,
} from './panels.js';
import { byId } from './format.js';
import { startPast } from './past.js';

const STATS_POLL_MS = 2000;

startFilterControls();
startTable();
startDetail();
byId('reconnect-now').addEventListener('click', reconnectNow);
startPanelsButton();
startThemeButton();
startPast();
startShortcuts();

// once a second: countdowns and ages
setInterval(() => {
  checkConnection();
  renderServicesPanel();
  renderStatsAge();
  refreshOpenServiceOptions();
}, 1000);
setInterval(() => { if (shownConnectionState() === 'live') pollStats(); }, STATS_POLL_MS);
window.addEventListener('online', reconnectIfNoSocket);

// A small read-only window for debugging from the console and for tests.
Object.defineProperty(window, 'cantinaDashboard', {
  value: Object.freeze({
    get shown() { return view.length; },
    get inMemory() { return store.items.length; },
    get discarded() { return store.discarded; },
    get paused() { return paused; },
    get following() { return following; },
    get connection() { return shownConnectionState(); },
    get duplicatesDropped() { return pageCounts.duplicates; },
    shownMessages() { return view.filter((item) => item.entry).map((item) => item.entry.message); },
    notes() { return store.items.filter((item) => !item.entry).map((item) => ({ marker: item.marker, text: item.text })); },
    // every item in order: {session, sequence, message} for an entry, {marker, text} for a note
    timeline() {
      return store.items.map((item) => (item.entry
        ? { session: item.entry.session_id, sequence: item.entry.sequence, message: item.entry.message }
        : { marker: item.marker, text: item.text }));
    },
    cap: CAP,
  }),
});

readUrl();
showFilters();
writeUrl();
renderStatsAge();
connect();
pollStats();
scheduleRender();
