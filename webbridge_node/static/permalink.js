// A link to one entry: while an entry is open in the detail pane, the page's URL names
// it (?session=<session id>&entry=<entry id>, beside the filters), so the address bar
// (or the detail pane's "copy link") is a link to it. Opening such a link scrolls to the
// entry, highlights it and opens it; if it is older than the history the page loaded,
// the page asks the web bridge for all the history it keeps.
import { byId } from './format.js';
import { clearFilters, matches, writeUrl } from './filters.js';
import { prependHistory, store } from './store.js';
import { revealItem } from './table.js';
import { selectedItem, showDetail } from './detail.js';
import { parseKeepingNanoseconds } from './connection.js';

const DEEP_HISTORY_LIMIT = 100000;   // the web bridge gives at most its [webbridge] history_limit

const linkNote = byId('link-note');
let pending = null;                  // {session, entry} from the URL, until the page has looked for it

// The link in the URL the page was opened with.
export function readLink(params) {
  const entry = params.get('entry');
  if (entry) pending = { session: params.get('session') || '', entry };
}

// The URL's link parameters: the entry in the detail pane, else the one still looked for.
export function linkParams() {
  const item = selectedItem();
  if (item && item.entry && item.entry.entry_id) return { session: item.entry.session_id || '', entry: item.entry.entry_id };
  return pending;
}

function findItem(link) {
  for (let i = store.items.length - 1; i >= 0; i--) {
    const entry = store.items[i].entry;
    if (entry && entry.entry_id === link.entry && (!link.session || entry.session_id === link.session)) {
      return store.items[i];
    }
  }
  return null;
}

function say(text) {
  linkNote.hidden = !text;
  linkNote.textContent = text;
}

// Once the history is in: the linked entry, from memory or from all the history the web
// bridge keeps.
export async function revealLink() {
  const link = pending;
  if (!link) return;
  let item = findItem(link);
  if (!item) {
    say(`looking for entry ${link.entry} in the history…`);
    try {
      const url = new URL('api/logs', location.href);
      url.search = `limit=${DEEP_HISTORY_LIMIT}`;
      const response = await fetch(url, { cache: 'no-store' });
      const body = parseKeepingNanoseconds(await response.text());
      if (Array.isArray(body.entries)) prependHistory(body.entries);
    } catch {
      // not found, below
    }
    item = findItem(link);
  }
  pending = null;
  if (!item) {
    const session = link.session || link.entry.replace(/-\d+$/, '');
    say(`entry ${link.entry} is no longer in the logging node's memory: see session ${session} in `);
    const past = document.createElement('a');
    past.href = '#' + new URLSearchParams({ view: 'past', session }).toString();
    past.textContent = 'the past';
    linkNote.appendChild(past);
    writeUrl();
    return;
  }
  say('');
  if (!matches(item)) clearFilters();                // a link shows its entry, whatever the filters
  showDetail(item);
  revealItem(item);
}

// The detail pane opened or closed: the URL follows.
export function linkChanged() {
  if (!pending) writeUrl();
}
