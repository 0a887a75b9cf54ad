// Cantina bus dashboard: a live, virtualised log table fed by the web bridge's WebSocket.
//
// Plain JavaScript, no framework and no build step. Rules this file keeps:
//   * log data only ever reaches the DOM through textContent / title / attributes,
//     never through innerHTML;
//   * incoming messages only change state; the DOM is updated at most once per
//     animation frame, and only the visible rows exist in the DOM;
//   * every entry is kept at most once: (session_id, sequence) decides, so history
//     fetched after a (re)connect never duplicates what is already shown.
'use strict';

(() => {
  // ---------------------------------------------------------------- constants
  const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
  const LEVEL_RANK = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };
  const SHORT_LEVEL = { DEBUG: 'DBG', INFO: 'INFO', WARNING: 'WARN', ERROR: 'ERR', CRITICAL: 'CRIT' };
  const HISTORY_LIMIT = 1000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 5000;
  const HISTORY_TIMEOUT_MS = 10000;
  const OPEN_TIMEOUT_MS = 8000;
  const STATS_POLL_MS = 2000;
  const OVERSCAN = 6;               // rows drawn above and below the visible ones
  const startParams = new URLSearchParams(location.search);
  // The newest CAP entries are kept in memory; ?cap=N overrides it (tests, small devices).
  const CAP = intParam(startParams.get('cap'), 100, 2000000, 50000);
  const capInUrl = startParams.has('cap');
  const TRIM_SLACK = Math.max(50, Math.floor(CAP / 20));

  const numberFormat = new Intl.NumberFormat('en-US');

  const byId = (id) => document.getElementById(id);

  // 12,345; '—' for anything that is not a finite number.
  function formatCount(value) {
    return typeof value === 'number' && Number.isFinite(value) ? numberFormat.format(value) : '—';
  }

  function intParam(text, min, max, fallback) {
    const value = Number.parseInt(text ?? '', 10);
    return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
  }

  // ------------------------------------------------------------------ elements
  const filterElements = {
    level: byId('filter-level'), text: byId('filter-text'), regex: byId('filter-regex'), error: byId('filter-error'),
    levelCounts: byId('level-counts'),
    serviceFilter: byId('service-filter'), serviceValue: byId('service-filter-value'),
    serviceOptions: byId('service-options'), serviceSearch: byId('service-search'), serviceAll: byId('service-all'),
    serviceEmpty: byId('service-empty'),
  };
  const tableElements = {
    table: byId('log-table'), scroll: byId('log-scroll'), spacer: byId('log-spacer'), rows: byId('log-rows'),
    empty: byId('log-empty'), jump: byId('jump-latest'), jumpCount: byId('jump-count'),
    viewInfo: byId('view-info'), trimNote: byId('trim-note'), skipNote: byId('skip-note'),
    levelCounts: byId('level-counts'), pause: byId('pause'), newCount: byId('new-count'),
    downloadLog: byId('download-log'), downloadJsonl: byId('download-jsonl'), clear: byId('clear'),
  };
  const detailElements = {
    pane: byId('entry-detail'), level: byId('detail-level'), service: byId('detail-service'),
    time: byId('detail-time'), message: byId('detail-message'), fields: byId('detail-fields'),
    copy: byId('detail-copy'), close: byId('detail-close'),
  };
  const headerElements = {
    connection: byId('connection-state'), connectionText: byId('connection-text'), reconnectNow: byId('reconnect-now'),
    banner: byId('disconnected-banner'), bannerText: byId('banner-text'), sessionId: byId('session-id'),
    historyError: byId('history-error'), togglePanels: byId('toggle-panels'),
  };
  const panelElements = {
    services: byId('services-panel'), servicesEmpty: byId('services-empty'),
    stats: byId('stats-panel'), statsAge: byId('stats-age'), sessionFile: byId('session-file'),
  };

  // Every row is exactly this tall (style.css --row-height): row i sits at i * ROW_HEIGHT.
  const ROW_HEIGHT = Number.parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--row-height')) || 22;

  // --------------------------------------------------------------------- state
  // An item is one table row: {number, entry, rank, serviceId} for an entry,
  // {number, entry: null, marker, text} for a note. number increases by one per item and
  // orders everything.
  const store = { items: [], nextNumber: 1, discarded: 0 };
  let view = [];                  // the items that pass the filters, in order
  const lastSequence = new Map();   // session_id -> highest sequence taken
  const seenEntryIds = new Set();   // entry_ids of entries without a usable sequence
  const levelCounts = { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 };
  const services = new Map();  // service key (id) -> {id, name, count, status, heardAt}
  const pageCounts = { skipped: 0, limited: 0, gaps: 0, malformed: 0, duplicates: 0 };
  let skipCredit = 0;               // entries announced as skipped, not yet seen as a sequence gap
  // Entries announced as not streamed (the node's live-view limit): their gaps are in the
  // next entries message, so what that message does not use is dropped (the history may
  // have filled them); it never covers a later, real gap.
  let limitCredit = 0;
  let reconnectGapNote = false;     // the next gap is "missed while disconnected"

  // Services are named by id, or by friendly name until their id is known (a URL may use
  // either); matcher is null when there is no text, or when it is an invalid regex.
  const filter = { rank: 0, services: new Set(), text: '', regex: false, matcher: null, invalid: '' };

  let paused = false;
  let pausedAtNumber = 0;           // while paused the view holds only items numbered up to this
  let newCount = 0;                 // items after pausedAtNumber that pass the filters

  let following = true;      // follow the newest rows
  let programmaticTop = -1;         // the scrollTop this module set last (not the reader)
  let selected = null;              // item shown in the detail pane

  let sessionId = '';
  let lastStatsAt = 0;

  // ------------------------------------------------------------------- filters
  function compileFilter() {
    filter.matcher = null;
    filter.invalid = '';
    const text = filter.text;
    if (!text) return;
    if (filter.regex) {
      let pattern;
      try {
        pattern = new RegExp(text, 'i');
      } catch (err) {
        filter.invalid = String(err && err.message ? err.message : err).replace(/^Invalid regular expression: /, '');
        return;                                            // shown as invalid, not applied
      }
      filter.matcher = (message) => pattern.test(message);
    } else {
      const needle = text.toLowerCase();
      filter.matcher = (message) => message.toLowerCase().includes(needle);
    }
  }

  function matches(item) {
    if (!item.entry) return true;                          // notes (skipped, gaps) always show
    if (item.rank < filter.rank) return false;
    if (filter.services.size && !filter.services.has(item.serviceId) && !filter.services.has(item.entry.service)) {
      return false;
    }
    if (filter.matcher && !filter.matcher(item.entry.message)) return false;
    return true;
  }

  function filtersActive() {
    return Boolean(filter.rank || filter.services.size || filter.matcher);
  }

  function rebuildView() {
    const lastNumber = paused ? pausedAtNumber : Infinity;
    const shown = [];
    let fresh = 0;
    for (const item of store.items) {
      if (!matches(item)) continue;
      if (item.number <= lastNumber) shown.push(item);
      else if (item.entry) fresh++;
    }
    view = shown;
    newCount = fresh;
    invalidateRows();
    scheduleRender();
  }

  function readUrl() {
    const params = new URLSearchParams(location.search);
    const level = (params.get('level') || 'DEBUG').toUpperCase();
    filter.rank = LEVEL_RANK[level === 'WARN' ? 'WARNING' : level] ?? 0;
    filter.services = new Set();
    for (const value of params.getAll('service')) {
      for (const name of value.split(',')) if (name.trim()) filter.services.add(name.trim());
    }
    filter.text = params.get('text') || '';
    filter.regex = ['1', 'true', 'yes', 'on'].includes((params.get('regex') || '').toLowerCase());
    for (const name of filter.services) ensureService(name, null);
    compileFilter();
  }

  function writeUrl() {
    const params = new URLSearchParams();
    if (filter.rank > 0) params.set('level', LEVELS[filter.rank]);
    for (const name of [...filter.services].sort()) params.append('service', name);
    if (filter.text) params.set('text', filter.text);
    if (filter.regex) params.set('regex', '1');
    if (capInUrl) params.set('cap', String(CAP));
    const query = params.toString();
    const url = location.pathname + (query ? '?' + query : '') + location.hash;
    if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
  }

  function showFilters() {
    filterElements.level.value = LEVELS[filter.rank];
    filterElements.level.dataset.level = LEVELS[filter.rank];
    if (filterElements.text.value !== filter.text) filterElements.text.value = filter.text;
    filterElements.regex.setAttribute('aria-pressed', String(filter.regex));
    if (filter.invalid) {
      filterElements.text.setAttribute('aria-invalid', 'true');
      filterElements.error.textContent = 'invalid regex, not applied: ' + filter.invalid;
      filterElements.error.hidden = false;
    } else {
      filterElements.text.removeAttribute('aria-invalid');
      filterElements.error.textContent = '';
      filterElements.error.hidden = true;
    }
    for (const chip of filterElements.levelCounts.querySelectorAll('.chip')) {
      chip.classList.toggle('below', LEVEL_RANK[chip.dataset.level] < filter.rank);
    }
    const chosen = filter.services.size;
    if (chosen === 0) filterElements.serviceValue.textContent = 'all';
    else if (chosen === 1) filterElements.serviceValue.textContent = serviceLabel([...filter.services][0]);
    else filterElements.serviceValue.textContent = chosen + ' selected';
    filterElements.serviceFilter.classList.toggle('active', chosen > 0);
    serviceOptionsStale = true;
    renderServiceOptions();
  }

  // Before a filter change while reading: the next frame keeps the row at the top now
  // (or the next one that still shows) at the top.
  function anchorTopRow() {
    if (!following && view.length) {
      const topIndex = Math.min(view.length - 1, Math.floor(tableElements.scroll.scrollTop / ROW_HEIGHT));
      anchorNumber = view[topIndex].number;
    }
  }

  function filtersChanged() {
    anchorTopRow();
    compileFilter();
    showFilters();
    writeUrl();
    rebuildView();
  }

  // --------------------------------------------------------------------- ingest
  // music_controller -> "Music Controller": the name of a service that has not said its own.
  function titleCase(id) {
    return id.split(/[_\-.\s]+/).filter(Boolean).map((word) => word[0].toUpperCase() + word.slice(1)).join(' ') || id;
  }

  let serviceOptionsStale = true;   // the service list of the dropdown needs drawing again
  function ensureService(id, name) {
    let service = services.get(id);
    if (!service) {
      service = { id, name: name || null, count: 0, status: null, heardAt: 0 };
      services.set(id, service);
      markServiceOptionsStale();
      if (name && name !== id) adoptServiceId(id, name);
    } else if (name && service.name !== name) {
      service.name = name;
      markServiceOptionsStale();
    }
    return service;
  }

  // The URL named a service by its friendly name: now that its id is known, the filter
  // (and the URL) use the id, and the stand-in readUrl made for the name goes.
  function adoptServiceId(id, name) {
    if (!filter.services.has(name)) return;
    filter.services.delete(name);
    filter.services.add(id);
    const standIn = services.get(name);
    if (standIn && !standIn.count && !standIn.status) services.delete(name);
    queueMicrotask(() => { showFilters(); writeUrl(); });
  }

  function displayName(service) {
    return service.name || titleCase(service.id);
  }

  function serviceLabel(id) {
    const service = services.get(id);
    return (service && service.name) || titleCase(id);
  }

  function isEntry(entry) {
    return entry !== null && typeof entry === 'object' && typeof entry.message === 'string' &&
      typeof entry.level === 'string' && Object.prototype.hasOwnProperty.call(LEVEL_RANK, entry.level);
  }

  function addItem(item) {
    item.number = store.nextNumber++;
    store.items.push(item);
    offerToView(item);
  }

  // A new item: shown at once if it passes the filters, counted as new while paused.
  function offerToView(item) {
    if (!matches(item)) return;
    if (paused) {
      if (item.entry) newCount++;
    } else {
      view.push(item);
    }
  }

  function addNote(kind, text) {
    addItem({ number: 0, entry: null, marker: kind, text });
  }

  function noteGap(missing) {
    const limited = Math.min(missing, limitCredit);
    limitCredit -= limited;
    missing -= limited;
    const covered = Math.min(missing, skipCredit);
    skipCredit -= covered;
    missing -= covered;
    if (missing <= 0) return;
    pageCounts.gaps += missing;
    addNote('gap', reconnectGapNote
      ? `${formatCount(missing)} entries were published while disconnected and are no longer in the history`
      : `${formatCount(missing)} entries missing here (sequence gap)`);
  }

  function ingest(list) {
    if (!Array.isArray(list)) return;
    for (const entry of list) {
      if (!isEntry(entry)) { pageCounts.malformed++; continue; }
      const session = typeof entry.session_id === 'string' ? entry.session_id : '';
      const sequence = entry.sequence;
      if (Number.isSafeInteger(sequence)) {
        const last = lastSequence.get(session);
        if (last !== undefined) {
          if (sequence <= last) { pageCounts.duplicates++; continue; }
          if (sequence > last + 1) noteGap(sequence - last - 1);
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
      levelCounts[entry.level]++;
      addItem({ number: 0, entry, rank: LEVEL_RANK[entry.level], serviceId });
    }
    limitCredit = 0;
    trim();
    scheduleRender();
  }

  // The history taken after a (re)connect; after a reconnect, a gap in it is what was
  // published while the page was away and is no longer in the history.
  function ingestHistory(entries, afterReconnect) {
    if (afterReconnect) reconnectGapNote = true;
    ingest(entries);
    reconnectGapNote = false;
  }

  // The index of the first item numbered `number` or more (items are ordered by number).
  function indexOfNumber(items, number) {
    let low = 0;
    let high = items.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (items[middle].number < number) low = middle + 1; else high = middle;
    }
    return low;
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

  // The store trimmed the items numbered below firstKept.
  function dropViewBefore(firstKept) {
    const dropped = indexOfNumber(view, firstKept);
    if (dropped > 0) {
      view = view.slice(dropped);
      if (!following) {                                      // keep the rows the reader looks at in place
        pendingScrollShift += dropped * ROW_HEIGHT;
      }
    }
  }
  let pendingScrollShift = 0;       // px the rows the reader looks at moved up (older rows trimmed)

  function addSkipped(count) {
    if (!(count > 0)) return;
    pageCounts.skipped += count;
    skipCredit += count;
    addNote('skipped', `${formatCount(count)} entries skipped by the web bridge: this page fell behind`);
    scheduleRender();
  }

  // The logging node streams at most [logging] dashboard_max_rate entries a second;
  // beyond it, DEBUG and INFO records are written but not streamed, and it says how many.
  function addLimited(count) {
    if (!(count > 0)) return;
    pageCounts.limited += count;
    limitCredit += count;
    addNote('limited', `${formatCount(count)} DEBUG/INFO entries not streamed live: more than the logging node's ` +
      'dashboard_max_rate a second (all are in the session file)');
    scheduleRender();
  }

  // ------------------------------------------------------------------ rendering
  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  }

  const rowPool = [];
  function invalidateRows() {
    for (const row of rowPool) row._item = undefined;
  }

  function makeRow() {
    const row = document.createElement('div');
    row.className = 'row';
    row.setAttribute('role', 'row');
    const addCell = (className) => {
      const cell = document.createElement('span');
      cell.className = className;
      cell.setAttribute('role', 'cell');
      row.appendChild(cell);
      return cell;
    };
    row._time = addCell('c-time');
    const level = addCell('c-level');
    row._badge = document.createElement('span');
    row._badge.className = 'badge';
    level.appendChild(row._badge);
    row._service = addCell('c-service');
    row._message = addCell('c-msg');
    row._item = undefined;
    tableElements.rows.appendChild(row);
    return row;
  }

  function shortTime(entry) {
    const timestamp = typeof entry.timestamp === 'string' ? entry.timestamp : '';
    if (timestamp.length >= 23 && timestamp[10] === 'T') return timestamp.slice(11, 23);
    if (typeof entry.timestamp_ns === 'number') return new Date(entry.timestamp_ns / 1e6).toISOString().slice(11, 23);
    return timestamp;
  }

  function oneLine(text) {
    return text.length > 2000 ? text.slice(0, 2000).replace(/\s*[\r\n]+\s*/g, ' ⏎ ') + ' …'
      : text.replace(/\s*[\r\n]+\s*/g, ' ⏎ ');
  }

  // Log data reaches the DOM only through textContent, title and attributes, never innerHTML.
  function fillRow(row, item) {
    row._item = item;
    if (item.entry) {
      const entry = item.entry;
      row.className = 'row' + (item === selected ? ' selected' : '');
      row.dataset.level = entry.level;
      row.dataset.kind = entry.kind || 'record';
      row.dataset.service = item.serviceId;
      row.dataset.entryId = entry.entry_id || '';
      row._time.textContent = shortTime(entry);
      row._time.title = entry.timestamp || '';
      row._badge.textContent = entry.level;
      row._badge.dataset.short = SHORT_LEVEL[entry.level];
      row._service.textContent = entry.service || item.serviceId;
      row._service.title = item.serviceId;
      row._message.textContent = oneLine(entry.message);
      row._message.dataset.service = entry.service || item.serviceId;  // shown before the message on narrow screens
      row._message.title = entry.message.length > 4000 ? entry.message.slice(0, 4000) + ' …' : entry.message;
    } else {
      row.className = 'row note';
      delete row.dataset.level;
      delete row.dataset.service;
      delete row.dataset.entryId;
      row.dataset.kind = 'marker';
      row.dataset.marker = item.marker;
      row._time.textContent = '';
      row._time.title = '';
      row._badge.textContent = '';
      row._badge.dataset.short = '';
      row._service.textContent = '';
      row._service.title = '';
      row._message.textContent = item.text;
      row._message.dataset.service = '';
      row._message.title = item.text;
    }
    if (item.entry) delete row.dataset.marker;
  }

  let lastSpacerHeight = -1;
  let frameNumber = 0;
  let anchorNumber = null;          // after a filter change: keep this item at the top
  function render() {
    renderQueued = false;
    const total = view.length;
    const height = total * ROW_HEIGHT;
    if (height !== lastSpacerHeight) {
      tableElements.spacer.style.height = height + 'px';
      lastSpacerHeight = height;
      tableElements.table.setAttribute('aria-rowcount', String(total + 1));
    }
    const scroller = tableElements.scroll;
    if (pendingScrollShift) {
      if (!following) {
        scroller.scrollTop = Math.max(0, scroller.scrollTop - pendingScrollShift);
        programmaticTop = scroller.scrollTop;
      }
      pendingScrollShift = 0;
    }
    const viewport = scroller.clientHeight;
    if (following) {
      const bottom = Math.max(0, height - viewport);
      if (Math.abs(scroller.scrollTop - bottom) >= 1) {
        scroller.scrollTop = bottom;
      }
      programmaticTop = scroller.scrollTop;
    }
    if (anchorNumber !== null) {
      // after a filter change while reading: keep the row that was at the top (or the next one)
      scroller.scrollTop = indexOfNumber(view, anchorNumber) * ROW_HEIGHT;
      programmaticTop = scroller.scrollTop;
      anchorNumber = null;
    }
    const top = scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + viewport) / ROW_HEIGHT) + OVERSCAN);
    // Row i lives in slot i % rowPool.length, so scrolling refills only the rows that came
    // into view; the pool grows to what the viewport needs and no further.
    while (rowPool.length < last - first) {
      rowPool.push(makeRow());
      for (const row of rowPool) row._index = -1;          // slots moved: place every row again
    }
    frameNumber++;
    for (let i = first; i < last; i++) {
      const row = rowPool[i % rowPool.length];
      const item = view[i];
      row._frame = frameNumber;
      if (row._item !== item) fillRow(row, item);
      if (row._index !== i) {
        row._index = i;
        row.setAttribute('aria-rowindex', String(i + 2));
        row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      }
      if (row.hidden) row.hidden = false;
    }
    for (const row of rowPool) {
      if (row._frame !== frameNumber && !row.hidden) { row.hidden = true; row._item = undefined; row._index = -1; }
    }
    tableElements.empty.hidden = total > 0;
    tableElements.empty.textContent = store.items.length > 0 ? 'no entries match the filters' : 'waiting for log entries…';

    // jump-to-latest
    const lastVisible = Math.min(total, Math.floor((top + viewport) / ROW_HEIGHT));
    const below = total - lastVisible;
    const showJump = !following && below > 0;
    tableElements.jump.hidden = !showJump;
    if (showJump) tableElements.jumpCount.textContent = `(${formatCount(below)} below)`;

    renderLevelCounts();
    renderStatusbar();
    refreshStaleServiceOptions();
  }

  function renderLevelCounts() {
    for (const chip of tableElements.levelCounts.children) {
      const countText = chip.lastElementChild;
      const text = formatCount(levelCounts[chip.dataset.level]);
      if (countText.textContent !== text) countText.textContent = text;
      chip.classList.toggle('zero', levelCounts[chip.dataset.level] === 0);
    }
    showNewCount();
  }

  function showNewCount() {
    tableElements.newCount.hidden = !paused;
    const text = `${formatCount(newCount)} new`;
    if (tableElements.newCount.textContent !== text) tableElements.newCount.textContent = text;
    tableElements.newCount.dataset.count = String(newCount);
  }

  function renderStatusbar() {
    const entriesInMemory = store.items.length;
    tableElements.viewInfo.textContent = filtersActive()
      ? `${formatCount(view.length)} of ${formatCount(entriesInMemory)} shown`
      : `${formatCount(view.length)} shown`;
    tableElements.trimNote.hidden = store.discarded === 0;
    if (store.discarded) {
      tableElements.trimNote.textContent =
        `${formatCount(store.discarded)} older entries discarded: the page keeps the newest ${formatCount(CAP)}`;
    }
    tableElements.skipNote.hidden = pageCounts.skipped === 0 && pageCounts.limited === 0;
    tableElements.skipNote.textContent = [pageCounts.skipped ? `${formatCount(pageCounts.skipped)} entries skipped` : '',
      pageCounts.limited ? `${formatCount(pageCounts.limited)} not streamed (rate limit)` : ''].filter(Boolean).join(', ');
    setStat('page-memory', entriesInMemory);
    setStat('page-skipped', pageCounts.skipped);
    setStat('page-limited', pageCounts.limited);
    setStat('page-gaps', pageCounts.gaps);
    setStat('page-discarded', store.discarded);
  }

  // ------------------------------------------------------------ service filter
  let serviceOptionsTimer = 0;
  function markServiceOptionsStale() {
    serviceOptionsStale = true;
  }

  // After each rendered frame: an open list follows at once, a closed one within 300 ms.
  function refreshStaleServiceOptions() {
    if (serviceOptionsStale && filterElements.serviceFilter.open) renderServiceOptions();
    else if (serviceOptionsStale) scheduleServiceOptions();
  }

  // Once a second: the counts of an open list.
  function refreshOpenServiceOptions() {
    if (filterElements.serviceFilter.open) renderServiceOptions();
  }

  function serviceMenuOpen() {
    return filterElements.serviceFilter.open;
  }

  function closeServiceMenu() {
    filterElements.serviceFilter.open = false;
  }

  function scheduleServiceOptions() {
    if (serviceOptionsTimer) return;
    serviceOptionsTimer = setTimeout(() => { serviceOptionsTimer = 0; renderServiceOptions(); }, 300);
  }

  function renderServiceOptions() {
    serviceOptionsStale = false;
    const find = filterElements.serviceSearch.value.trim().toLowerCase();
    const list = [...services.values()].sort((a, b) => displayName(a).localeCompare(displayName(b)));
    const existing = new Map();
    for (const option of filterElements.serviceOptions.children) existing.set(option.dataset.service, option);
    const order = [];
    for (const service of list) {
      let option = existing.get(service.id);
      if (!option) {
        option = document.createElement('li');
        option.dataset.service = service.id;
        const label = document.createElement('label');
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.value = service.id;
        box.dataset.service = service.id;
        const name = document.createElement('span');
        name.className = 'name';
        const id = document.createElement('span');
        id.className = 'id';
        const count = document.createElement('span');
        count.className = 'count';
        label.append(box, name, id, count);
        option.appendChild(label);
      }
      existing.delete(service.id);
      const [box, name, id, count] = option.firstChild.children;
      const label = displayName(service);
      if (name.textContent !== label) name.textContent = label;
      const idText = label === service.id ? '' : service.id;
      if (id.textContent !== idText) id.textContent = idText;
      count.textContent = formatCount(service.count);
      box.checked = filter.services.has(service.id) || (!!service.name && filter.services.has(service.name));
      option.hidden = !!find && !label.toLowerCase().includes(find) && !service.id.toLowerCase().includes(find);
      order.push(option);
    }
    // re-insert only when the order changed, so a click in progress is not disturbed
    const current = filterElements.serviceOptions.children;
    if (current.length !== order.length || order.some((option, i) => current[i] !== option)) {
      filterElements.serviceOptions.replaceChildren(...order);
    }
    filterElements.serviceEmpty.hidden = services.size > 0;
  }

  function toggleService(id, on) {
    const service = services.get(id);
    filter.services.delete(id);
    if (service && service.name) filter.services.delete(service.name);
    if (on) filter.services.add(id);
    filtersChanged();
  }

  // -------------------------------------------------------------- detail panel
  function showDetail(item) {
    if (!item || !item.entry) return;
    selected = item;
    invalidateRows();
    const entry = item.entry;
    detailElements.pane.hidden = false;
    detailElements.pane.dataset.level = entry.level;
    detailElements.level.textContent = entry.level;
    detailElements.level.dataset.level = entry.level;
    detailElements.service.textContent = entry.service || item.serviceId;
    detailElements.time.textContent = entry.timestamp || '';
    detailElements.message.textContent = entry.message;
    const fields = [['service id', entry.service_id], ['kind', entry.kind], ['repeats', entry.repeat_count || ''],
      ['host', entry.host], ['logger', entry.logger], ['session', entry.session_id], ['sequence', entry.sequence],
      ['entry', entry.entry_id]];
    const fragment = document.createDocumentFragment();
    for (const [name, value] of fields) {
      if (value === undefined || value === null || value === '') continue;
      const field = document.createElement('div');
      const term = document.createElement('dt');
      term.textContent = name;
      const description = document.createElement('dd');
      description.textContent = String(value);
      field.append(term, description);
      fragment.appendChild(field);
    }
    detailElements.fields.replaceChildren(fragment);
    scheduleRender();
  }

  function hideDetail() {
    selected = null;
    detailElements.pane.hidden = true;
    invalidateRows();
    scheduleRender();
  }

  function detailShown() {
    return !detailElements.pane.hidden;
  }

  async function copyDetailMessage() {
    if (!selected) return;
    try {
      await navigator.clipboard.writeText(selected.entry.message);
      detailElements.copy.textContent = 'copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(detailElements.message);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      detailElements.copy.textContent = 'selected: press Ctrl+C';
    }
    setTimeout(() => { detailElements.copy.textContent = 'copy message'; }, 1500);
  }

  // ----------------------------------------------------------- services panel
  const STATE_CLASS = { STARTING: 'warn', RUNNING: 'ok', STOPPING: 'warn', STOPPED: 'off', ERROR: 'bad', FATAL: 'fatal' };

  function takeStatus(status) {
    if (!status || typeof status !== 'object' || typeof status.service !== 'string' || !status.service) return;
    const service = ensureService(status.service, null);
    service.status = status;
    service.heardAt = Date.now();
    scheduleServicesPanel();
  }

  let servicesPanelQueued = false;
  function scheduleServicesPanel() {
    if (servicesPanelQueued) return;
    servicesPanelQueued = true;
    requestAnimationFrame(() => { servicesPanelQueued = false; renderServicesPanel(); });
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  // A duration the way the panels show it: 42s, 3m 05s, 2h 07m, 3d 4h ('' for no duration).
  function formatDuration(ms) {
    if (!(ms >= 0)) return '';
    const seconds = Math.floor(ms / 1000);
    if (seconds < 60) return `${seconds}s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
    return `${Math.floor(hours / 24)}d ${hours % 24}h`;
  }

  function renderServicesPanel() {
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

  // -------------------------------------------------------------- stats panel
  function setStat(key, value, formatter = formatCount) {
    const stat = panelElements.stats.querySelector(`[data-stat="${key}"]`);
    if (!stat) return;
    const valueCell = stat.lastElementChild;
    const text = formatter(value);
    if (valueCell.textContent !== text) valueCell.textContent = text;
    stat.dataset.value = typeof value === 'number' ? String(value) : '';
    if (stat.hasAttribute('data-alert')) stat.classList.toggle('alert', typeof value === 'number' && value > 0);
  }

  // The logging node's counters (/logging/stats, relayed by the web bridge).
  function takeStats(stats) {
    if (!stats || typeof stats !== 'object') return;
    lastStatsAt = Date.now();
    for (const key of ['received', 'written', 'deduplicated', 'filtered', 'lost', 'dropped', 'malformed',
      'queue_depth', 'publishers', 'not_streamed']) setStat(key, stats[key]);
    setStat('uptime_s', stats.uptime_s, (value) => (typeof value === 'number' ? formatDuration(value * 1000) : '—'));
    panelElements.sessionFile.textContent = typeof stats.session_file === 'string' ? stats.session_file : '';
    panelElements.sessionFile.title = panelElements.sessionFile.textContent ? 'session file' : '';
    if (!sessionId && typeof stats.session_id === 'string') setSession(stats.session_id);
    renderStatsAge();
  }

  function takeWebbridgeStats(bridgeStats) {
    if (!bridgeStats || typeof bridgeStats !== 'object') return;
    setStat('webbridge-skipped', bridgeStats.skipped);
    setStat('webbridge-inbox_dropped', bridgeStats.inbox_dropped);
    setStat('webbridge-forwarded', bridgeStats.forwarded);
    setStat('webbridge-clients', bridgeStats.clients);
    setStat('webbridge-malformed', bridgeStats.malformed);
  }

  function renderStatsAge() {
    if (!lastStatsAt) {
      panelElements.statsAge.textContent = 'no stats from the logging node yet';
      return;
    }
    const age = Date.now() - lastStatsAt;
    panelElements.statsAge.textContent = age > 5000 ? `stale: ${formatDuration(age)} old` : '';
    panelElements.stats.classList.toggle('stale', age > 5000);
  }

  async function pollStats() {
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

  function setSession(id) {
    sessionId = id;
    headerElements.sessionId.textContent = id || '—';
  }

  // ---------------------------------------------------------------- connection
  let socket = null;
  let socketGeneration = 0;         // a socket's handlers act only while this is theirs
  let backoffMs = BACKOFF_MIN_MS;
  let attempts = 0;
  let reconnectAt = 0;
  let reconnectTimer = 0;
  let everLive = false;
  let lastMessageAt = 0;
  // The bridge sends its own status every second: this long a silence means the connection
  // is dead even if no close event came (a sleeping laptop, a pulled cable).
  const SILENCE_MS = 15000;

  // state: connecting, loading, live or reconnecting; everLive: the page had the web
  // bridge once (so the banner says it lost it rather than never reached it).
  function showConnection(state, text, everLive) {
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

  function shownConnectionState() {
    return headerElements.connection.dataset.state;
  }

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

  function connect() {
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
    let buffered = [];
    let historyDone = false;
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
      fetchHistory().then((entries) => {
        ingestHistory(entries, everLive);
        for (const deliver of buffered) deliver();
        buffered = null;
        historyDone = true;
        if (generation !== socketGeneration || thisSocket.readyState !== WebSocket.OPEN) return;
        everLive = true;
        backoffMs = BACKOFF_MIN_MS;
        attempts = 0;
        setConnection('live', 'live');
        pollStats();
      });
    };

    thisSocket.onmessage = (event) => {
      if (generation !== socketGeneration) return;
      lastMessageAt = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        pageCounts.malformed++;
        return;
      }
      if (!message || typeof message !== 'object') return;
      switch (message.type) {
        case 'entries':
          if (historyDone) ingest(message.entries);
          else buffered.push(() => ingest(message.entries));
          break;
        case 'skipped':
          if (historyDone) addSkipped(Number(message.count));
          else buffered.push(() => addSkipped(Number(message.count)));
          break;
        case 'limited':
          if (historyDone) addLimited(Number(message.count));
          else buffered.push(() => addLimited(Number(message.count)));
          break;
        case 'status':
          takeStatus(message.status);
          break;
        case 'stats':
          takeStats(message.stats);
          if (message.webbridge) takeWebbridgeStats(message.webbridge);   // optional, else polled
          break;
        case 'hello':
          if (typeof message.session_id === 'string' && message.session_id) setSession(message.session_id);
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
  function checkConnection() {
    if (reconnectTimer && shownConnectionState() === 'reconnecting') showReconnectCountdown();
    if (socket && shownConnectionState() === 'live' && Date.now() - lastMessageAt > SILENCE_MS) {
      scheduleReconnect(socketGeneration);
    }
  }

  // The retry-now button: at once, and from the shortest backoff again.
  function reconnectNow() {
    backoffMs = BACKOFF_MIN_MS;
    connect();
  }

  // The browser is online again: try at once unless a socket is already there.
  function reconnectIfNoSocket() {
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
      const body = await response.json();
      if (typeof body.error === 'string' && body.error) showHistoryError(body.error);
      else showHistoryError('');
      if (typeof body.session_id === 'string' && body.session_id && !sessionId) setSession(body.session_id);
      return Array.isArray(body.entries) ? body.entries : [];
    } catch (err) {
      showHistoryError(err && err.name === 'AbortError' ? 'timed out' : String(err && err.message ? err.message : err));
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  function showHistoryError(text) {
    headerElements.historyError.hidden = !text;
    headerElements.historyError.textContent = text ? 'no history' : '';
    headerElements.historyError.title = text ? `history could not be loaded: ${text}` : '';
  }

  // ----------------------------------------------------------------- actions
  function setPaused(on) {
    if (on === paused) return;
    paused = on;
    tableElements.pause.setAttribute('aria-pressed', String(on));
    tableElements.pause.textContent = on ? 'resume' : 'pause';
    document.body.classList.toggle('paused', on);
    if (on) {
      pausedAtNumber = store.nextNumber - 1;
      newCount = 0;
    } else {
      // append what arrived while paused
      for (let i = indexOfNumber(store.items, pausedAtNumber + 1); i < store.items.length; i++) {
        if (matches(store.items[i])) view.push(store.items[i]);
      }
      newCount = 0;
    }
    scheduleRender();
  }

  // Forgets every item and count (the clear button). What was taken stays taken: an entry
  // seen before the clear is still a duplicate after it.
  function clearStore() {
    store.items = [];
    store.discarded = 0;
    for (const level of LEVELS) levelCounts[level] = 0;
    for (const service of services.values()) service.count = 0;
    pageCounts.skipped = 0;
    pageCounts.limited = 0;
    pageCounts.gaps = 0;
    skipCredit = 0;
    limitCredit = 0;
  }

  function clearAll() {
    clearStore();
    view = [];
    newCount = 0;
    if (paused) pausedAtNumber = store.nextNumber - 1;
    hideDetail();
    following = true;
    markServiceOptionsStale();
    scheduleRender();
  }

  function download(kind) {
    const parts = [];
    for (const item of view) {
      if (!item.entry) continue;
      const entry = item.entry;
      if (kind === 'log') {
        const service = entry.service || item.serviceId;
        parts.push(`[${entry.timestamp}] ${entry.level.padEnd(8)} ${service.padEnd(20)} ${entry.message}\n`);
      } else {
        parts.push(JSON.stringify(entry) + '\n');
      }
    }
    const blob = new Blob(parts, { type: kind === 'log' ? 'text/plain' : 'application/x-ndjson' });
    const link = document.createElement('a');
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    link.href = URL.createObjectURL(blob);
    link.download = `cantina-${sessionId || 'log'}-view-${stamp}.${kind}`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  }

  function jumpToLatest() {
    following = true;
    scheduleRender();
  }

  // ------------------------------------------------------------------ events
  let textQueued = false;           // a typing burst waits for the next frame
  filterElements.level.addEventListener('change', () => {
    filter.rank = LEVEL_RANK[filterElements.level.value] ?? 0;
    filtersChanged();
  });
  filterElements.text.addEventListener('input', () => {
    filter.text = filterElements.text.value;
    if (textQueued) return;                                // coalesce typing bursts into one frame
    textQueued = true;
    requestAnimationFrame(() => { textQueued = false; filter.text = filterElements.text.value; filtersChanged(); });
  });
  filterElements.text.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && filterElements.text.value) {
      filterElements.text.value = '';
      filter.text = '';
      filtersChanged();
    }
  });
  filterElements.regex.addEventListener('click', () => {
    filter.regex = !filter.regex;
    filtersChanged();
  });
  filterElements.levelCounts.addEventListener('click', (event) => {
    const chip = event.target.closest('.chip');
    if (!chip) return;
    const rank = LEVEL_RANK[chip.dataset.level];
    filter.rank = filter.rank === rank ? 0 : rank;
    filtersChanged();
  });
  filterElements.serviceOptions.addEventListener('change', (event) => {
    const box = event.target;
    if (box && box.dataset && box.dataset.service !== undefined) toggleService(box.dataset.service, box.checked);
  });
  filterElements.serviceAll.addEventListener('click', () => { filter.services.clear(); filtersChanged(); });
  filterElements.serviceSearch.addEventListener('input', renderServiceOptions);
  filterElements.serviceFilter.addEventListener('toggle', () => {
    if (filterElements.serviceFilter.open) { renderServiceOptions(); filterElements.serviceSearch.focus(); }
  });
  document.addEventListener('click', (event) => {
    if (filterElements.serviceFilter.open && !filterElements.serviceFilter.contains(event.target)) {
      filterElements.serviceFilter.open = false;
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    if (serviceMenuOpen()) closeServiceMenu();
    else if (detailShown()) hideDetail();
  });

  tableElements.pause.addEventListener('click', () => setPaused(!paused));
  tableElements.newCount.addEventListener('click', () => setPaused(false));
  tableElements.clear.addEventListener('click', clearAll);
  tableElements.downloadLog.addEventListener('click', () => download('log'));
  tableElements.downloadJsonl.addEventListener('click', () => download('jsonl'));
  tableElements.jump.addEventListener('click', jumpToLatest);
  byId('reconnect-now').addEventListener('click', reconnectNow);
  // Panels show beside the table on wide windows and are folded away on narrow ones;
  // the button flips whichever is the default.
  const narrow = window.matchMedia('(max-width: 760px)');
  const panelsShown = () => narrow.matches === document.body.classList.contains('panels-toggled');

  function showPanelsState() {
    headerElements.togglePanels.setAttribute('aria-expanded', String(panelsShown()));
    scheduleRender();
  }

  headerElements.togglePanels.addEventListener('click', () => {
    document.body.classList.toggle('panels-toggled');
    showPanelsState();
  });
  narrow.addEventListener('change', showPanelsState);
  showPanelsState();

  let pressed = null;               // the row, and its item, under the pointer when it went down
  tableElements.scroll.addEventListener('scroll', () => {
    const scroller = tableElements.scroll;
    if (Math.abs(scroller.scrollTop - programmaticTop) >= 1) {
      // the reader moved: follow again only once back at the bottom
      following = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - ROW_HEIGHT / 2;
      programmaticTop = -1;
    }
    scheduleRender();
  }, { passive: true });
  tableElements.scroll.addEventListener('wheel', (event) => {
    if (event.deltaY < 0 && view.length) following = false;
  }, { passive: true });
  tableElements.scroll.addEventListener('keydown', (event) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(event.key)) following = false;
    if (event.key === 'End') jumpToLatest();
  });
  // Rows are recycled as the table follows new entries, so the entry is taken when the
  // pointer goes down: the click opens what was under the pointer then, not what the row
  // element shows by the time the button is released.
  tableElements.rows.addEventListener('pointerdown', (event) => {
    const row = event.target.closest('.row');
    pressed = row ? { row, item: row._item } : null;
  });
  tableElements.rows.addEventListener('click', (event) => {
    const row = event.target.closest('.row');
    const item = pressed && pressed.row === row ? pressed.item : row && row._item;
    pressed = null;
    if (!item || !item.entry) return;
    if (getSelection().toString()) return;             // selecting text, not opening
    if (selected === item) hideDetail();
    else showDetail(item);
  });
  detailElements.close.addEventListener('click', hideDetail);
  detailElements.copy.addEventListener('click', copyDetailMessage);
  new ResizeObserver(() => scheduleRender()).observe(tableElements.scroll);

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
      cap: CAP,
    }),
  });

  // --------------------------------------------------------------------- start
  readUrl();
  showFilters();
  writeUrl();
  renderStatsAge();
  connect();
  pollStats();
  scheduleRender();
})();
