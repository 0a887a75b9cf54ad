// Browser tests of what an operator relies on in an incident (issue 14): counts and notes
// that are true during and after a flood, sessions that show when the logging node
// restarts, one card per service, the detail pane with everything a record has, and
// exports that keep nanosecond timestamps exact. Started by run.mjs like the others.
import assert from 'node:assert/strict';
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
});
