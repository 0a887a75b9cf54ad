// Browser tests of what makes the dashboard pleasant every day (issue 14): the light
// theme, local time and dates, wrapping long lines, permalinks, service colours, match
// highlighting, keyboard shortcuts and the narrow layout. Started by run.mjs like the
// others. View preferences live in the browser's localStorage: a test that changes them
// puts them back.
import assert from 'node:assert/strict';
import { before } from 'node:test';
import {
  closePage, describeDashboard, env, eventually, newUid, openDashboard, screenshot, shownMessages, test,
} from './harness.mjs';

let backend;

// The relative luminance (0 black .. 1 white) of a CSS colour "rgb(r, g, b)".
function luminance(color) {
  const [r, g, b] = color.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function backgroundOf(page, selector = 'body') {
  return page.$eval(selector, (el) => getComputedStyle(el).backgroundColor);
}

async function resetPrefs(page) {
  await page.evaluate(() => localStorage.removeItem('cantina.dashboard.prefs'));
}

describeDashboard('dashboard every day', () => {
  before(() => { ({ backend } = env); });

  test('the light theme follows the system setting, and the theme button pins one', async () => {
    const uid = newUid();
    for (const level of ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']) {
      await backend.publish('bt_theme', level, `${uid} a ${level.toLowerCase()} line in the light`);
    }
    const { page, check } = await openDashboard(`?text=${uid}`);
    await page.emulateMedia({ colorScheme: 'light' });
    await eventually(async () => assert.equal((await shownMessages(page)).length, 5));
    assert.ok(luminance(await backgroundOf(page)) > 0.8, 'light background under a light system setting');
    assert.ok(luminance(await page.$eval('#log-rows .row:not([hidden]) .c-msg', (el) => getComputedStyle(el).color)) < 0.2,
      'dark text on it');
    await screenshot(page, 'light-theme');
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.ok(luminance(await backgroundOf(page)) < 0.05, 'dark under a dark system setting');

    // the button: auto -> light -> dark -> auto, kept across a reload
    assert.equal(await page.textContent('#theme-name'), 'auto');
    await page.click('#theme');
    assert.equal(await page.textContent('#theme-name'), 'light');
    assert.ok(luminance(await backgroundOf(page)) > 0.8, 'light although the system is dark');
    await page.click('#theme');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.ok(luminance(await backgroundOf(page)) < 0.05, 'dark although the system is light');
    await page.reload();
    await page.waitForSelector('#connection-state[data-state="live"]');
    assert.equal(await page.textContent('#theme-name'), 'dark', 'kept in this browser');
    assert.ok(luminance(await backgroundOf(page)) < 0.05);
    await page.click('#theme');
    assert.equal(await page.textContent('#theme-name'), 'auto');
    assert.ok(luminance(await backgroundOf(page)) > 0.8, 'following the (light) system again');
    await resetPrefs(page);
    await closePage(null, page, check);
  });

  test('times in UTC or in local time, with dates once the entries span days', async () => {
    const uid = newUid();
    const message = `${uid} what time is it`;
    await backend.publish('bt_time', 'INFO', message);
    const { page, check } = await openDashboard(`?text=${uid}`);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Asia/Kathmandu' });   // UTC+05:45, no DST
    await page.reload();
    await page.waitForSelector('#connection-state[data-state="live"]');
    const timeOf = (text) => page.locator('#log-rows .row:not([hidden])', { hasText: text }).first().locator('.c-time').textContent();
    await eventually(async () => assert.deepEqual(await shownMessages(page), [message]));
    const timestamp = await page.evaluate(() => document.querySelector('#log-rows .row:not([hidden]) .c-time').title.split(' ')[0]);
    assert.match(timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(await page.textContent('#time-zone-name'), 'UTC');
    // Near midnight (UTC, then local) the entries the page holds may span days: then every
    // time has its date in front, which these two checks leave aside.
    const timeOnly = async (text) => (await timeOf(text)).replace(/^\d\d-\d\d /, '');
    assert.equal(await timeOnly(message), timestamp.slice(11, 23), 'UTC, as in the session file');
    await page.click('#time-zone');
    assert.equal(await page.textContent('#time-zone-name'), 'local');
    const local = new Date(Date.parse(timestamp) + (5 * 60 + 45) * 60000).toISOString().slice(11, 23);
    await eventually(async () => assert.equal(await timeOnly(message), local, 'local time (UTC+05:45)'));
    assert.match(await page.getAttribute('#time-zone', 'title'), /Asia\/Kath?mandu/);   // ICU spells it either way
    if (backend.publishRecord) {
      // an entry from two days before: every time shows its date
      const old = `${uid} from two days ago`;
      const ns = (BigInt(Date.parse(timestamp)) - 2n * 86400000n) * 1000000n + 123456789n;
      await backend.publishRecord({ service: 'bt_time', level: 'WARNING', message: old, timestamp_ns: String(ns) });
      await eventually(async () => assert.ok(await page.evaluate(() => document.body.classList.contains('show-dates'))));
      const oldLocal = new Date(Number(ns / 1000000n) + (5 * 60 + 45) * 60000).toISOString();
      await eventually(async () => assert.equal(await timeOf(old), `${oldLocal.slice(5, 10)} ${oldLocal.slice(11, 23)}`));
      assert.match(await timeOf(message), /^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
      await page.click('#time-zone');
      const oldUtc = new Date(Number(ns / 1000000n)).toISOString();
      await eventually(async () => assert.equal(await timeOf(old), `${oldUtc.slice(5, 10)} ${oldUtc.slice(11, 23)}`));
    }
    await resetPrefs(page);
    await closePage(null, page, check);
  });

  test('the wrap button shows long lines whole, each row as tall as its message', async () => {
    const uid = newUid();
    const long = `${uid} long ${'the quick brown fox jumps over the lazy droid '.repeat(14)}end`;
    const lines = `${uid} three lines\nsecond line\n\tthird line, indented`;
    const short = `${uid} short`;
    const messages = [long, lines, short];
    for (const message of messages) await backend.publish('bt_wrap', 'INFO', message);
    const { page, check } = await openDashboard(`?text=${uid}`);
    await eventually(async () => assert.deepEqual(await shownMessages(page), messages));
    const rows = () => page.$$eval('#log-rows .row:not([hidden])', (list) => list.map((row) => {
      const box = row.getBoundingClientRect();
      const range = document.createRange();
      range.selectNodeContents(row.querySelector('.c-msg'));
      const cell = row.querySelector('.c-msg');
      const lineTops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      return { top: box.top, height: box.height, text: cell.textContent, textLines: lineTops.size,
        clipped: cell.scrollHeight > cell.clientHeight + 1 };
    }).sort((a, b) => a.top - b.top));
    const before = await eventually(async () => {
      const list = await rows();
      assert.deepEqual(list.map((r) => r.height), [22, 22, 22], 'one line each');
      return list;
    });
    assert.match(before[1].text, /three lines ⏎ second line ⏎ third line/);

    await page.click('#wrap');
    assert.equal(await page.getAttribute('#wrap', 'aria-pressed'), 'true');
    await eventually(async () => {
      const after = await rows();
      assert.ok(after[0].height > 3 * 18, `the long message takes several lines (${after[0].height} px)`);
      assert.equal(after[1].height, 2 * 2 + 3 * 18, 'three lines for three lines');
      assert.equal(after[2].height, 22, 'a short one stays one line');
      for (const [i, row] of after.entries()) {
        assert.equal(row.clipped, false, `row ${i} shows its whole message`);
        assert.equal(row.textLines * 18 + 4, row.height, `row ${i}: as tall as its lines of text (${row.textLines})`);
        if (i > 0) assert.ok(Math.abs(row.top - (after[i - 1].top + after[i - 1].height)) < 1, `row ${i} right below the one before`);
      }
      assert.equal(after[1].text, `${uid} three lines\nsecond line\n    third line, indented`);
    });
    await screenshot(page, 'wrap');
    // a narrower table: the lines are counted again
    await page.setViewportSize({ width: 900, height: 800 });
    await eventually(async () => {
      const narrower = await rows();
      assert.ok(narrower[0].height > before[0].height, 'more lines');
      for (const row of narrower) assert.equal(row.clipped, false);
      for (const row of narrower) assert.equal(row.textLines * 18 + 4, row.height);
    });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.reload();
    await page.waitForSelector('#connection-state[data-state="live"]');
    assert.equal(await page.getAttribute('#wrap', 'aria-pressed'), 'true', 'kept in this browser');
    await page.click('#wrap');
    await eventually(async () => assert.deepEqual((await rows()).map((r) => r.height), [22, 22, 22]));
    await resetPrefs(page);
    await closePage(null, page, check);
  });

  test('each service has a colour of its own, and filter matches are highlighted', async () => {
    const uid = newUid();
    const records = [['bt_colour_alpha', `${uid} alpha says NeEdLe twice: needle`], ['bt_colour_beta', `${uid} beta has a needle`],
      ['bt_colour_alpha', `${uid} alpha again, a haystack`]];
    for (const [service, message] of records) await backend.publish(service, 'INFO', message);
    const { page, check } = await openDashboard(`?text=${uid}`);
    await eventually(async () => assert.equal((await shownMessages(page)).length, 3));
    const colours = () => page.$$eval('#log-rows .row:not([hidden])', (rows) => rows
      .sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex')))
      .map((row) => getComputedStyle(row.querySelector('.c-service')).color));
    const first = await eventually(async () => {
      const list = await colours();
      assert.equal(list.length, 3);
      return list;
    });
    assert.equal(first[0], first[2], 'the same service, the same colour');
    assert.notEqual(first[0], first[1], 'another service, another colour');
    await page.reload();
    await page.waitForSelector('#connection-state[data-state="live"]');
    await eventually(async () => assert.deepEqual(await colours(), first, 'the same colours after a reload'));

    // the text filter's matches, case-insensitive, in <mark>
    const marks = () => page.$$eval('#log-rows .row:not([hidden])', (rows) => rows
      .sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex')))
      .map((row) => [...row.querySelectorAll('.c-msg mark')].map((mark) => mark.textContent)));
    await page.fill('#filter-text', `${uid} alpha`);
    await eventually(async () => assert.deepEqual(await marks(), [[`${uid} alpha`], [`${uid} alpha`]]));
    await page.fill('#filter-text', 'needle');
    await eventually(async () => {
      const shown = await marks();
      assert.ok(shown.length >= 2);
      assert.deepEqual(shown.slice(-2), [['NeEdLe', 'needle'], ['needle']]);
    });
    await page.click('#filter-regex');
    // the last alternative matches nothing (an empty match) in this test's messages: it marks nothing
    await page.fill('#filter-text', `${uid} (alpha|beta)|ne+dle|^(?=.*${uid})`);
    await eventually(async () => assert.deepEqual(await marks(), [[`${uid} alpha`, 'NeEdLe', 'needle'],
      [`${uid} beta`, 'needle'], [`${uid} alpha`]]));
    const text = await page.$eval('#log-rows .row:not([hidden]) .c-msg', (cell) => cell.textContent);
    assert.ok(text.startsWith(`${uid} `), 'the text is whole around the marks');
    await closePage(null, page, check);
  });

  test('a link to an entry opens it, scrolled to and highlighted, from the history if need be', async () => {
    const uid = newUid();
    const messages = [1, 2, 3].map((i) => `${uid} linked ${i}`);
    for (const message of messages) await backend.publish('bt_link', 'INFO', message);
    const { page, check } = await openDashboard(`?text=${uid}`);
    await eventually(async () => assert.deepEqual(await shownMessages(page), messages));
    await page.locator('#log-rows .row:not([hidden]) .c-msg', { hasText: messages[1] }).click();
    const entryId = await page.getAttribute('#log-rows .row.selected', 'data-entry-id');
    assert.match(entryId, /^\d{8}-\d{6}.*-\d+$/);
    const link = new URL(page.url());
    assert.equal(link.searchParams.get('entry'), entryId, 'the URL names the open entry');
    assert.equal(link.searchParams.get('session'), entryId.replace(/-\d+$/, ''));
    assert.equal(link.searchParams.get('text'), uid, 'beside the filters');
    await page.click('#detail-close');
    assert.equal(new URL(page.url()).searchParams.get('entry'), null, 'closed: no link');

    // the link alone, in another page: the entry opened, in view, highlighted
    link.searchParams.delete('text');
    const other = await openDashboard(link.search);
    await other.page.waitForSelector('#entry-detail:not([hidden])');
    assert.equal(await other.page.textContent('#detail-message'), messages[1]);
    const inView = (p, id) => p.evaluate((wanted) => {
      const row = document.querySelector(`#log-rows .row[data-entry-id="${wanted}"]:not([hidden])`);
      if (!row) return 'no row';
      const box = row.getBoundingClientRect();
      const pane = document.getElementById('log-scroll').getBoundingClientRect();
      return box.top >= pane.top && box.bottom <= pane.bottom ? `${row.classList.contains('selected')} ${row.classList.contains('linked')}` : 'out of view';
    }, id);
    await eventually(async () => assert.equal(await inView(other.page, entryId), 'true true'));
    assert.equal(await other.page.evaluate(() => window.cantinaDashboard.following), false, 'it stays in view');
    assert.equal(new URL(other.page.url()).searchParams.get('entry'), entryId);
    await screenshot(other.page, 'permalink');
    await closePage(null, other.page, other.check);

    // an entry the logging node no longer has
    const gone = `${link.searchParams.get('session')}-999999999`;
    const missing = await openDashboard(`?session=${link.searchParams.get('session')}&entry=${gone}`);
    await missing.page.waitForSelector('#link-note:not([hidden])');
    assert.match(await missing.page.textContent('#link-note'), /no longer in the logging node's memory/);
    assert.ok(await missing.page.isHidden('#entry-detail'));
    // it offers the past view of that session
    await missing.page.click('#link-note a');
    await missing.page.waitForSelector(
      `#past-view:not([hidden]) #past-title:text-is("session ${link.searchParams.get('session')}")`);
    await closePage(null, missing.page, missing.check);

    if (backend.publishRecord) {
      // older than the history a page loads first (1,000 entries): loaded when the link asks
      const old = `${uid} linked, long ago`;
      await backend.publish('bt_link', 'WARNING', old);
      await backend.publishMany('bt_link_later', 'DEBUG', Array.from({ length: 1200 }, (_, i) => `${uid} later ${i}`));
      const oldId = await eventually(async () => {
        const res = await fetch(new URL('api/logs?limit=5000', backend.url));
        const entry = (await res.json()).entries.find((e) => e.message === old);
        assert.ok(entry);
        return entry.entry_id;
      });
      const deep = await openDashboard(`?entry=${oldId}`);
      await deep.page.waitForSelector('#entry-detail:not([hidden])');
      assert.equal(await deep.page.textContent('#detail-message'), old);
      await eventually(async () => assert.equal(await inView(deep.page, oldId), 'true true'));
      await closePage(null, deep.page, deep.check);
    }
    await closePage(null, page, check);
  });

  test('keyboard shortcuts: / to filter, Space to pause, End to follow, j and k to step, ? to list them', async () => {
    const uid = newUid();
    const messages = Array.from({ length: 60 }, (_, i) => `${uid} key ${String(i + 1).padStart(2, '0')}`);
    await backend.publishMany('bt_keys', 'INFO', messages);
    const { page, check } = await openDashboard(`?text=${uid}`);
    await eventually(async () => assert.equal((await shownMessages(page)).length, 60));
    await screenshot(page, 'live');
    const dashboard = () => page.evaluate(() => ({ paused: window.cantinaDashboard.paused, following: window.cantinaDashboard.following }));

    // "/" goes to the filter; Esc clears it, a second Esc leaves it
    await page.locator('#log-scroll').focus();
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'filter-text');
    await page.keyboard.press('Escape');
    assert.equal(await page.inputValue('#filter-text'), '', 'Esc clears the filter');
    await page.keyboard.type(uid);
    await page.keyboard.press('Escape');
    await page.keyboard.type(uid);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    assert.notEqual(await page.evaluate(() => document.activeElement.id), 'filter-text', 'a second Esc leaves it');
    assert.equal(await page.inputValue('#filter-text'), '');
    await page.fill('#filter-text', uid);
    await page.locator('#filter-text').blur();

    // Space pauses; what comes meanwhile is counted; Space again shows it
    await page.keyboard.press(' ');
    assert.equal((await dashboard()).paused, true);
    await backend.publish('bt_keys', 'WARNING', `${uid} while paused`);
    await eventually(async () => assert.equal((await page.textContent('#new-count')).trim(), '1 new'));
    await screenshot(page, 'paused');
    await page.keyboard.press(' ');
    assert.equal((await dashboard()).paused, false);
    await eventually(async () => assert.equal((await shownMessages(page)).at(-1), `${uid} while paused`));

    // Home goes to the oldest, End back to the newest, following again
    await page.keyboard.press('Home');
    await eventually(async () => assert.equal(await page.evaluate(() => document.getElementById('log-scroll').scrollTop), 0));
    assert.equal((await dashboard()).following, false);
    await page.waitForSelector('#jump-latest', { state: 'visible' });
    await page.keyboard.press('End');
    await eventually(async () => assert.equal((await dashboard()).following, true));
    await page.waitForSelector('#jump-latest', { state: 'hidden' });

    // j opens the first entry in sight, then the next; k the one before
    await page.keyboard.press('Home');
    await page.keyboard.press('j');
    await eventually(async () => assert.equal(await page.textContent('#detail-message'), messages[0]));
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await eventually(async () => assert.equal(await page.textContent('#detail-message'), messages[2]));
    await page.keyboard.press('k');
    await eventually(async () => assert.equal(await page.textContent('#detail-message'), messages[1]));
    for (let i = 0; i < 40; i++) await page.keyboard.press('j');
    await eventually(async () => assert.equal(await page.textContent('#detail-message'), messages[41]));
    assert.ok(await page.locator('#log-rows .row.selected:not([hidden])').isVisible(), 'the open entry stays in sight');
    await page.keyboard.press('Escape');
    assert.ok(await page.isHidden('#entry-detail'), 'Esc closes the detail pane');

    // t and w switch the time zone and wrapping
    await page.keyboard.press('t');
    assert.equal(await page.textContent('#time-zone-name'), 'local');
    await page.keyboard.press('t');
    assert.equal(await page.textContent('#time-zone-name'), 'UTC');
    await page.keyboard.press('w');
    assert.equal(await page.getAttribute('#wrap', 'aria-pressed'), 'true');
    await page.keyboard.press('w');
    assert.equal(await page.getAttribute('#wrap', 'aria-pressed'), 'false');

    // ? lists them all; Esc closes the list
    await page.keyboard.press('?');
    await page.waitForSelector('#shortcuts:not([hidden])');
    const keys = await page.$$eval('#shortcut-list th', (cells) => cells.map((cell) => cell.textContent));
    for (const key of ['/', 'Space', 'End', '?', 'j', 'k', 't', 'w', 'Esc']) assert.ok(keys.includes(key), `${key} listed`);
    await screenshot(page, 'shortcuts');
    await page.keyboard.press(' ');
    assert.equal((await dashboard()).paused, false, 'the list takes no other key');
    await page.keyboard.press('Escape');
    assert.ok(await page.isHidden('#shortcuts'));
    await page.click('#show-shortcuts');
    await page.waitForSelector('#shortcuts:not([hidden])');
    await page.click('#shortcuts-close');
    assert.ok(await page.isHidden('#shortcuts'));
    await resetPrefs(page);
    await closePage(null, page, check);
  });

  test('at phone width (390 px) time, level and message stay readable', async () => {
    const uid = newUid();
    const long = `${uid} a message long enough to need the whole width of a phone and then some more words`;
    await backend.publish('bt_narrow_service', 'WARNING', long);
    await backend.publish('bt_narrow_service', 'INFO', `${uid} short`);
    const { page, check } = await openDashboard(`?text=${uid}`);
    await page.setViewportSize({ width: 390, height: 844 });
    await eventually(async () => assert.equal((await shownMessages(page)).length, 2));
    const layout = () => page.$$eval('#log-rows .row:not([hidden])', (rows) => rows.map((row) => {
      const box = (selector) => row.querySelector(selector).getBoundingClientRect();
      const cell = (selector) => row.querySelector(selector);
      return {
        height: row.getBoundingClientRect().height,
        time: cell('.c-time').textContent, timeWhole: cell('.c-time').scrollWidth <= cell('.c-time').clientWidth,
        level: cell('.badge').dataset.short, levelBox: box('.badge'),
        service: cell('.c-service').textContent, serviceWidth: box('.c-service').width,
        messageTop: box('.c-msg').top, timeBottom: box('.c-time').bottom, messageWidth: box('.c-msg').width,
        messageClipped: cell('.c-msg').scrollHeight > cell('.c-msg').clientHeight + 1,
      };
    }));
    await eventually(async () => {
      const rows = await layout();
      assert.equal(rows.length, 2);
      for (const row of rows) {
        assert.equal(row.height, 40, 'two lines a row');
        // with its date when the entries span days (near midnight UTC: a run at 00:00:05 met it)
        assert.match(row.time, /^(\d\d-\d\d )?\d\d:\d\d:\d\d\.\d{3}$/);
        assert.ok(row.timeWhole, 'the time is not cut');
        assert.ok(row.levelBox.width > 20, 'the level is shown');
        assert.equal(row.service, 'Bt Narrow Service');
        assert.ok(row.serviceWidth > 150, 'the service has the rest of the first line');
        assert.ok(row.messageTop >= row.timeBottom - 1, 'the message on its own line');
        assert.ok(row.messageWidth > 340, `the message across the width (${row.messageWidth} px)`);
      }
      assert.deepEqual(rows.map((r) => r.level), ['WARN', 'INFO']);
    });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'nothing wider than the screen');
    assert.ok(await page.isVisible('#filter-text'));
    assert.ok(await page.isVisible('#pause'));
    await screenshot(page, 'narrow');
    // wrapped, the long message shows whole under its time
    await page.click('#wrap');
    await eventually(async () => {
      const rows = await layout();
      assert.ok(rows[0].height > 40, `the long message on more lines (${rows[0].height} px)`);
      assert.equal(rows[1].height, 40);
      for (const row of rows) assert.equal(row.messageClipped, false);
    });
    await page.locator('#log-rows .row:not([hidden]) .c-msg', { hasText: 'short' }).click();
    await page.waitForSelector('#entry-detail:not([hidden])');
    await screenshot(page, 'narrow-detail');
    await resetPrefs(page);
    await closePage(null, page, check);
  });
});
