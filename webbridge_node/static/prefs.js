// The reader's view preferences, kept in this browser (localStorage), not in the URL
// (a shared link carries what is shown, not how): the time column's zone, wrapping of
// long messages, and the colour theme.
const STORAGE_KEY = 'cantina.dashboard.prefs';
const CHOICES = { timeZone: ['utc', 'local'], wrap: [false, true], theme: ['auto', 'light', 'dark'] };

export const prefs = { timeZone: 'utc', wrap: false, theme: 'auto' };
const listeners = [];

function load() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null'); } catch { /* unreadable: defaults */ }
  if (!saved || typeof saved !== 'object') return;
  for (const [name, values] of Object.entries(CHOICES)) if (values.includes(saved[name])) prefs[name] = saved[name];
}

function save() {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify(prefs)); } catch { /* private mode: for this page only */ }
}

// Sets one preference, keeps it, and tells the listeners (fn(name)).
function setPref(name, value) {
  if (!CHOICES[name] || !CHOICES[name].includes(value) || prefs[name] === value) return;
  prefs[name] = value;
  save();
  for (const listener of listeners) listener(name);
}

// The next of a preference's choices (the buttons cycle through them).
export function cyclePref(name) {
  const values = CHOICES[name];
  setPref(name, values[(values.indexOf(prefs[name]) + 1) % values.length]);
}

export function onPrefChange(listener) {
  listeners.push(listener);
}

// "auto" follows the system (prefers-color-scheme, in style.css); light or dark pins one.
export function applyTheme() {
  if (prefs.theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = prefs.theme;
}

load();
applyTheme();
