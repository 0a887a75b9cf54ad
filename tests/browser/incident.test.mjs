// Browser tests of what an operator relies on in an incident (issue 14): counts and notes
// that are true during and after a flood, sessions that show when the logging node
// restarts, one card per service, the detail pane with everything a record has, and
// exports that keep nanosecond timestamps exact. Started by run.mjs like the others.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before } from 'node:test';
import {
  closePage, describeDashboard, env, eventually, newUid, openDashboard, screenshot, shownMessages, sleep, test,
} from './harness.mjs';

let backend;

async function apiStats() {
  const res = await fetch(new URL('api/stats', backend.url), { cache: 'no-store' });
  assert.equal(res.status, 200);
  return res.json();
}

// /api/logs as text and its entries, with timestamp_ns as the exact digits of the text.
async function historyExact() {
  const res = await fetch(new URL('api/logs?limit=1000', backend.url), { cache: 'no-store' });
  assert.equal(res.status, 200);
  const text = await res.text();
  return JSON.parse(text.replace(/"timestamp_ns":(-?\d+)/g, '"timestamp_ns":"$1"')).entries;
}

async function historyEntryWith(message) {
  return eventually(async () => {
    const entry = (await historyExact()).find((e) => e.message === message);
    assert.ok(entry, `history has ${JSON.stringify(message)}`);
    return entry;
  }, 15000, 100);
}

function pageStat(page, key) {
  return page.getAttribute(`#stats-panel [data-stat="${key}"]`, 'data-value').then(Number);
}

// The page's notes (rows that are not entries), oldest first.
function pageNotes(page) {
  return page.evaluate(() => window.cantinaDashboard.notes());
}

// Asks the page something every 100 ms while `work` runs: how long it takes to answer
// tells whether the page stays responsive.
async function answerTimesDuring(page, work) {
  const times = [];
  let done = false;
  const probe = (async () => {
    while (!done) {
      const t0 = performance.now();
      await page.evaluate(() => 1);
      times.push(performance.now() - t0);
      await sleep(100);
    }
  })();
  try {
    return { result: await work(), times };
  } finally {
    done = true;
    await probe;
  }
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

describeDashboard('dashboard in an incident', () => {
  before(() => { ({ backend } = env); });

  test('a flood at 20,000 records/s with nothing lost shows nothing missing and one limit note', async (t) => {
    if (!backend.flood) { t.skip('needs a backend that can flood'); return; }
    const { page, check } = await openDashboard();
    const start = await eventually(async () => {
      const stats = await apiStats();
      assert.ok(stats.logging, 'the logging node has sent its counters');
      return stats;
    });
    const count = 60000;
    const { times } = await answerTimesDuring(page, () => backend.flood({ count, rate: 20000, service: 'bt_flood' }));
    // everything reached the logging node and the page has taken what was streamed
    let last = -1;
    await eventually(async () => {
      const now = await apiStats();
      assert.ok(now.logging.received - start.logging.received >= count, 'the logging node took the flood');
      const shown = await page.evaluate(() => window.cantinaDashboard.inMemory + window.cantinaDashboard.discarded);
      const limited = await pageStat(page, 'page-limited');
      const settled = shown + limited;
      const previous = last;
      last = settled;
      assert.equal(settled, previous, 'the page has settled');
    }, 30000, 1000);
    const end = await apiStats();
    const node = {
      lost: end.logging.lost - start.logging.lost,
      dropped: end.logging.dropped - start.logging.dropped,
      notStreamed: end.logging.not_streamed - start.logging.not_streamed,
    };
    const bridge = {
      skipped: end.webbridge.skipped - start.webbridge.skipped,
      behind: end.webbridge.inbox_dropped - start.webbridge.inbox_dropped,
    };
    const page_ = {
      missing: await pageStat(page, 'page-gaps'),
      skipped: await pageStat(page, 'page-skipped'),
      limited: await pageStat(page, 'page-limited'),
    };
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`# flood: node ${JSON.stringify(node)}, bridge ${JSON.stringify(bridge)}, page ${JSON.stringify(page_)}; ` +
      `page answers p50 ${quantile(sorted, 0.5).toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms (${sorted.length} probes)`);
    assert.ok(node.notStreamed > 0, 'the flood went past the live-view limit (the case under test)');
    // Every entry the page did not get was announced: not streamed by the node, or
    // skipped by the bridge. So nothing is missing, whatever the node itself lost.
    assert.equal(page_.missing, 0, 'no entry is missing on the page');
    assert.equal(page_.limited, node.notStreamed, 'the page counts what the node did not stream');
    assert.equal(page_.skipped, bridge.skipped, 'the page counts what the bridge skipped for it');
    const notes = await pageNotes(page);
    assert.deepEqual(notes.filter((n) => n.marker === 'gap'), [], 'no "missing" notes');
    const limitNotes = notes.filter((n) => n.marker === 'limited');
    assert.equal(limitNotes.length, 1, `one note for the burst (${limitNotes.length})`);
    assert.match(limitNotes[0].text, new RegExp(`${node.notStreamed.toLocaleString('en-US')} DEBUG/INFO entries not streamed live`));
    // the first flood records and the note that follows them
    await page.click('#filter-regex');
    await page.fill('#filter-text', 'p\\d+ s[1-5] ');
    await page.locator('#log-rows .row[data-marker="limited"]').waitFor();
    await screenshot(page, 'limit-note');
    // the note is about DEBUG and INFO entries: a WARNING filter hides it
    await page.selectOption('#filter-level', 'WARNING');
    await eventually(async () => assert.equal(await page.locator('#log-rows .row[data-marker="limited"]:not([hidden])').count(), 0));
    await closePage(null, page, check);
  }, 180000);

  test('an announced count explains its gap up to the next message; a real gap is still missing (mock only)', async (t) => {
    if (!backend.script) { t.skip('needs the mock server to script the stream'); return; }
    const { page, errors } = await openDashboard();
    const entry = (message, gap = 0) => ({ service: 'bt_credit', level: 'INFO', message, gap });
    const gaps = () => pageStat(page, 'page-gaps');
    // as the logging node does: the count comes with the entries before the gap it explains
    await backend.script([
      { entries: [entry('credit 1')] },
      { limited: 3 },
      { entries: [entry('credit 2'), entry('credit 3', 1)] },   // one left out among these
      { entries: [entry('credit 4', 2)] },                      // two after them, before the next
    ]);
    await eventually(async () => assert.ok((await page.evaluate(() => window.cantinaDashboard.shownMessages())).includes('credit 4')));
    assert.equal(await gaps(), 0, 'every gap was announced');
    // a count explains nothing beyond the first entry of the message after its own: what
    // is left of it then (entries the history filled, say) cannot hide a later, real gap
    await backend.script([
      { limited: 2 },
      { entries: [entry('credit 5')] },
      { entries: [entry('credit 6', 1)] },                      // one of the two
      { entries: [entry('credit 7', 3)] },                      // lost: 3
      { limited: 1 },
      { entries: [entry('credit 8')] },
      { entries: [entry('credit 9', 2)] },                      // one announced, one lost
    ]);
    await eventually(async () => assert.equal(await gaps(), 4));
    const notes = (await pageNotes(page)).filter((n) => n.marker === 'gap').map((n) => n.text);
    assert.deepEqual(notes, ['3 entries missing here (sequence gap)', '1 entry missing here (sequence gap)']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a restarted logging node shows as a session boundary, in the header, with its entries in order', async (t) => {
    if (!backend.startLogd) { t.skip('needs a logging node to restart'); return; }
    const uid = newUid();
    const { page, check } = await openDashboard();
    const before = `${uid} before the restart`;
    await backend.publish('bt_session', 'INFO', before);
    await eventually(async () => assert.ok((await shownMessages(page)).includes(before)));
    const oldSession = (await page.textContent('#session-id')).trim();
    assert.match(oldSession, /^\d{8}-\d{6}/);

    await backend.stopLogd('SIGKILL');
    await backend.startLogd();
    const after = `${uid} after the restart`;
    await backend.publish('bt_session', 'WARNING', after);
    await eventually(async () => assert.ok((await shownMessages(page)).includes(after)), 20000);
    const newSession = await eventually(async () => {
      const id = (await apiStats()).logging.session_id;
      assert.notEqual(id, oldSession, 'the logging node runs a new session');
      return id;
    });
    await eventually(async () => assert.equal((await page.textContent('#session-id')).trim(), newSession,
      'the header follows the new session'));
    assert.match(await page.textContent('#session-file'), new RegExp(newSession));

    // before … "session NEW started" … the new session from its first entry on … after
    const timeline = await page.evaluate(() => window.cantinaDashboard.timeline());
    const at = (predicate, what) => {
      const index = timeline.findIndex(predicate);
      assert.ok(index >= 0, what);
      return index;
    };
    const iBefore = at((item) => item.message === before, 'the entry before the restart');
    const iBoundary = at((item) => item.marker === 'session', 'a session boundary row');
    const iAfter = at((item) => item.message === after, 'the entry after the restart');
    assert.ok(iBefore < iBoundary && iBoundary < iAfter, 'in that order');
    assert.match(timeline[iBoundary].text, new RegExp(`^session ${newSession} started.*previous session ${oldSession}`));
    assert.equal(timeline.filter((item) => item.marker === 'session').length, 1, 'one boundary');
    const sequences = timeline.slice(iBoundary + 1).filter((item) => item.session === newSession).map((item) => item.sequence);
    assert.deepEqual(sequences, sequences.map((_, i) => i + 1), 'the new session from sequence 1, without holes');
    assert.match(timeline[iBoundary + 1].message, new RegExp(`^session ${newSession} started`), 'its first entry');
    assert.ok(timeline.slice(0, iBoundary).every((item) => !item.session || item.session === oldSession),
      'nothing of the new session before the boundary');

    await page.fill('#filter-text', uid);
    await eventually(async () => assert.equal(await page.locator('#log-rows .row[data-marker="session"]:not([hidden])').count(), 1));
    await screenshot(page, 'session-boundary');
    await closePage(null, page, check);
  }, 120000);

  test('the detail pane shows everything the record has', async () => {
    const uid = newUid();
    const record = {
      service: 'bt_detail', level: 'ERROR', message: `${uid} detail\nsecond line`, file: 'music/player.py', line: 42,
      function: 'play_track', thread: 'audio-1', pid: 4242, logger: 'music.player', host: 'droid-1',
      fields: { track: 'Cantina Band', volume: '45', 'html <b>key</b>': '<img src=x onerror="window.__pwned=1">' },
    };
    if (backend.publishRecord) await backend.publishRecord(record);
    else await backend.publish(record.service, record.level, record.message);
    const entry = await historyEntryWith(record.message);
    const { page, check } = await openDashboard(`?text=${uid}`);
    await page.locator('#log-rows .row:not([hidden]) .c-msg', { hasText: uid }).first().click();
    await page.waitForSelector('#entry-detail:not([hidden])');
    assert.equal(await page.textContent('#detail-message'), record.message, 'the whole message, newline included');
    const shown = await page.$$eval('#detail-fields [data-field]', (fields) =>
      Object.fromEntries(fields.map((f) => [f.dataset.field, f.querySelector('dd').textContent])));
    const expected = {};
    if (entry.file) expected.source = entry.line ? `${entry.file}:${entry.line}` : entry.file;
    for (const key of ['function', 'logger', 'thread', 'pid', 'host', 'service_id', 'timestamp_ns', 'sequence',
      'entry_id', 'session_id']) {
      if (entry[key] !== undefined && entry[key] !== '' && entry[key] !== 0) expected[key] = String(entry[key]);
    }
    assert.deepEqual(shown, expected, 'every property of the record, and nothing else');
    for (const key of ['host', 'sequence', 'entry_id', 'session_id', 'timestamp_ns']) assert.ok(key in shown, `${key} shown`);
    const pairs = await page.$$eval('#detail-kv-rows tr', (rows) => rows.map((r) => [r.cells[0] ? r.querySelector('th').textContent : '', r.querySelector('td').textContent]));
    assert.deepEqual(pairs, Object.entries(entry.fields || {}).sort(([a], [b]) => (a < b ? -1 : 1)), 'the fields, sorted by key');
    if (backend.publishRecord) {
      assert.equal(shown.source, 'music/player.py:42');
      assert.equal(shown.function, 'play_track');
      assert.equal(shown.thread, 'audio-1');
      assert.equal(shown.pid, '4242');
      assert.equal(pairs.length, 3);
    }
    assert.equal(await page.locator('#entry-detail img, #entry-detail b').count(), 0, 'field text is text');
    await screenshot(page, 'detail');
    await closePage(null, page, check);
  });

  test('.jsonl keeps nanosecond timestamps exact', async () => {
    const uid = newUid();
    const message = `${uid} exact time`;
    if (backend.publishRecord) {
      await backend.publishRecord({ service: 'bt_exact', level: 'INFO', message, timestamp_ns: '1796553362928334218' });
    } else {
      await backend.publish('bt_exact', 'INFO', message);
    }
    const entry = await historyEntryWith(message);
    assert.match(entry.timestamp_ns, /^\d{19}$/);
    if (backend.publishRecord) assert.equal(entry.timestamp_ns, '1796553362928334218');
    const { page, check } = await openDashboard(`?text=${uid}`);
    await eventually(async () => assert.deepEqual(await shownMessages(page), [message]));
    const live = `${uid} exact time, live`;
    if (backend.publishRecord) {
      await backend.publishRecord({ service: 'bt_exact', level: 'INFO', message: live, timestamp_ns: '1796553362928334219' });
    } else {
      await backend.publish('bt_exact', 'INFO', live);
    }
    await eventually(async () => assert.deepEqual(await shownMessages(page), [message, live]));
    const liveEntry = await historyEntryWith(live);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-jsonl')]);
    const lines = fs.readFileSync(await download.path(), 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 2);
    // from the history and from the live stream, the digits as the logging node wrote them
    assert.match(lines[0], new RegExp(`"timestamp_ns":${entry.timestamp_ns},`));
    assert.match(lines[1], new RegExp(`"timestamp_ns":${liveEntry.timestamp_ns},`));
    assert.equal(JSON.parse(lines[0]).message, message);
    assert.equal(typeof JSON.parse(lines[1]).timestamp_ns, 'number', 'still a JSON number');
    await closePage(null, page, check);
  });

  test('the page reads every long timestamp_ns as its exact digits, whatever else the message holds', async () => {
    // The page's fast path (parse the message as it is, then give each entry its digits)
    // must read what quoting the digits before parsing reads, and fall back where it can't.
    const texts = [
      '{"entries":[{"timestamp_ns":1796553362928334218,"message":"a"},{"timestamp_ns":-1796553362928334219,"message":"b"}]}',
      '{"entries":[{"message":"\\"timestamp_ns\\":1796553362928334218","timestamp_ns":1796553362928334220}]}',
      '{"entries":[{"timestamp_ns":1796553362928334221,"fields":{"timestamp_ns":"x"}}]}',
      '{"entries":[{"timestamp_ns":1796553362928334222,"message":"caf\\u00e9"}]}',
      '{"stats":{"timestamp_ns":1796553362928334223},"entries":[]}',
      '{"entries":[{"timestamp_ns":12,"message":"short"}]}',
      '{"entries":[{"timestamp_ns":1796553362928334224,"fields":{"start_timestamp_ns":"1796553362928334225"}}]}',
      '{"entries":[{"\\"timestamp_ns":1796553362928334226,"timestamp_ns":1796553362928334227}]}',
      '{"entries":[{"timestamp_ns":17965533629283342281,"message":"mp_ns\\":1796553362928334229"}]}',
      '{"entries":[{"timestamp_ns":1796553362928334,"message":"16 digits"},{"timestamp_ns":-179655336292833422}]}',
    ];
    const { page, check } = await openDashboard();
    const read = await page.evaluate(async (list) => {
      const { parseKeepingNanoseconds } = await import('./static/connection.js');
      return list.map((text) => JSON.stringify(parseKeepingNanoseconds(text)));
    }, texts);
    const quoted = texts.map((text) => JSON.stringify(JSON.parse(text.replace(/"timestamp_ns":(-?\d{16,})/g, '"timestamp_ns":"$1"'))));
    assert.deepEqual(read, quoted);
    assert.equal(JSON.parse(read[0]).entries[1].timestamp_ns, '-1796553362928334219');
    assert.equal(JSON.parse(read[5]).entries[0].timestamp_ns, 12);
    assert.equal(JSON.parse(read[6]).entries[0].timestamp_ns, '1796553362928334224');
    assert.equal(JSON.parse(read[8]).entries[0].timestamp_ns, '17965533629283342281');

    // The web bridge's entries messages carry the digits at the end ("timestamps_ns"):
    // taken from there when they are those of the entries, else read from the text.
    const withDigits = [
      '{"type":"entries","entries":[{"timestamp_ns":1796553362928334230,"message":"a"},{"timestamp_ns":12}],' +
        '"timestamps_ns":["1796553362928334230","12"]}',
      '{"type":"entries","entries":[{"timestamp_ns":1796553362928334231}],"timestamps_ns":["1796553362928334999"]}',
      '{"type":"entries","entries":[{"timestamp_ns":1796553362928334232}],"timestamps_ns":[]}',
      '{"type":"entries","entries":[{"timestamp_ns":1796553362928334233}],"timestamps_ns":[1796553362928334233]}',
    ];
    const [taken, other, short, numbers] = await page.evaluate(async (list) => {
      const { parseKeepingNanoseconds } = await import('./static/connection.js');
      return list.map((text) => parseKeepingNanoseconds(text));
    }, withDigits);
    assert.deepEqual(taken, { type: 'entries', entries: [{ timestamp_ns: '1796553362928334230', message: 'a' }, { timestamp_ns: 12 }] });
    assert.equal(other.entries[0].timestamp_ns, '1796553362928334231', 'digits of another time: read from the text');
    assert.equal(short.entries[0].timestamp_ns, '1796553362928334232');
    assert.equal(numbers.entries[0].timestamp_ns, '1796553362928334233');
    await closePage(null, page, check);
  });

  test('one card per service: each node once by its name, a supervised process folded into its services', async () => {
    const { page, check } = await openDashboard();
    const cards = () => page.$$eval('#services-panel .svc', (list) => list.map((card) => ({
      id: card.dataset.service, kind: card.dataset.kind, state: card.dataset.state,
      name: card.querySelector('.svc-name').textContent, message: card.querySelector('.svc-msg').textContent,
      entries: Number(card.querySelector('.svc-entries').dataset.count),
    })));
    const card = async (id) => (await cards()).find((c) => c.id === id);
    if (backend.status) {
      // what `tools/cantina up`'s supervisor says of the processes it runs
      const own = (await apiStats()).services.find((s) => s.service === 'logging_service');
      await backend.status({ service: 'cantina-busd', state: 'RUNNING', message: 'started (pid 101)', pid: 101 });
      await backend.status({ service: 'cantina-logd', state: 'RUNNING', message: 'started', pid: own.pid });
      await backend.status({ service: 'cantina-webbridge', state: 'RUNNING', message: 'started', pid: own.pid });
      await backend.status({ service: 'bt_host', state: 'RUNNING', message: 'started (pid 5151)', pid: 5151 });
      // two services in that process; one also reports itself
      await backend.publishRecord({ service: 'bt_svc_quiet', level: 'INFO', message: 'quiet one', pid: 5151 });
      await backend.publishRecord({ service: 'bt_svc_loud', level: 'INFO', message: 'loud one', pid: 5151 });
      await backend.publishRecord({ service: 'bt_svc_loud', level: 'WARNING', message: 'loud two', pid: 5151 });
      await backend.status({ service: 'bt_svc_loud', state: 'ERROR', message: 'sensor unplugged', pid: 5151 });
      await eventually(async () => {
        assert.deepEqual(await card('bt_svc_quiet'), { id: 'bt_svc_quiet', kind: 'service', state: 'RUNNING',
          name: 'Bt Svc Quiet', message: 'started (pid 5151)', entries: 1 }, 'the state of its process');
        assert.deepEqual(await card('bt_svc_loud'), { id: 'bt_svc_loud', kind: 'service', state: 'ERROR',
          name: 'Bt Svc Loud', message: 'sensor unplugged', entries: 2 }, 'its own state, its process running');
        assert.equal(await card('bt_host'), undefined, 'no card for the process that hosts them');
        assert.deepEqual(await card('cantina_busd'), { id: 'cantina_busd', kind: 'node', state: 'RUNNING', name: 'Bus',
          message: 'started (pid 101)', entries: 0 });
      });
      // the process exits: its services show it, whatever they said before
      await backend.status({ service: 'bt_host', state: 'ERROR', message: 'exited with code 1; restarting in 1 s', pid: 0 });
      await eventually(async () => {
        for (const id of ['bt_svc_quiet', 'bt_svc_loud']) {
          const c = await card(id);
          assert.equal(c.state, 'ERROR', id);
          assert.equal(c.message, 'exited with code 1; restarting in 1 s', id);
        }
      });
    }
    await eventually(async () => {
      const list = await cards();
      const names = list.map((c) => c.name);
      assert.equal(new Set(names).size, names.length, `each service once: ${names.join(', ')}`);
      for (const name of names) assert.doesNotMatch(name, /^Cantina /, 'nodes by their friendly names');
      const logging = list.find((c) => c.id === 'logging_service');
      const bridge = list.find((c) => c.id === 'web_bridge');
      assert.deepEqual([logging?.name, logging?.state, logging?.kind], ['Logging Service', 'RUNNING', 'node']);
      assert.deepEqual([bridge?.name, bridge?.state, bridge?.kind], ['Web Bridge', 'RUNNING', 'node']);
      assert.equal(list[0].kind, 'node', 'the nodes first');
    });
    if (backend.publishRecord) {
      // a flood of service ids: the panel stays bounded
      await backend.publishRecord(Array.from({ length: 130 }, (_, i) => ({ service: `bt_many_${i}`, level: 'INFO', message: 'one of many' })));
      await eventually(async () => {
        assert.equal((await cards()).length, 100, 'at most 100 cards');
        assert.match(await page.textContent('#services-panel .svc-more'), /^and \d+ more services/);
      });
    }
    await closePage(null, page, check);
  });
});
