// Keyboard shortcuts, and the list of them that `?` shows. Keys typed into a field stay
// the field's (but Escape); a focused button keeps Space and Enter.
import { byId } from './format.js';
import { closeServiceMenu, focusTextFilter, serviceMenuOpen } from './filters.js';
import { detailShown, hideDetail } from './detail.js';
import { jumpToLatest, scrollToOldest, selectNextEntry, togglePause } from './table.js';
import { cyclePref } from './prefs.js';
import { togglePast } from './past.js';

const overlay = byId('shortcuts');
const list = byId('shortcut-list');

// [keys as shown, what they do, the event keys, action]
const SHORTCUTS = [
  ['/', 'filter messages (Esc: clear, then leave the filter)', ['/'], focusTextFilter],
  ['Space', 'pause, or resume and show what came meanwhile', [' '], togglePause],
  ['End', 'jump to the latest entry and follow', ['End'], jumpToLatest],
  ['Home', 'the oldest entry in memory', ['Home'], scrollToOldest],
  ['j', 'open the next entry', ['j'], () => selectNextEntry(1)],
  ['k', 'open the previous entry', ['k'], () => selectNextEntry(-1)],
  ['p', 'the past: sessions and search, or back to live', ['p'], togglePast],
  ['t', 'times in UTC or in local time', ['t'], () => cyclePref('timeZone')],
  ['w', 'wrap long lines, or not', ['w'], () => cyclePref('wrap')],
  ['?', 'this list', ['?'], toggleShortcuts],
  ['Esc', 'close this list, the service list or the detail pane', ['Escape'], closeSomething],
];
const ACTIONS = new Map();
for (const [, , keys, action] of SHORTCUTS) for (const key of keys) ACTIONS.set(key, action);

function typingIn(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

function shortcutsShown() {
  return !overlay.hidden;
}

function toggleShortcuts() {
  overlay.hidden = !overlay.hidden;
  if (!overlay.hidden) byId('shortcuts-close').focus();
}

function closeSomething() {
  if (shortcutsShown()) toggleShortcuts();
  else if (serviceMenuOpen()) closeServiceMenu();
  else if (detailShown()) hideDetail();
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (typingIn(target)) {
    if (event.key === 'Escape' && !target.value && target.id === 'filter-text') target.blur();
    return;
  }
  const onControl = target instanceof HTMLElement && ['BUTTON', 'SUMMARY', 'A'].includes(target.tagName);
  if (onControl && (event.key === ' ' || event.key === 'Enter')) return;
  if (shortcutsShown() && event.key !== 'Escape' && event.key !== '?') return;
  const action = ACTIONS.get(event.key);
  if (!action) return;
  event.preventDefault();
  action();
}

export function startShortcuts() {
  const rows = document.createDocumentFragment();
  for (const [keys, what] of SHORTCUTS) {
    const row = document.createElement('tr');
    const key = document.createElement('th');
    key.scope = 'row';
    for (const part of keys.split(/\s+/)) {
      const kbd = document.createElement('kbd');
      kbd.textContent = part;
      key.appendChild(kbd);
    }
    const description = document.createElement('td');
    description.textContent = what;
    row.append(key, description);
    rows.appendChild(row);
  }
  list.replaceChildren(rows);
  document.addEventListener('keydown', onKey);
  byId('show-shortcuts').addEventListener('click', toggleShortcuts);
  byId('shortcuts-close').addEventListener('click', toggleShortcuts);
  overlay.addEventListener('click', (event) => { if (event.target === overlay) toggleShortcuts(); });
}
