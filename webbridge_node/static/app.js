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
  const OVERSCAN = 6;
  const startParams = new URLSearchParams(location.search);
  // The newest CAP entries are kept in memory; ?cap=N overrides it (tests, small devices).
  const CAP = intParam(startParams.get('cap'), 100, 2000000, 50000);
  const TRIM_SLACK = Math.max(50, Math.floor(CAP / 20));

  const $ = (id) => document.getElementById(id);
  const nf = new Intl.NumberFormat('en-US');
  const fmt = (n) => (typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : '—');

  function intParam(text, min, max, fallback) {
    const n = Number.parseInt(text ?? '', 10);
    return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
  }

  // ------------------------------------------------------------------ elements
  const el = {
    conn: $('connection-state'), connText: $('connection-text'), reconnectNow: $('reconnect-now'),
    banner: $('disconnected-banner'), bannerText: $('banner-text'), sessionId: $('session-id'), historyError: $('history-error'),
    level: $('filter-level'), text: $('filter-text'), regex: $('filter-regex'), filterError: $('filter-error'),
    serviceFilter: $('service-filter'), serviceValue: $('service-filter-value'), serviceOptions: $('service-options'),
    serviceSearch: $('service-search'), serviceAll: $('service-all'), serviceEmpty: $('service-empty'),
    counts: $('level-counts'), pause: $('pause'), newCount: $('new-count'),
    downloadLog: $('download-log'), downloadJsonl: $('download-jsonl'), clear: $('clear'),
    table: $('log-table'), scroll: $('log-scroll'), spacer: $('log-spacer'), rows: $('log-rows'),
    empty: $('log-empty'), jump: $('jump-latest'), jumpCount: $('jump-count'),
    viewInfo: $('view-info'), trimNote: $('trim-note'), skipNote: $('skip-note'),
    detail: $('entry-detail'), detailLevel: $('detail-level'), detailService: $('detail-service'),
    detailTime: $('detail-time'), detailMessage: $('detail-message'), detailFields: $('detail-fields'),
    detailCopy: $('detail-copy'), detailClose: $('detail-close'),
    servicesPanel: $('services-panel'), servicesEmpty: $('services-empty'),
    statsPanel: $('stats-panel'), statsAge: $('stats-age'), sessionFile: $('session-file'),
    togglePanels: $('toggle-panels'), sidebar: $('sidebar'),
  };

  const ROW_HEIGHT = Number.parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--row-height')) || 22;

  // --------------------------------------------------------------------- state
  // An item is one table row: {n, e, rank, sid} for an entry, {n, marker, text} for a note.
  // n increases by one per item and orders everything.
  const store = { items: [], nextN: 1, discarded: 0 };
  let view = [];                  // the items that pass the filters, in order
  const lastSeq = new Map();      // session_id -> highest sequence taken
  const idSeen = new Set();       // entry_ids of entries without a usable sequence
  const counts = { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 };
  const services = new Map();     // service key (id) -> {id, name, count, status, heardAt}
  const page = { skipped: 0, limited: 0, gaps: 0, malformed: 0, duplicates: 0 };
  let skipCredit = 0;             // entries announced as skipped, not yet seen as a sequence gap
  // Entries announced as not streamed (the node's live-view limit): their gaps are in
  // the next entries message, so what that message does not use is dropped (the
  // history may have filled them); it never covers a later, real gap.
  let limitCredit = 0;
  let reconnectGapNote = false;   // the next gap is "missed while disconnected"

  const filter = { rank: 0, services: new Set(), text: '', regex: false, matcher: null, invalid: '' };

  let paused = false;
  let pausedAtN = 0;              // while paused the view holds only items with n <= pausedAtN
  let newCount = 0;               // items after pausedAtN that pass the filters

  let stick = true;               // follow the newest rows
  let programmaticTop = -1;
  let selected = null;            // item shown in the detail panel

  let sessionId = '';
  let lastStatsAt = 0;

  // ------------------------------------------------------------------- filters
  function compileFilter() {
    filter.matcher = null;
    filter.invalid = '';
    const text = filter.text;
    if (!text) return;
    if (filter.regex) {
      let re;
      try {
        re = new RegExp(text, 'i');
      } catch (err) {
        filter.invalid = String(err && err.message ? err.message : err).replace(/^Invalid regular expression: /, '');
        return;                                            // shown as invalid, not applied
      }
      filter.matcher = (m) => re.test(m);
    } else {
      const needle = text.toLowerCase();
      filter.matcher = (m) => m.toLowerCase().includes(needle);
    }
  }

  function matches(it) {
    if (!it.e) return true;                                // notes (skipped, gaps) always show
    if (it.rank < filter.rank) return false;
    if (filter.services.size && !filter.services.has(it.sid) && !filter.services.has(it.e.service)) return false;
    if (filter.matcher && !filter.matcher(it.e.message)) return false;
    return true;
  }

  function rebuildView() {
    const limitN = paused ? pausedAtN : Infinity;
    const out = [];
    let fresh = 0;
    for (const it of store.items) {
      if (!matches(it)) continue;
      if (it.n <= limitN) out.push(it);
      else if (it.e) fresh++;
    }
    view = out;
    newCount = fresh;
    invalidateRows();
    scheduleRender();
  }

  function readUrl() {
    const p = new URLSearchParams(location.search);
    const level = (p.get('level') || 'DEBUG').toUpperCase();
    filter.rank = LEVEL_RANK[level === 'WARN' ? 'WARNING' : level] ?? 0;
    filter.services = new Set();
    for (const value of p.getAll('service')) {
      for (const s of value.split(',')) if (s.trim()) filter.services.add(s.trim());
    }
    filter.text = p.get('text') || '';
    filter.regex = ['1', 'true', 'yes', 'on'].includes((p.get('regex') || '').toLowerCase());
    for (const s of filter.services) ensureService(s, null);
    compileFilter();
  }

  function writeUrl() {
    const p = new URLSearchParams();
    if (filter.rank > 0) p.set('level', LEVELS[filter.rank]);
    for (const s of [...filter.services].sort()) p.append('service', s);
    if (filter.text) p.set('text', filter.text);
    if (filter.regex) p.set('regex', '1');
    if (startParams.has('cap')) p.set('cap', String(CAP));
    const qs = p.toString();
    const url = location.pathname + (qs ? '?' + qs : '') + location.hash;
    if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
  }

  function showFilters() {
    el.level.value = LEVELS[filter.rank];
    el.level.dataset.level = LEVELS[filter.rank];
    if (el.text.value !== filter.text) el.text.value = filter.text;
    el.regex.setAttribute('aria-pressed', String(filter.regex));
    if (filter.invalid) {
      el.text.setAttribute('aria-invalid', 'true');
      el.filterError.textContent = 'invalid regex, not applied: ' + filter.invalid;
      el.filterError.hidden = false;
    } else {
      el.text.removeAttribute('aria-invalid');
      el.filterError.textContent = '';
      el.filterError.hidden = true;
    }
    for (const chip of el.counts.querySelectorAll('.chip')) {
      chip.classList.toggle('below', LEVEL_RANK[chip.dataset.level] < filter.rank);
    }
    const n = filter.services.size;
    if (n === 0) el.serviceValue.textContent = 'all';
    else if (n === 1) el.serviceValue.textContent = serviceLabel([...filter.services][0]);
    else el.serviceValue.textContent = n + ' selected';
    el.serviceFilter.classList.toggle('active', n > 0);
    servicesDirty = true;
    renderServiceOptions();
  }

  function filtersChanged() {
    if (!stick && view.length) {
      const topIndex = Math.min(view.length - 1, Math.floor(el.scroll.scrollTop / ROW_HEIGHT));
      pendingAnchorN = view[topIndex].n;
    }
    compileFilter();
    showFilters();
    writeUrl();
    rebuildView();
  }

  // --------------------------------------------------------------------- ingest
  function titleCase(id) {
    return id.split(/[_\-.\s]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') || id;
  }

  let servicesDirty = true;
  function ensureService(id, name) {
    let s = services.get(id);
    if (!s) {
      s = { id, name: name || null, count: 0, status: null, heardAt: 0 };
      services.set(id, s);
      servicesDirty = true;
      if (name && name !== id && filter.services.has(name)) {
        // the URL named this service by its friendly name: from now on it is the id
        filter.services.delete(name);
        filter.services.add(id);
        const stand_in = services.get(name);
        if (stand_in && !stand_in.count && !stand_in.status) services.delete(name);
        queueMicrotask(() => { showFilters(); writeUrl(); });
      }
    } else if (name && s.name !== name) {
      s.name = name;
      servicesDirty = true;
    }
    return s;
  }
  function serviceLabel(id) {
    const s = services.get(id);
    return (s && s.name) || titleCase(id);
  }

  function isEntry(e) {
    return e !== null && typeof e === 'object' && typeof e.message === 'string' &&
      typeof e.level === 'string' && Object.prototype.hasOwnProperty.call(LEVEL_RANK, e.level);
  }

  function addItem(it) {
    it.n = store.nextN++;
    store.items.push(it);
    if (!matches(it)) return;
    if (paused) {
      if (it.e) newCount++;
    } else {
      view.push(it);
    }
  }

  function addNote(kind, text) {
    addItem({ n: 0, e: null, marker: kind, text });
  }

  function noteGap(missing) {
    const limited = Math.min(missing, limitCredit);
    limitCredit -= limited;
    missing -= limited;
    const covered = Math.min(missing, skipCredit);
    skipCredit -= covered;
    missing -= covered;
    if (missing <= 0) return;
    page.gaps += missing;
    addNote('gap', reconnectGapNote
      ? `${fmt(missing)} entries were published while disconnected and are no longer in the history`
      : `${fmt(missing)} entries missing here (sequence gap)`);
  }

  function ingest(list) {
    if (!Array.isArray(list)) return;
    for (const e of list) {
      if (!isEntry(e)) { page.malformed++; continue; }
      const session = typeof e.session_id === 'string' ? e.session_id : '';
      const seq = e.sequence;
      if (Number.isSafeInteger(seq)) {
        const last = lastSeq.get(session);
        if (last !== undefined) {
          if (seq <= last) { page.duplicates++; continue; }
          if (seq > last + 1) noteGap(seq - last - 1);
        }
        lastSeq.set(session, seq);
      } else if (e.entry_id) {
        if (idSeen.has(e.entry_id)) { page.duplicates++; continue; }
        idSeen.add(e.entry_id);
        if (idSeen.size > CAP * 2) idSeen.clear();
      }
      reconnectGapNote = false;
      if (typeof e.service !== 'string') e.service = '';
      const sid = (typeof e.service_id === 'string' && e.service_id) || e.service || '?';
      const svc = ensureService(sid, e.service || null);
      svc.count++;
      counts[e.level]++;
      addItem({ n: 0, e, rank: LEVEL_RANK[e.level], sid });
    }
    limitCredit = 0;
    trim();
    scheduleRender();
  }

  // Keeps the newest CAP items; trims in chunks so the cost is amortised.
  function trim() {
    if (store.items.length <= CAP + TRIM_SLACK) return;
    const drop = store.items.length - CAP;
    const firstKept = store.items[drop].n;
    for (let i = 0; i < drop; i++) if (store.items[i].e) store.discarded++;
    store.items = store.items.slice(drop);
    // view is ordered by n: drop its prefix older than firstKept
    let lo = 0, hi = view.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (view[mid].n < firstKept) lo = mid + 1; else hi = mid;
    }
    if (lo > 0) {
      view = view.slice(lo);
      if (!stick) {                                        // keep the rows the reader looks at in place
        pendingScrollShift += lo * ROW_HEIGHT;
      }
    }
  }
  let pendingScrollShift = 0;

  function addSkipped(count) {
    if (!(count > 0)) return;
    page.skipped += count;
    skipCredit += count;
    addNote('skipped', `${fmt(count)} entries skipped by the web bridge: this page fell behind`);
    scheduleRender();
  }

  // The logging node streams at most [logging] dashboard_max_rate entries a second;
  // beyond it, DEBUG and INFO records are written but not streamed, and it says how many.
  function addLimited(count) {
    if (!(count > 0)) return;
    page.limited += count;
    limitCredit += count;
    addNote('limited', `${fmt(count)} DEBUG/INFO entries not streamed live: more than the logging node's ` +
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

  const pool = [];
  function invalidateRows() {
    for (const row of pool) row._item = undefined;
  }

  function makeRow() {
    const row = document.createElement('div');
    row.className = 'row';
    row.setAttribute('role', 'row');
    const mk = (cls) => {
      const c = document.createElement('span');
      c.className = cls;
      c.setAttribute('role', 'cell');
      row.appendChild(c);
      return c;
    };
    row._time = mk('c-time');
    const level = mk('c-level');
    row._badge = document.createElement('span');
    row._badge.className = 'badge';
    level.appendChild(row._badge);
    row._service = mk('c-service');
    row._msg = mk('c-msg');
    row._item = undefined;
    el.rows.appendChild(row);
    return row;
  }

  function shortTime(e) {
    const ts = typeof e.timestamp === 'string' ? e.timestamp : '';
    if (ts.length >= 23 && ts[10] === 'T') return ts.slice(11, 23);
    if (typeof e.timestamp_ns === 'number') return new Date(e.timestamp_ns / 1e6).toISOString().slice(11, 23);
    return ts;
  }

  function oneLine(text) {
    return text.length > 2000 ? text.slice(0, 2000).replace(/\s*[\r\n]+\s*/g, ' ⏎ ') + ' …'
      : text.replace(/\s*[\r\n]+\s*/g, ' ⏎ ');
  }

  function fillRow(row, it) {
    row._item = it;
    if (it.e) {
      const e = it.e;
      row.className = 'row' + (it === selected ? ' selected' : '');
      row.dataset.level = e.level;
      row.dataset.kind = e.kind || 'record';
      row.dataset.service = it.sid;
      row.dataset.entryId = e.entry_id || '';
      row._time.textContent = shortTime(e);
      row._time.title = e.timestamp || '';
      row._badge.textContent = e.level;
      row._badge.dataset.short = SHORT_LEVEL[e.level];
      row._service.textContent = e.service || it.sid;
      row._service.title = it.sid;
      row._msg.textContent = oneLine(e.message);
      row._msg.dataset.service = e.service || it.sid;     // shown before the message on narrow screens
      row._msg.title = e.message.length > 4000 ? e.message.slice(0, 4000) + ' …' : e.message;
    } else {
      row.className = 'row note';
      delete row.dataset.level;
      delete row.dataset.service;
      delete row.dataset.entryId;
      row.dataset.kind = 'marker';
      row.dataset.marker = it.marker;
      row._time.textContent = '';
      row._time.title = '';
      row._badge.textContent = '';
      row._badge.dataset.short = '';
      row._service.textContent = '';
      row._service.title = '';
      row._msg.textContent = it.text;
      row._msg.dataset.service = '';
      row._msg.title = it.text;
    }
    if (it.e) delete row.dataset.marker;
  }

  let lastSpacerHeight = -1;
  let frame = 0;
  let pendingAnchorN = null;
  function render() {
    renderQueued = false;
    const total = view.length;
    const height = total * ROW_HEIGHT;
    if (height !== lastSpacerHeight) {
      el.spacer.style.height = height + 'px';
      lastSpacerHeight = height;
      el.table.setAttribute('aria-rowcount', String(total + 1));
    }
    const sc = el.scroll;
    if (pendingScrollShift) {
      if (!stick) {
        sc.scrollTop = Math.max(0, sc.scrollTop - pendingScrollShift);
        programmaticTop = sc.scrollTop;
      }
      pendingScrollShift = 0;
    }
    const viewport = sc.clientHeight;
    if (stick) {
      const bottom = Math.max(0, height - viewport);
      if (Math.abs(sc.scrollTop - bottom) >= 1) {
        sc.scrollTop = bottom;
      }
      programmaticTop = sc.scrollTop;
    }
    if (pendingAnchorN !== null) {
      // after a filter change while reading: keep the row that was at the top (or the next one)
      let lo = 0, hi = total;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (view[mid].n < pendingAnchorN) lo = mid + 1; else hi = mid;
      }
      sc.scrollTop = lo * ROW_HEIGHT;
      programmaticTop = sc.scrollTop;
      pendingAnchorN = null;
    }
    const top = sc.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + viewport) / ROW_HEIGHT) + OVERSCAN);
    // Row i lives in slot i % pool.length, so scrolling refills only the rows that came
    // into view; the pool grows to what the viewport needs and no further.
    while (pool.length < last - first) {
      pool.push(makeRow());
      for (const row of pool) row._index = -1;            // slots moved: place every row again
    }
    frame++;
    for (let i = first; i < last; i++) {
      const row = pool[i % pool.length];
      const it = view[i];
      row._frame = frame;
      if (row._item !== it) fillRow(row, it);
      if (row._index !== i) {
        row._index = i;
        row.setAttribute('aria-rowindex', String(i + 2));
        row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      }
      if (row.hidden) row.hidden = false;
    }
    for (const row of pool) {
      if (row._frame !== frame && !row.hidden) { row.hidden = true; row._item = undefined; row._index = -1; }
    }
    el.empty.hidden = total > 0;
    el.empty.textContent = store.items.length > 0 ? 'no entries match the filters' : 'waiting for log entries…';

    // jump-to-latest
    const lastVisible = Math.min(total, Math.floor((top + viewport) / ROW_HEIGHT));
    const below = total - lastVisible;
    const showJump = !stick && below > 0;
    el.jump.hidden = !showJump;
    if (showJump) el.jumpCount.textContent = `(${fmt(below)} below)`;

    renderCounts();
    renderStatusbar();
    if (servicesDirty && el.serviceFilter.open) renderServiceOptions();
    else if (servicesDirty) scheduleServiceOptions();
  }

  function renderCounts() {
    for (const chip of el.counts.children) {
      const c = chip.lastElementChild;
      const text = fmt(counts[chip.dataset.level]);
      if (c.textContent !== text) c.textContent = text;
      chip.classList.toggle('zero', counts[chip.dataset.level] === 0);
    }
    newCountShow();
  }

  function newCountShow() {
    el.newCount.hidden = !paused;
    const text = `${fmt(newCount)} new`;
    if (el.newCount.textContent !== text) el.newCount.textContent = text;
    el.newCount.dataset.count = String(newCount);
  }

  function renderStatusbar() {
    const entriesInMemory = store.items.length;
    el.viewInfo.textContent = filter.rank || filter.services.size || filter.matcher
      ? `${fmt(view.length)} of ${fmt(entriesInMemory)} shown`
      : `${fmt(view.length)} shown`;
    el.trimNote.hidden = store.discarded === 0;
    if (store.discarded) {
      el.trimNote.textContent = `${fmt(store.discarded)} older entries discarded: the page keeps the newest ${fmt(CAP)}`;
    }
    el.skipNote.hidden = page.skipped === 0 && page.limited === 0;
    el.skipNote.textContent = [page.skipped ? `${fmt(page.skipped)} entries skipped` : '',
      page.limited ? `${fmt(page.limited)} not streamed (rate limit)` : ''].filter(Boolean).join(', ');
    setStat('page-memory', entriesInMemory);
    setStat('page-skipped', page.skipped);
    setStat('page-limited', page.limited);
    setStat('page-gaps', page.gaps);
    setStat('page-discarded', store.discarded);
  }

  // ------------------------------------------------------------ service filter
  let serviceOptionsTimer = 0;
  function scheduleServiceOptions() {
    if (serviceOptionsTimer) return;
    serviceOptionsTimer = setTimeout(() => { serviceOptionsTimer = 0; renderServiceOptions(); }, 300);
  }

  function renderServiceOptions() {
    servicesDirty = false;
    const find = el.serviceSearch.value.trim().toLowerCase();
    const list = [...services.values()].sort((a, b) =>
      (a.name || titleCase(a.id)).localeCompare(b.name || titleCase(b.id)));
    const existing = new Map();
    for (const li of el.serviceOptions.children) existing.set(li.dataset.service, li);
    const order = [];
    for (const s of list) {
      let li = existing.get(s.id);
      if (!li) {
        li = document.createElement('li');
        li.dataset.service = s.id;
        const label = document.createElement('label');
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.value = s.id;
        box.dataset.service = s.id;
        const name = document.createElement('span');
        name.className = 'name';
        const id = document.createElement('span');
        id.className = 'id';
        const count = document.createElement('span');
        count.className = 'count';
        label.append(box, name, id, count);
        li.appendChild(label);
      }
      existing.delete(s.id);
      const [box, name, id, count] = li.firstChild.children;
      const label = s.name || titleCase(s.id);
      if (name.textContent !== label) name.textContent = label;
      const idText = label === s.id ? '' : s.id;
      if (id.textContent !== idText) id.textContent = idText;
      count.textContent = fmt(s.count);
      box.checked = filter.services.has(s.id) || (!!s.name && filter.services.has(s.name));
      li.hidden = !!find && !label.toLowerCase().includes(find) && !s.id.toLowerCase().includes(find);
      order.push(li);
    }
    // re-insert only when the order changed, so a click in progress is not disturbed
    const current = el.serviceOptions.children;
    if (current.length !== order.length || order.some((li, i) => current[i] !== li)) {
      el.serviceOptions.replaceChildren(...order);
    }
    el.serviceEmpty.hidden = services.size > 0;
  }

  function toggleService(id, on) {
    const s = services.get(id);
    filter.services.delete(id);
    if (s && s.name) filter.services.delete(s.name);
    if (on) filter.services.add(id);
    filtersChanged();
  }

  // -------------------------------------------------------------- detail panel
  function showDetail(it) {
    if (!it || !it.e) return;
    selected = it;
    invalidateRows();
    const e = it.e;
    el.detail.hidden = false;
    el.detail.dataset.level = e.level;
    el.detailLevel.textContent = e.level;
    el.detailLevel.dataset.level = e.level;
    el.detailService.textContent = e.service || it.sid;
    el.detailTime.textContent = e.timestamp || '';
    el.detailMessage.textContent = e.message;
    const fields = [['service id', e.service_id], ['kind', e.kind], ['repeats', e.repeat_count || ''],
      ['host', e.host], ['logger', e.logger], ['session', e.session_id], ['sequence', e.sequence],
      ['entry', e.entry_id]];
    const frag = document.createDocumentFragment();
    for (const [k, v] of fields) {
      if (v === undefined || v === null || v === '') continue;
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = String(v);
      div.append(dt, dd);
      frag.appendChild(div);
    }
    el.detailFields.replaceChildren(frag);
    scheduleRender();
  }
  function hideDetail() {
    selected = null;
    el.detail.hidden = true;
    invalidateRows();
    scheduleRender();
  }

  // ----------------------------------------------------------- services panel
  const STATE_CLASS = { STARTING: 'warn', RUNNING: 'ok', STOPPING: 'warn', STOPPED: 'off', ERROR: 'bad', FATAL: 'fatal' };

  function takeStatus(st) {
    if (!st || typeof st !== 'object' || typeof st.service !== 'string' || !st.service) return;
    const s = ensureService(st.service, null);
    s.status = st;
    s.heardAt = Date.now();
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

  function ago(ms) {
    if (!(ms >= 0)) return '';
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
  }

  function renderServicesPanel() {
    const list = [...services.values()].filter((s) => s.status)
      .sort((a, b) => (a.name || titleCase(a.id)).localeCompare(b.name || titleCase(b.id)));
    const existing = new Map();
    for (const li of el.servicesPanel.children) existing.set(li.dataset.service, li);
    const order = [];
    const now = Date.now();
    for (const s of list) {
      const st = s.status;
      let li = existing.get(s.id);
      if (!li) {
        li = document.createElement('li');
        li.className = 'svc';
        li.dataset.service = s.id;
        const head = document.createElement('div');
        head.className = 'svc-head';
        const name = document.createElement('span');
        name.className = 'svc-name';
        const state = document.createElement('span');
        state.className = 'state';
        head.append(name, state);
        const sub = document.createElement('div');
        sub.className = 'svc-sub';
        const msg = document.createElement('span');
        msg.className = 'svc-msg';
        const meta = document.createElement('span');
        meta.className = 'svc-meta';
        sub.append(msg, meta);
        li.append(head, sub);
      }
      existing.delete(s.id);
      const [head, sub] = li.children;
      const [name, state] = head.children;
      const [msg, meta] = sub.children;
      const stateText = typeof st.state === 'string' ? st.state : '?';
      li.dataset.state = stateText;
      setText(name, s.name || titleCase(s.id));
      name.title = s.id;
      setText(state, stateText);
      state.className = 'state ' + (STATE_CLASS[stateText] || 'off');
      setText(msg, typeof st.message === 'string' ? st.message : '');
      msg.title = msg.textContent;
      const since = Date.parse(st.since || st.timestamp || '');
      const quiet = now - s.heardAt;
      let metaText = Number.isFinite(since) ? `for ${ago(Math.max(0, now - since))}` : '';
      const isQuiet = quiet > 5000 && (stateText === 'RUNNING' || stateText === 'STARTING');
      if (isQuiet) metaText = `silent ${ago(quiet)}`;
      li.classList.toggle('quiet', isQuiet);
      setText(meta, metaText);
      meta.title = [st.since ? `${stateText} since ${st.since}` : '', `last status ${ago(quiet)} ago`,
        st.host ? `host ${st.host}` : '', st.pid ? `pid ${st.pid}` : ''].filter(Boolean).join(' · ');
      order.push(li);
    }
    const current = el.servicesPanel.children;
    if (current.length !== order.length || order.some((li, i) => current[i] !== li)) {
      el.servicesPanel.replaceChildren(...order);
    }
    el.servicesEmpty.hidden = list.length > 0;
  }

  // -------------------------------------------------------------- stats panel
  function setStat(key, value, formatter = fmt) {
    const div = el.statsPanel.querySelector(`[data-stat="${key}"]`);
    if (!div) return;
    const dd = div.lastElementChild;
    const text = formatter(value);
    if (dd.textContent !== text) dd.textContent = text;
    div.dataset.value = typeof value === 'number' ? String(value) : '';
    if (div.hasAttribute('data-alert')) div.classList.toggle('alert', typeof value === 'number' && value > 0);
  }

  function takeStats(stats) {
    if (!stats || typeof stats !== 'object') return;
    lastStatsAt = Date.now();
    for (const k of ['received', 'written', 'deduplicated', 'filtered', 'lost', 'dropped', 'malformed',
      'queue_depth', 'publishers', 'not_streamed']) setStat(k, stats[k]);
    setStat('uptime_s', stats.uptime_s, (v) => (typeof v === 'number' ? ago(v * 1000) : '—'));
    el.sessionFile.textContent = typeof stats.session_file === 'string' ? stats.session_file : '';
    el.sessionFile.title = el.sessionFile.textContent ? 'session file' : '';
    if (!sessionId && typeof stats.session_id === 'string') setSession(stats.session_id);
    renderStatsAge();
  }

  function takeWebbridgeStats(wb) {
    if (!wb || typeof wb !== 'object') return;
    setStat('webbridge-skipped', wb.skipped);
    setStat('webbridge-inbox_dropped', wb.inbox_dropped);
    setStat('webbridge-forwarded', wb.forwarded);
    setStat('webbridge-clients', wb.clients);
    setStat('webbridge-malformed', wb.malformed);
  }

  function renderStatsAge() {
    if (!lastStatsAt) {
      el.statsAge.textContent = 'no stats from the logging node yet';
      return;
    }
    const age = Date.now() - lastStatsAt;
    el.statsAge.textContent = age > 5000 ? `stale: ${ago(age)} old` : '';
    el.statsPanel.classList.toggle('stale', age > 5000);
  }

  async function pollStats() {
    try {
      const res = await fetch(new URL('api/stats', location.href), { cache: 'no-store' });
      if (!res.ok) return;
      const body = await res.json();
      if (body.logging) takeStats(body.logging);
      takeWebbridgeStats(body.webbridge);
      if (Array.isArray(body.services)) for (const st of body.services) takeStatus(st);
    } catch {
      // the web bridge is away; the connection indicator already says so
    }
  }

  function setSession(id) {
    sessionId = id;
    el.sessionId.textContent = id || '—';
  }

  // ---------------------------------------------------------------- connection
  let ws = null;
  let generation = 0;
  let backoff = BACKOFF_MIN_MS;
  let attempts = 0;
  let reconnectAt = 0;
  let reconnectTimer = 0;
  let everLive = false;
  let lastMessageAt = 0;
  // The bridge sends its own status every second: this long a silence means the connection
  // is dead even if no close event came (a sleeping laptop, a pulled cable).
  const SILENCE_MS = 15000;

  function setConnection(state, text) {
    el.conn.dataset.state = state;
    el.connText.textContent = text;
    const down = state === 'reconnecting';
    el.banner.hidden = !down;
    el.bannerText.textContent = everLive
      ? 'lost the web bridge: reconnecting; what was published meanwhile comes from the history once it is back'
      : 'cannot reach the web bridge: retrying';
    el.reconnectNow.hidden = !down;
    document.body.classList.toggle('disconnected', down);
  }

  function wsUrl() {
    const url = new URL('ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    url.hash = '';
    return url.href;
  }

  // Forgets the current socket: its handlers see a newer generation and do nothing.
  function abandonSocket() {
    generation++;
    if (ws) {
      try { ws.close(); } catch { /* already closed */ }
      ws = null;
    }
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = 0;
    abandonSocket();
    lastMessageAt = Date.now();
    const gen = generation;
    attempts++;
    setConnection(everLive ? 'reconnecting' : 'connecting', everLive ? 'reconnecting…' : 'connecting…');
    let sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch {
      scheduleReconnect(gen);
      return;
    }
    ws = sock;
    let buffered = [];
    let historyDone = false;
    // a handshake that hangs (a stopped server still accepts TCP) counts as a failure
    const openTimer = setTimeout(() => {
      if (gen === generation && sock.readyState === WebSocket.CONNECTING) scheduleReconnect(gen);
    }, OPEN_TIMEOUT_MS);

    sock.onopen = () => {
      clearTimeout(openTimer);
      if (gen !== generation) return;
      setConnection('loading', 'loading history…');
      // The socket is open, so live entries are buffered from now on; the history taken
      // now overlaps them, and (session, sequence) removes the overlap.
      fetchHistory().then((entries) => {
        if (everLive) reconnectGapNote = true;
        ingest(entries);
        reconnectGapNote = false;
        for (const op of buffered) op();
        buffered = null;
        historyDone = true;
        if (gen !== generation || sock.readyState !== WebSocket.OPEN) return;
        everLive = true;
        backoff = BACKOFF_MIN_MS;
        attempts = 0;
        setConnection('live', 'live');
        pollStats();
      });
    };

    sock.onmessage = (ev) => {
      if (gen !== generation) return;
      lastMessageAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        page.malformed++;
        return;
      }
      if (!msg || typeof msg !== 'object') return;
      switch (msg.type) {
        case 'entries':
          if (historyDone) ingest(msg.entries);
          else buffered.push(() => ingest(msg.entries));
          break;
        case 'skipped':
          if (historyDone) addSkipped(Number(msg.count));
          else buffered.push(() => addSkipped(Number(msg.count)));
          break;
        case 'limited':
          if (historyDone) addLimited(Number(msg.count));
          else buffered.push(() => addLimited(Number(msg.count)));
          break;
        case 'status':
          takeStatus(msg.status);
          break;
        case 'stats':
          takeStats(msg.stats);
          if (msg.webbridge) takeWebbridgeStats(msg.webbridge);   // optional, else polled
          break;
        case 'hello':
          if (typeof msg.session_id === 'string' && msg.session_id) setSession(msg.session_id);
          break;
        default:
          break;
      }
    };

    sock.onclose = () => {
      // (closed before the history arrived: the pending fetch still takes the history and
      // then what was buffered, in order)
      if (gen !== generation) return;
      scheduleReconnect(gen);
    };
    sock.onerror = () => { /* onclose follows and schedules the reconnect */ };
  }

  function scheduleReconnect(gen) {
    if (gen !== generation) return;
    abandonSocket();
    const delay = backoff;
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
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

  async function fetchHistory() {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), HISTORY_TIMEOUT_MS);
    try {
      const url = new URL('api/logs', location.href);
      url.search = `limit=${HISTORY_LIMIT}`;
      const res = await fetch(url, { cache: 'no-store', signal: ctrl.signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
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
    el.historyError.hidden = !text;
    el.historyError.textContent = text ? 'no history' : '';
    el.historyError.title = text ? `history could not be loaded: ${text}` : '';
  }

  // ----------------------------------------------------------------- actions
  function setPaused(on) {
    if (on === paused) return;
    paused = on;
    el.pause.setAttribute('aria-pressed', String(on));
    el.pause.textContent = on ? 'resume' : 'pause';
    document.body.classList.toggle('paused', on);
    if (on) {
      pausedAtN = store.nextN - 1;
      newCount = 0;
    } else {
      // append what arrived while paused
      let lo = 0, hi = store.items.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (store.items[mid].n <= pausedAtN) lo = mid + 1; else hi = mid;
      }
      for (let i = lo; i < store.items.length; i++) if (matches(store.items[i])) view.push(store.items[i]);
      newCount = 0;
    }
    scheduleRender();
  }

  function clearAll() {
    store.items = [];
    store.discarded = 0;
    view = [];
    for (const l of LEVELS) counts[l] = 0;
    for (const s of services.values()) s.count = 0;
    page.skipped = 0;
    page.limited = 0;
    page.gaps = 0;
    skipCredit = 0;
    limitCredit = 0;
    newCount = 0;
    if (paused) pausedAtN = store.nextN - 1;
    hideDetail();
    stick = true;
    servicesDirty = true;
    scheduleRender();
  }

  function download(kind) {
    const parts = [];
    for (const it of view) {
      if (!it.e) continue;
      const e = it.e;
      if (kind === 'log') {
        parts.push(`[${e.timestamp}] ${e.level.padEnd(8)} ${(e.service || it.sid).padEnd(20)} ${e.message}\n`);
      } else {
        parts.push(JSON.stringify(e) + '\n');
      }
    }
    const blob = new Blob(parts, { type: kind === 'log' ? 'text/plain' : 'application/x-ndjson' });
    const a = document.createElement('a');
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    a.href = URL.createObjectURL(blob);
    a.download = `cantina-${sessionId || 'log'}-view-${stamp}.${kind}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  }

  function jumpToLatest() {
    stick = true;
    scheduleRender();
  }

  // ------------------------------------------------------------------ events
  el.level.addEventListener('change', () => {
    filter.rank = LEVEL_RANK[el.level.value] ?? 0;
    filtersChanged();
  });
  let textQueued = false;
  el.text.addEventListener('input', () => {
    filter.text = el.text.value;
    if (textQueued) return;                                // coalesce typing bursts into one frame
    textQueued = true;
    requestAnimationFrame(() => { textQueued = false; filter.text = el.text.value; filtersChanged(); });
  });
  el.text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && el.text.value) { el.text.value = ''; filter.text = ''; filtersChanged(); }
  });
  el.regex.addEventListener('click', () => {
    filter.regex = !filter.regex;
    filtersChanged();
  });
  el.counts.addEventListener('click', (ev) => {
    const chip = ev.target.closest('.chip');
    if (!chip) return;
    const rank = LEVEL_RANK[chip.dataset.level];
    filter.rank = filter.rank === rank ? 0 : rank;
    filtersChanged();
  });
  el.serviceOptions.addEventListener('change', (ev) => {
    const box = ev.target;
    if (box && box.dataset && box.dataset.service !== undefined) toggleService(box.dataset.service, box.checked);
  });
  el.serviceAll.addEventListener('click', () => { filter.services.clear(); filtersChanged(); });
  el.serviceSearch.addEventListener('input', renderServiceOptions);
  el.serviceFilter.addEventListener('toggle', () => {
    if (el.serviceFilter.open) { renderServiceOptions(); el.serviceSearch.focus(); }
  });
  document.addEventListener('click', (ev) => {
    if (el.serviceFilter.open && !el.serviceFilter.contains(ev.target)) el.serviceFilter.open = false;
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    if (el.serviceFilter.open) el.serviceFilter.open = false;
    else if (!el.detail.hidden) hideDetail();
  });

  el.pause.addEventListener('click', () => setPaused(!paused));
  el.newCount.addEventListener('click', () => setPaused(false));
  el.clear.addEventListener('click', clearAll);
  el.downloadLog.addEventListener('click', () => download('log'));
  el.downloadJsonl.addEventListener('click', () => download('jsonl'));
  el.jump.addEventListener('click', jumpToLatest);
  el.reconnectNow.addEventListener('click', () => { backoff = BACKOFF_MIN_MS; connect(); });
  // Panels show beside the table on wide windows and are folded away on narrow ones;
  // the button flips whichever is the default.
  const narrow = window.matchMedia('(max-width: 760px)');
  const panelsShown = () => narrow.matches === document.body.classList.contains('panels-toggled');
  const showPanelsState = () => { el.togglePanels.setAttribute('aria-expanded', String(panelsShown())); scheduleRender(); };
  el.togglePanels.addEventListener('click', () => {
    document.body.classList.toggle('panels-toggled');
    showPanelsState();
  });
  narrow.addEventListener('change', showPanelsState);
  showPanelsState();

  el.scroll.addEventListener('scroll', () => {
    const sc = el.scroll;
    if (Math.abs(sc.scrollTop - programmaticTop) >= 1) {
      // the reader moved: follow again only once back at the bottom
      stick = sc.scrollTop + sc.clientHeight >= sc.scrollHeight - ROW_HEIGHT / 2;
      programmaticTop = -1;
    }
    scheduleRender();
  }, { passive: true });
  el.scroll.addEventListener('wheel', (ev) => { if (ev.deltaY < 0 && view.length) stick = false; }, { passive: true });
  el.scroll.addEventListener('keydown', (ev) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(ev.key)) stick = false;
    if (ev.key === 'End') jumpToLatest();
  });
  // Rows are recycled as the table follows new entries, so the entry is taken when the
  // pointer goes down: the click opens what was under the pointer then, not what the row
  // element shows by the time the button is released.
  let pressed = null;
  el.rows.addEventListener('pointerdown', (ev) => {
    const row = ev.target.closest('.row');
    pressed = row ? { row, item: row._item } : null;
  });
  el.rows.addEventListener('click', (ev) => {
    const row = ev.target.closest('.row');
    const item = pressed && pressed.row === row ? pressed.item : row && row._item;
    pressed = null;
    if (!item || !item.e) return;
    if (getSelection().toString()) return;             // selecting text, not opening
    if (selected === item) hideDetail();
    else showDetail(item);
  });
  el.detailClose.addEventListener('click', hideDetail);
  el.detailCopy.addEventListener('click', async () => {
    if (!selected) return;
    try {
      await navigator.clipboard.writeText(selected.e.message);
      el.detailCopy.textContent = 'copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(el.detailMessage);
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      el.detailCopy.textContent = 'selected: press Ctrl+C';
    }
    setTimeout(() => { el.detailCopy.textContent = 'copy message'; }, 1500);
  });
  new ResizeObserver(() => scheduleRender()).observe(el.scroll);

  // once a second: countdowns and ages
  setInterval(() => {
    if (reconnectTimer && el.conn.dataset.state === 'reconnecting') showReconnectCountdown();
    if (ws && el.conn.dataset.state === 'live' && Date.now() - lastMessageAt > SILENCE_MS) scheduleReconnect(generation);
    renderServicesPanel();
    renderStatsAge();
    if (el.serviceFilter.open) renderServiceOptions();
  }, 1000);
  setInterval(() => { if (el.conn.dataset.state === 'live') pollStats(); }, STATS_POLL_MS);
  window.addEventListener('online', () => { if (!ws) { backoff = BACKOFF_MIN_MS; connect(); } });

  // A small read-only window for debugging from the console and for tests.
  Object.defineProperty(window, 'cantinaDashboard', {
    value: Object.freeze({
      get shown() { return view.length; },
      get inMemory() { return store.items.length; },
      get discarded() { return store.discarded; },
      get paused() { return paused; },
      get following() { return stick; },
      get connection() { return el.conn.dataset.state; },
      get duplicatesDropped() { return page.duplicates; },
      shownMessages() { return view.filter((it) => it.e).map((it) => it.e.message); },
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
