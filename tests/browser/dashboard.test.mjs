// Browser tests of the dashboard (issue 4): real headless chromium against the web bridge.
// Started by run.mjs, which picks the backend (real processes by default, the mock with
// CANTINA_BROWSER_MOCK=1). Each test uses its own unique marker in its messages, so the
// tests do not depend on each other even though they share one logging node.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before } from 'node:test';
import {
  closePage, describeDashboard, domMessagesWith, domRows, env, eventually, expectDomMessages, newUid, openDashboard,
  publishPaced, shownMessages, sleep, test, waitForHistory,
} from './harness.mjs';

let backend;
let browser;

describeDashboard('dashboard in headless chromium', () => {
  before(() => { ({ backend, browser } = env); });

  test('the page is served with its assets and nothing from outside', async () => {
    const health = await fetch(new URL('healthz', backend.url));
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ok');
    const { page, check } = await openDashboard();
    const external = [];
    page.on('request', (r) => { if (!r.url().startsWith(new URL(backend.url).origin) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) external.push(r.url()); });
    await page.reload();
    await page.waitForSelector('#connection-state[data-state="live"]');
    assert.deepEqual(external, [], 'every request goes to the web bridge');
    for (const id of ['log-table', 'filter-level', 'filter-text', 'filter-regex', 'service-filter', 'pause',
      'level-counts', 'services-panel', 'stats-panel', 'download-log', 'download-jsonl', 'clear', 'connection-state']) {
      assert.equal(await page.locator(`#${id}`).count(), 1, `#${id} exists`);
    }
    assert.notEqual((await page.textContent('#session-id')).trim(), '—', 'the session id from hello is shown');
    await closePage(null, page, check);
  });

  test('shows entries published before and after the page opened, each once', async () => {
    const uid = newUid();
    const before1 = `${uid} published before the page opened`;
    const before2 = `${uid} also before, a warning`;
    await backend.publish('bt_history', 'INFO', before1);
    await backend.publish('bt_history', 'WARNING', before2);
    await waitForHistory([before1, before2]);

    const { page, check } = await openDashboard();
    await eventually(async () => {
      const shown = (await shownMessages(page)).filter((m) => m.includes(uid));
      assert.deepEqual(shown, [before1, before2]);
    });
    const after1 = `${uid} published after the page opened`;
    await backend.publish('bt_live', 'ERROR', after1);
    await eventually(async () => {
      const shown = (await shownMessages(page)).filter((m) => m.includes(uid));
      assert.deepEqual(shown, [before1, before2, after1]);
    });
    // the table follows the newest entries: the live row is rendered
    await eventually(async () => assert.ok((await domMessagesWith(page, uid)).includes(after1)));
    const row = (await domRows(page)).find((r) => r.message === after1);
    assert.equal(row.level, 'ERROR');
    assert.equal(row.service, 'Bt Live', 'service shown by its friendly name');
    await closePage(null, page, check);
  });

  test('level, service, text and regex filters apply to the rows and live in the URL', async () => {
    const uid = newUid();
    const m = (what) => `${uid} ${what}`;
    const records = [
      ['bt_alpha', 'DEBUG', m('alpha debug')],
      ['bt_alpha', 'INFO', m('alpha info')],
      ['bt_alpha', 'WARNING', m('alpha warning')],
      ['bt_alpha', 'ERROR', m('alpha error')],
      ['bt_alpha', 'CRITICAL', m('alpha critical')],
      ['bt_beta', 'INFO', m('beta info')],
      ['bt_beta', 'ERROR', m('beta error')],
    ];
    for (const [s, l, msg] of records) await backend.publish(s, l, msg);
    await waitForHistory(records.map((r) => r[2]));
    const all = records.map((r) => r[2]);

    const { page, check } = await openDashboard(`?text=${uid}`);
    assert.equal(await page.inputValue('#filter-text'), uid, 'text filter restored from the URL');
    await expectDomMessages(page, uid, all);

    // level threshold
    await page.selectOption('#filter-level', 'WARNING');
    await expectDomMessages(page, uid, [m('alpha warning'), m('alpha error'), m('alpha critical'), m('beta error')]);
    let url = new URL(page.url());
    assert.equal(url.searchParams.get('level'), 'WARNING');
    assert.equal(url.searchParams.get('text'), uid);
    for (const r of await domRows(page)) if (r.level) assert.ok(['WARNING', 'ERROR', 'CRITICAL'].includes(r.level));

    // service multi-select, built from the services seen
    await page.click('#service-filter-summary');
    const beta = page.locator('#service-options input[data-service="bt_beta"]');
    await beta.waitFor();
    assert.equal(await page.locator('#service-options input[data-service="bt_alpha"]').count(), 1);
    await beta.check();
    await expectDomMessages(page, uid, [m('beta error')]);
    url = new URL(page.url());
    assert.deepEqual(url.searchParams.getAll('service'), ['bt_beta']);
    await page.locator('#service-options input[data-service="bt_alpha"]').check();
    await expectDomMessages(page, uid, [m('alpha warning'), m('alpha error'), m('alpha critical'), m('beta error')]);
    assert.deepEqual(new URL(page.url()).searchParams.getAll('service'), ['bt_alpha', 'bt_beta']);
    await page.locator('#service-options input[data-service="bt_alpha"]').uncheck();
    await page.keyboard.press('Escape');

    // reload: every filter comes back from the URL
    await page.reload();
    await page.waitForSelector('#connection-state[data-state="live"]');
    assert.equal(await page.inputValue('#filter-level'), 'WARNING');
    assert.equal(await page.inputValue('#filter-text'), uid);
    await expectDomMessages(page, uid, [m('beta error')]);
    assert.match(await page.textContent('#service-filter-value'), /Bt Beta/);

    // back to all services and levels; substring text filter (case-insensitive)
    await page.click('#service-filter-summary');
    await page.click('#service-all');
    await page.keyboard.press('Escape');
    await page.selectOption('#filter-level', 'DEBUG');
    await page.fill('#filter-text', `${uid} ALPHA E`);
    await expectDomMessages(page, uid, [m('alpha error')]);
    url = new URL(page.url());
    assert.equal(url.searchParams.get('text'), `${uid} ALPHA E`);
    assert.equal(url.searchParams.get('level'), null, 'the default level is not in the URL');
    assert.equal(url.searchParams.getAll('service').length, 0);

    // regex
    await page.click('#filter-regex');
    assert.equal(await page.getAttribute('#filter-regex', 'aria-pressed'), 'true');
    await page.fill('#filter-text', `^${uid} (alpha|beta) (info|critical)$`);
    await expectDomMessages(page, uid, [m('alpha info'), m('alpha critical'), m('beta info')]);
    url = new URL(page.url());
    assert.equal(url.searchParams.get('regex'), '1');
    assert.equal(url.searchParams.get('text'), `^${uid} (alpha|beta) (info|critical)$`);

    // an invalid regex is shown as invalid, throws nothing, and filters nothing away
    await page.fill('#filter-text', `(${uid}`);
    await page.waitForSelector('#filter-text[aria-invalid="true"]');
    assert.ok(await page.isVisible('#filter-error'), 'the error is visible');
    assert.match(await page.textContent('#filter-error'), /invalid/i);
    await expectDomMessages(page, uid, all);

    // a regex that can backtrack without end (a quantified group holding a
    // quantifier) is refused, not run: a shared link cannot freeze the page
    // (a valid regex between two bad ones: typing is applied on the next
    // animation frame, so each refusal is awaited from a state that is not one)
    for (const bad of ['(a+)+$', '(x*)*y', '(?:ab|a+)*c', '([a-z]+\\d*){2,}!']) {
      await page.fill('#filter-text', `^${uid}`);
      await page.waitForSelector('#filter-text:not([aria-invalid="true"])');
      await page.fill('#filter-text', bad);
      await page.waitForSelector('#filter-text[aria-invalid="true"]');
      assert.match(await page.textContent('#filter-error'), /backtrack/, bad);
      await expectDomMessages(page, uid, all);
    }
    await page.fill('#filter-text', `^${uid} (al|be)+ta?`);
    await page.waitForSelector('#filter-text:not([aria-invalid="true"])');

    // and a regex restored from the URL is applied
    await page.goto(new URL(`?regex=1&text=${encodeURIComponent(`${uid} beta.*`)}`, backend.url).href);
    await page.waitForSelector('#connection-state[data-state="live"]');
    assert.equal(await page.getAttribute('#filter-regex', 'aria-pressed'), 'true');
    await expectDomMessages(page, uid, [m('beta info'), m('beta error')]);
    await closePage(null, page, check);
  });

  test('messages with HTML are shown as text and run nothing', async () => {
    const uid = newUid();
    const hostile = [
      `${uid} <script>window.__pwned=1</script>`,
      `${uid} <img src=x onerror="window.__pwned=1">`,
    ];
    const hostileLive = [
      `${uid} live <img src=x onerror="window.__pwned=1"><b>bold</b>`,
      `${uid} live <svg onload="window.__pwned=1"></svg><iframe src="javascript:window.__pwned=1"></iframe>`,
    ];
    await backend.publish('bt_xss', 'ERROR', hostile[0]);
    await backend.publish('bt_xss', 'CRITICAL', hostile[1]);
    await waitForHistory(hostile);
    const { page, check } = await openDashboard(`?text=${encodeURIComponent(uid)}`);
    await expectDomMessages(page, uid, hostile);
    for (const msg of hostileLive) await backend.publish('bt_xss', 'WARNING', msg);
    await expectDomMessages(page, uid, [...hostile, ...hostileLive]);
    const rows = (await domRows(page)).filter((r) => r.message.includes(uid));
    for (const r of rows) assert.equal(r.title, r.message, 'tooltip carries the same text');
    // open the detail view of each row too
    for (const msg of [...hostile, ...hostileLive]) {
      await page.locator('#log-rows .row:not([hidden]) .c-msg', { hasText: msg }).first().click();
      assert.equal(await page.textContent('#detail-message'), msg);
    }
    await page.waitForTimeout(300);
    assert.equal(await page.locator('#log-table img, #log-table script, #log-table svg, #log-table iframe, #log-table b').count(), 0);
    assert.equal(await page.locator('#entry-detail img, #entry-detail script, #entry-detail svg, #entry-detail iframe').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    // the hostile text is visible as text
    assert.ok(await page.locator('#log-rows .row:not([hidden])', { hasText: '<script>window.__pwned=1</script>' }).first().isVisible());
    await closePage(null, page, check);
  });

  test('pause freezes the table and counts "N new"; resume shows them', async () => {
    const uid = newUid();
    const { page, check } = await openDashboard(`?text=${uid}`);
    await backend.publish('bt_pause', 'INFO', `${uid} first`);
    await expectDomMessages(page, uid, [`${uid} first`]);
    assert.ok(await page.isHidden('#new-count'));
    await page.click('#pause');
    assert.equal(await page.getAttribute('#pause', 'aria-pressed'), 'true');
    await page.waitForSelector('#new-count', { state: 'visible' });
    for (let i = 1; i <= 3; i++) await backend.publish('bt_pause', 'INFO', `${uid} while paused ${i}`);
    await eventually(async () => assert.equal((await page.textContent('#new-count')).trim(), '3 new'));
    assert.deepEqual(await domMessagesWith(page, uid), [`${uid} first`], 'the table did not move');
    await page.click('#pause');
    await expectDomMessages(page, uid, [`${uid} first`, `${uid} while paused 1`, `${uid} while paused 2`, `${uid} while paused 3`]);
    assert.ok(await page.isHidden('#new-count'));
    await closePage(null, page, check);
  });

  test('CRITICAL rows have their own style', async () => {
    const uid = newUid();
    const { page, check } = await openDashboard(`?text=${uid}`);
    for (const level of ['INFO', 'WARNING', 'ERROR', 'CRITICAL']) await backend.publish('bt_style', level, `${uid} ${level}`);
    await expectDomMessages(page, uid, ['INFO', 'WARNING', 'ERROR', 'CRITICAL'].map((l) => `${uid} ${l}`));
    const styles = await page.$$eval('#log-rows .row:not([hidden])', (rows) => Object.fromEntries(rows
      .filter((r) => r.dataset.level)
      .map((r) => {
        const row = getComputedStyle(r);
        const badge = getComputedStyle(r.querySelector('.badge'));
        const msg = getComputedStyle(r.querySelector('.c-msg'));
        return [r.dataset.level, { bg: row.backgroundColor, shadow: row.boxShadow, badgeBg: badge.backgroundColor,
          badgeColor: badge.color, weight: msg.fontWeight, color: msg.color }];
      })));
    const crit = styles.CRITICAL;
    assert.ok(crit, 'a CRITICAL row is rendered');
    for (const other of ['INFO', 'WARNING', 'ERROR']) {
      assert.notEqual(crit.bg, styles[other].bg, `CRITICAL row background differs from ${other}`);
      assert.notEqual(crit.badgeBg, styles[other].badgeBg, `CRITICAL badge differs from ${other}`);
    }
    assert.notEqual(crit.shadow, 'none', 'CRITICAL rows carry an edge marker');
    assert.ok(Number(crit.weight) >= 600, 'CRITICAL messages are bold');
    // every level has a colour of its own
    assert.equal(new Set(['INFO', 'WARNING', 'ERROR', 'CRITICAL'].map((l) => styles[l].badgeColor + styles[l].badgeBg)).size, 4);
    const critCount = Number((await page.textContent('#level-counts [data-level="CRITICAL"] .count')).replace(/,/g, ''));
    assert.ok(critCount >= 1, 'the CRITICAL count is shown');
    await closePage(null, page, check);
  });

  test('reconnects after the web bridge restarts and shows later entries without duplicates', async (t) => {
    if (!backend.canRestart) { t.skip('the web bridge is not ours to restart'); return; }
    const uid = newUid();
    const { page, check } = await openDashboard(`?text=${uid}`);
    const first = `${uid} before the restart`;
    await backend.publish('bt_restart', 'INFO', first);
    await expectDomMessages(page, uid, [first]);

    await backend.stopBridge('SIGKILL');
    await page.waitForSelector('#connection-state[data-state="reconnecting"]', { timeout: 10000 });
    assert.ok(await page.isVisible('#disconnected-banner'), 'a visible reconnecting indicator');
    const expected = [first];
    if (backend.publishesWhileBridgeDown) {
      const down = `${uid} while the web bridge was down`;
      await backend.publish('bt_restart', 'WARNING', down);
      expected.push(down);
    }
    await sleep(700);                                  // let at least one retry fail
    await backend.startBridge();
    await page.waitForSelector('#connection-state[data-state="live"]', { timeout: 15000 });
    assert.ok(await page.isHidden('#disconnected-banner'));
    const later = `${uid} after the restart`;
    await backend.publish('bt_restart', 'ERROR', later);
    expected.push(later);
    await expectDomMessages(page, uid, expected);
    const shown = (await shownMessages(page)).filter((msg) => msg.includes(uid));
    assert.deepEqual(shown, expected, 'history refetched after the reconnect duplicated nothing');
    await closePage(null, page, check);
  });

  test('after a long outage the page says how many entries the history could not give back', async (t) => {
    if (!backend.canRestart || !backend.publishesWhileBridgeDown) { t.skip('needs a logging node that outlives the web bridge'); return; }
    const uid = newUid();
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(new URL(`?text=${uid}`, backend.url).href);
    await page.waitForSelector('#connection-state[data-state="live"]');
    await backend.publish('bt_outage', 'INFO', `${uid} before`);
    await expectDomMessages(page, uid, [`${uid} before`]);
    await backend.stopBridge('SIGKILL');
    await page.waitForSelector('#connection-state[data-state="reconnecting"]');
    const missed = Array.from({ length: 1500 }, (_, i) => `${uid} missed ${i + 1}`);
    await backend.publishMany('bt_outage', 'INFO', missed);    // more than the 1000 the history keeps
    await sleep(500);                                           // the logging node takes them meanwhile
    await backend.startBridge();
    await page.waitForSelector('#connection-state[data-state="live"]', { timeout: 15000 });
    await eventually(async () => assert.equal((await domMessagesWith(page, uid)).at(-1), missed.at(-1)));
    const shown = (await shownMessages(page)).filter((m) => m.includes(uid));
    assert.equal(new Set(shown).size, shown.length, 'no duplicates');
    assert.equal(shown[0], `${uid} before`);
    assert.ok(!shown.includes(missed[0]), 'the oldest missed entries are not in the history any more');
    const gaps = Number(await page.getAttribute('#stats-panel [data-stat="page-gaps"]', 'data-value'));
    assert.ok(gaps >= 500, `gaps counted (${gaps})`);
    // the note sits where the entries are missing: right after the first row
    await page.locator('#log-scroll').focus();
    await page.keyboard.press('Home');
    await page.evaluate(() => { document.getElementById('log-scroll').scrollTop = 0; });
    await eventually(async () => {
      const rows = await domRows(page);
      assert.equal(rows[0].message, `${uid} before`);
      assert.equal(rows[1].kind, 'marker');
      assert.match(rows[1].message, /^[\d,]+ entries were published while disconnected/);
    });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a burst is virtualised, followed at the bottom, and reading up stops the follow', async () => {
    const uid = newUid();
    const { page, check } = await openDashboard(`?text=${uid}`);
    const n = 5000;
    const messages = Array.from({ length: n }, (_, i) => `${uid} burst ${String(i + 1).padStart(5, '0')}`);
    await publishPaced('bt_burst', 'INFO', messages);
    await eventually(async () => assert.equal(await page.evaluate(() => window.cantinaDashboard.shown), n), 30000, 100);
    const rendered = await page.locator('#log-rows .row:not([hidden])').count();
    assert.ok(rendered > 10 && rendered < 120, `only the visible rows are in the DOM (${rendered})`);
    await eventually(async () => assert.equal((await domMessagesWith(page, uid)).at(-1), messages.at(-1)));
    assert.ok(await page.isHidden('#jump-latest'));

    // read further up: following stops, new entries do not move the view
    const box = await page.locator('#log-scroll').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -4000);
    await page.waitForSelector('#jump-latest', { state: 'visible' });
    assert.equal(await page.evaluate(() => window.cantinaDashboard.following), false);
    const topBefore = (await domMessagesWith(page, uid))[0];
    await backend.publishMany('bt_burst', 'INFO', [`${uid} burst late 1`, `${uid} burst late 2`]);
    await eventually(async () => assert.equal(await page.evaluate(() => window.cantinaDashboard.shown), n + 2));
    await page.waitForTimeout(200);
    assert.equal((await domMessagesWith(page, uid))[0], topBefore, 'the rows being read stay put');
    assert.ok(!(await domMessagesWith(page, uid)).includes(`${uid} burst late 2`));

    // jump to latest follows again
    await page.click('#jump-latest');
    await eventually(async () => assert.equal((await domMessagesWith(page, uid)).at(-1), `${uid} burst late 2`));
    assert.equal(await page.evaluate(() => window.cantinaDashboard.following), true);
    await page.waitForSelector('#jump-latest', { state: 'hidden' });
    await closePage(null, page, check);
  });

  test('a row cap keeps the newest entries and says so', async () => {
    const uid = newUid();
    const { page, check } = await openDashboard(`?cap=200&text=${uid}`);
    const messages = Array.from({ length: 600 }, (_, i) => `${uid} capped ${i + 1}`);
    await publishPaced('bt_cap', 'DEBUG', messages);
    await eventually(async () => assert.equal((await domMessagesWith(page, uid)).at(-1), messages.at(-1)), 20000);
    const state = await page.evaluate(() => ({ mem: window.cantinaDashboard.inMemory, discarded: window.cantinaDashboard.discarded, shown: window.cantinaDashboard.shownMessages() }));
    assert.ok(state.mem <= 200 + 50, `memory bounded (${state.mem})`);
    assert.ok(state.discarded >= 350, `discarded counted (${state.discarded})`);
    assert.ok(!state.shown.includes(messages[0]), 'the oldest entries are gone');
    assert.ok(await page.isVisible('#trim-note'));
    assert.match(await page.textContent('#trim-note'), /discarded/);
    assert.equal(new URL(page.url()).searchParams.get('cap'), '200');
    await closePage(null, page, check);
  });

  test('download of the filtered view as .log and .jsonl; clear empties the table', async () => {
    const uid = newUid();
    const records = [['bt_download', 'INFO', `${uid} one`], ['bt_download', 'CRITICAL', `${uid} two`], ['music_controller', 'WARNING', `${uid} three`]];
    for (const [s, l, msg] of records) await backend.publish(s, l, msg);
    await waitForHistory(records.map((r) => r[2]));
    const { page, check } = await openDashboard(`?text=${uid}`);
    await expectDomMessages(page, uid, records.map((r) => r[2]));

    const [logDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-log')]);
    assert.match(logDl.suggestedFilename(), /\.log$/);
    const lines = fs.readFileSync(await logDl.path(), 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 3);
    assert.match(lines[0], new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\\] INFO {5}Bt Download {10}${uid} one$`));
    assert.match(lines[1], new RegExp(`^\\[[^\\]]+\\] CRITICAL Bt Download {10}${uid} two$`));
    assert.match(lines[2], new RegExp(`^\\[[^\\]]+\\] WARNING  Music Controller {5}${uid} three$`));

    const [jsonDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-jsonl')]);
    assert.match(jsonDl.suggestedFilename(), /\.jsonl$/);
    const objs = fs.readFileSync(await jsonDl.path(), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(objs.map((o) => [o.service_id, o.level, o.message]), records);

    await page.click('#clear');
    await expectDomMessages(page, uid, []);
    assert.equal(await page.evaluate(() => window.cantinaDashboard.inMemory), 0);
    assert.equal((await page.textContent('#level-counts [data-level="CRITICAL"] .count')).trim(), '0');
    await backend.publish('bt_download', 'INFO', `${uid} after clear`);
    await expectDomMessages(page, uid, [`${uid} after clear`]);
    await closePage(null, page, check);
  });

  test('services and stats panels fill from the bus', async () => {
    await backend.publish('bt_stats', 'INFO', `${newUid()} counted`);   // so that "received" counts one at least
    const { page, check } = await openDashboard();
    await page.waitForSelector('#services-panel [data-service="logging_service"][data-state="RUNNING"]', { timeout: 10000 });
    assert.match(await page.textContent('#services-panel [data-service="logging_service"]'), /RUNNING/);
    await eventually(async () => {
      const received = Number(await page.getAttribute('#stats-panel [data-stat="received"]', 'data-value'));
      assert.ok(received > 0, `received ${received}`);
    }, 10000, 200);
    for (const key of ['written', 'deduplicated', 'lost', 'dropped', 'webbridge-skipped']) {
      const v = await page.getAttribute(`#stats-panel [data-stat="${key}"]`, 'data-value');
      assert.match(v || '', /^\d+$/, `${key} is a number`);
    }
    const res = await fetch(new URL('api/stats', backend.url));
    const stats = await res.json();
    assert.ok('webbridge' in stats && 'services' in stats && 'logging' in stats);
    await closePage(null, page, check);
  });

  test('skipped notices become a marker row and are counted (mock only)', async (t) => {
    if (!backend.skip) { t.skip('needs the mock server to force a skip'); return; }
    const uid = newUid();
    const { page, check } = await openDashboard(`?text=${uid}`);
    await backend.publish('bt_skip', 'INFO', `${uid} before`);
    await expectDomMessages(page, uid, [`${uid} before`]);
    await backend.skip(42);
    await backend.publish('bt_skip', 'INFO', `${uid} after`);
    await page.waitForSelector('#log-rows .row[data-marker="skipped"]');
    assert.match(await page.textContent('#log-rows .row[data-marker="skipped"]'), /42 entries skipped/);
    assert.equal(await page.getAttribute('#stats-panel [data-stat="page-skipped"]', 'data-value'), '42');
    await closePage(null, page, check);
  });

  test('entries the logging node did not stream become a marker row and are counted (mock only)', async (t) => {
    if (!backend.limit) { t.skip('needs the mock server to announce a live-view limit'); return; }
    const uid = newUid();
    const { page, check } = await openDashboard(`?text=${uid}`);
    await backend.publish('bt_limit', 'INFO', `${uid} before`);
    await expectDomMessages(page, uid, [`${uid} before`]);
    await backend.limit(1234);
    await backend.publish('bt_limit', 'INFO', `${uid} after`);
    await page.waitForSelector('#log-rows .row[data-marker="limited"]');
    assert.match(await page.textContent('#log-rows .row[data-marker="limited"]'), /1,234 DEBUG\/INFO entries not streamed live/);
    assert.equal(await page.getAttribute('#stats-panel [data-stat="page-limited"]', 'data-value'), '1234');
    assert.match(await page.textContent('#skip-note'), /1,234 not streamed/);
    await closePage(null, page, check);
  });

  test('live entries that arrive while history loads are merged without duplicates (mock only)', async (t) => {
    if (!backend.configure) { t.skip('needs the mock server to slow the history down'); return; }
    const uid = newUid();
    await backend.publish('bt_merge', 'INFO', `${uid} 1 old`);
    await backend.configure({ history_delay_ms: 1500 });
    try {
      const page = await browser.context.newPage();
      const errors = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(new URL(`?text=${uid}`, backend.url).href);
      await page.waitForSelector('#connection-state[data-state="loading"]');
      // published while the history request is pending: these come live AND in the history
      for (let i = 2; i <= 4; i++) await backend.publish('bt_merge', 'INFO', `${uid} ${i} during history`);
      await page.waitForSelector('#connection-state[data-state="live"]', { timeout: 10000 });
      await backend.publish('bt_merge', 'INFO', `${uid} 5 live`);
      const expected = [`${uid} 1 old`, `${uid} 2 during history`, `${uid} 3 during history`, `${uid} 4 during history`, `${uid} 5 live`];
      await expectDomMessages(page, uid, expected);
      assert.deepEqual((await shownMessages(page)).filter((m) => m.includes(uid)), expected);
      assert.ok(await page.evaluate(() => window.cantinaDashboard.duplicatesDropped) >= 3);
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await backend.configure({ history_delay_ms: 0 });
    }
  });

  test('a history error is shown discreetly and live entries still flow (mock only)', async (t) => {
    if (!backend.configure) { t.skip('needs the mock server to fail the history'); return; }
    const uid = newUid();
    await backend.configure({ history_error: 'logging node did not answer on ipc:///tmp/q.ipc' });
    try {
      const { page, check } = await openDashboard(`?text=${uid}`);
      await page.waitForSelector('#history-error', { state: 'visible' });
      assert.match(await page.getAttribute('#history-error', 'title'), /logging node did not answer/);
      await backend.publish('bt_histerr', 'INFO', `${uid} live anyway`);
      await expectDomMessages(page, uid, [`${uid} live anyway`]);
      await closePage(null, page, check);
    } finally {
      await backend.configure({ history_error: '' });
    }
  });
});
