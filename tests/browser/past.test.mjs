// Browser test of the dashboard's past (issue 15, item 4): the sessions the logging node
// wrote, listed from the web bridge's /api/sessions; one session a page at a time with
// the level, service and text filters applied on the server; "jump to time"; a search
// across every session whose results link into their session, a link that can be shared.
// Needs the real processes (two sessions: the logging node is restarted); skipped
// against the mock.
import assert from 'node:assert/strict';
import { before } from 'node:test';
import {
  closePage, describeDashboard, env, eventually, newUid, openDashboard, screenshot, sleep, test,
} from './harness.mjs';

let backend;

async function getJson(route) {
  const res = await fetch(new URL(route, backend.url), { cache: 'no-store' });
  assert.equal(res.status, 200, `${route} answers 200`);
  return res.json();
}

// The messages of one session's file that contain `uid`, through the API.
async function fileMessages(session, uid) {
  const body = await getJson(`api/sessions/${session}/entries?limit=1000&q=${encodeURIComponent(uid)}`);
  return body.entries.map((e) => e.message);
}

async function waitInFile(session, uid, messages) {
  await eventually(async () => {
    const have = await fileMessages(session, uid);
    for (const m of messages) assert.ok(have.includes(m), `session ${session} has ${JSON.stringify(m)} in its file`);
  }, 15000, 100);
}

// The rows the past view shows: their level, message, session and cursor.
function pastRows(page) {
  return page.$$eval('#past-rows .row', (rows) => rows.map((r) => ({
    level: r.dataset.level || null,
    session: r.dataset.session,
    cursor: r.dataset.cursor,
    message: r.querySelector('.c-msg').textContent,
    linked: r.classList.contains('linked'),
    href: r.querySelector('a.past-link') ? r.querySelector('a.past-link').getAttribute('href') : null,
  })));
}

async function pastMessages(page, uid) {
  return (await pastRows(page)).filter((r) => r.message.includes(uid)).map((r) => r.message);
}

async function shoot(page, name) {
  for (const scheme of ['dark', 'light']) {
    await page.emulateMedia({ colorScheme: scheme });
    await sleep(100);
    await screenshot(page, `${name}-${scheme}`);
  }
  await page.emulateMedia({ colorScheme: 'dark' });
}

describeDashboard('dashboard past', () => {
  before(() => { ({ backend } = env); });

  test('the past: sessions, a session paged and filtered on the server, jump to time, search and its links',
    async (t) => {
      if (backend.kind !== 'real') { t.skip('needs the real logging node and its session files'); return; }
      const uid = newUid();
      const stats = async () => getJson('api/stats');
      const first = await eventually(async () => {
        const id = (await stats()).logging.session_id;
        assert.match(id, /^\d{8}-\d{6}/);
        return id;
      });
      const alpha = {
        info: `${uid} alpha info`, warning: `${uid} alpha warning`, needle: `${uid} alpha needle`,
      };
      await backend.publish('bt_past', 'INFO', alpha.info);
      await backend.publish('bt_past', 'WARNING', alpha.warning);
      await backend.publish('bt_other', 'ERROR', alpha.needle);
      await waitInFile(first, uid, Object.values(alpha));

      await backend.stopLogd('SIGTERM');
      await backend.startLogd();
      const second = await eventually(async () => {
        const id = (await stats()).logging.session_id;
        assert.notEqual(id, first, 'the logging node runs a new session');
        return id;
      }, 20000, 100);
      const beta = { early: `${uid} beta early info`, late: `${uid} beta late warning`, needle: `${uid} beta needle` };
      await backend.publish('bt_past', 'INFO', beta.early);
      await waitInFile(second, uid, [beta.early]);
      await sleep(1100);
      const between = new Date().toISOString();
      await sleep(1100);
      await backend.publish('bt_past', 'WARNING', beta.late);
      await backend.publish('bt_other', 'ERROR', beta.needle);
      await waitInFile(second, uid, Object.values(beta));

      const { page, check } = await openDashboard();
      const asked = [];
      page.on('request', (r) => { if (/\/api\/(sessions|search)/.test(r.url())) asked.push(new URL(r.url())); });
      try {
        await page.setViewportSize({ width: 1280, height: 800 });
        // the list: both sessions, newest first, the running one live, its lines per level
        await page.click('#past-toggle');
        await eventually(async () => assert.deepEqual(
          await page.$$eval('#past-sessions .past-session', (rows) => rows.map((r) => [r.dataset.session, r.dataset.live])),
          [[second, '1'], [first, '0']]));
        assert.match(page.url(), /#view=past$/, 'the URL names the past view');
        const listed = (await getJson('api/sessions')).sessions;
        for (const session of listed) {
          const row = page.locator(`#past-sessions .past-session[data-session="${session.id}"]`);
          for (const level of ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']) {
            assert.equal(await row.locator(`.chip[data-level="${level}"] .count`).textContent(),
              String(session.levels[level]), `${session.id}: ${level} lines as the session file has them`);
          }
          assert.equal(await row.locator('.p-lines').textContent(), String(session.lines));
        }
        assert.ok(Number(await page.textContent(`.past-session[data-session="${first}"] .chip[data-level="ERROR"] .count`)) >= 1);
        assert.match(await page.textContent(`.past-session[data-session="${first}"] .p-end`), /\d\d:\d\d:\d\d/);
        assert.equal(await page.textContent(`.past-session[data-session="${second}"] .p-end`), 'still writing');
        await shoot(page, 'past-list');

        // one session, its entries in order, then filtered by level on the server
        await page.click(`.past-session[data-session="${first}"] .p-id a`);
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), [alpha.info, alpha.warning, alpha.needle]));
        assert.ok((await pastRows(page)).every((r) => r.session === first));
        await shoot(page, 'past-session');
        await page.selectOption('#past-level', 'WARNING');
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), [alpha.warning, alpha.needle]));
        const levels = (await pastRows(page)).map((r) => r.level);
        assert.ok(levels.length && levels.every((l) => ['WARNING', 'ERROR', 'CRITICAL'].includes(l)), `levels ${levels}`);
        assert.match(page.url(), /level=WARNING/, 'the level filter is in the URL');
        // service and text, on the server too
        await page.fill('#past-service', 'bt_other');
        await page.press('#past-service', 'Enter');
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), [alpha.needle]));
        await page.fill('#past-service', '');
        await page.selectOption('#past-level', 'DEBUG');
        await page.fill('#past-text', `${uid} ALPHA W`);
        await page.press('#past-text', 'Enter');
        await eventually(async () => assert.deepEqual(await pastRows(page).then((rows) => rows.map((r) => r.message)),
          [alpha.warning]), 10000);
        await page.fill('#past-text', '');
        await page.press('#past-text', 'Enter');

        // back to the list (Esc), the other session, jump to a time inside it
        await page.locator('#past-scroll').focus();
        await page.keyboard.press('Escape');
        await page.waitForSelector('#past-sessions-pane:not([hidden])');
        await page.click(`.past-session[data-session="${second}"] .p-id a`);
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), Object.values(beta)));
        await page.fill('#past-time', between);
        await page.click('#past-jump');
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), [beta.late, beta.needle]));
        const times = await page.$$eval('#past-rows .row', (rows) => rows.map((r) => r.querySelector('.c-time').title));
        assert.ok(times.every((time) => time >= between.replace(/\.\d+Z$/, '')), `every row at or after ${between}`);
        assert.match(page.url(), /since=/, 'the time is in the URL');
        // earlier: the page before the jump, from the server
        await page.click('#past-earlier');
        await eventually(async () => assert.ok((await pastMessages(page, uid)).includes(beta.early)));

        // a search across every session: newest first, each result linking into its session
        await page.fill('#past-search', `${uid} \\w+ needle`);
        await page.press('#past-search', 'Enter');
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), [beta.needle, alpha.needle]));
        const results = await pastRows(page);
        assert.deepEqual(results.map((r) => r.session), [second, first]);
        await shoot(page, 'past-search');
        await page.click(`#past-rows .row[data-session="${first}"] a.past-link`);
        await eventually(async () => {
          const linked = (await pastRows(page)).filter((r) => r.linked);
          assert.deepEqual(linked.map((r) => r.message), [alpha.needle], 'the result is highlighted in its session');
        });
        assert.equal(await page.textContent('#past-title'), `session ${first}`);
        const link = page.url();
        // t: local time, the same page shown again without asking the server
        const before = asked.length;
        await page.keyboard.press('t');
        await eventually(async () => assert.equal(await page.textContent('#past-zone'), 'local'));
        assert.equal(asked.length, before, 'the page in memory, not fetched again');
        assert.ok((await pastRows(page)).some((r) => r.linked), 'still at the linked entry');
        await page.keyboard.press('t');
        await eventually(async () => assert.equal(await page.textContent('#past-zone'), 'UTC'));
        // Back: the search again; Forward: the result's session
        await page.goBack();
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), [beta.needle, alpha.needle]));
        assert.match(await page.textContent('#past-title'), /^search: /);
        await page.goForward();
        await eventually(async () => assert.equal(await page.textContent('#past-title'), `session ${first}`));
        assert.match(link, new RegExp(`session=${first}.*at=`));

        // the link, shared: a new page opens the session at that entry
        const other = await openDashboard(link.slice(link.indexOf('?') >= 0 ? link.indexOf('?') : link.indexOf('#')));
        try {
          await eventually(async () => {
            const linked = (await pastRows(other.page)).filter((r) => r.linked);
            assert.deepEqual(linked.map((r) => r.message), [alpha.needle]);
          });
          assert.ok(await other.page.isVisible('#past-view'), 'the past view is open');
          assert.ok(!(await other.page.isVisible('#log-table')), 'the live table is not shown');
        } finally {
          await closePage(t, other.page, other.check);
        }

        // errors say what is wrong
        await page.fill('#past-search', '(unclosed');
        await page.press('#past-search', 'Enter');
        await eventually(async () => assert.match(await page.textContent('#past-error'), /400.*regular expression/));
        assert.ok(await page.isVisible('#past-error'));
        await shoot(page, 'past-error');

        // phone width
        await page.setViewportSize({ width: 400, height: 820 });
        await page.goto(link);
        await eventually(async () => assert.ok((await pastRows(page)).some((r) => r.linked)));
        await shoot(page, 'past-narrow-session');
        await page.click('#past-back');
        await page.waitForSelector(`.past-session[data-session="${first}"]`);
        await shoot(page, 'past-narrow-list');
        await page.fill('#past-search', `${uid} \\w+ needle`);
        await page.click('#past-search-go');
        await eventually(async () => assert.deepEqual(await pastMessages(page, uid), [beta.needle, alpha.needle]));
        const narrow = await page.$$eval('#past-rows .row', (rows) => rows.map((r) => {
          const cell = r.querySelector('.c-session');
          return { session: cell.textContent, visible: cell.getBoundingClientRect().width > 100 };
        }));
        assert.deepEqual(narrow, [{ session: second, visible: true }, { session: first, visible: true }],
          'each result says its session at phone width too');
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 400), 'nothing wider than the screen');
        await shoot(page, 'past-narrow-search');
        await page.click('#past-back');
        await page.waitForSelector(`.past-session[data-session="${first}"]`);

        // every request for the past asked for a bounded page
        assert.ok(asked.length >= 10, `${asked.length} requests`);
        for (const url of asked) {
          const limit = Number(url.searchParams.get('limit'));
          assert.ok(limit >= 1 && limit <= 200, `${url.pathname}${url.search} asks for a bounded page`);
        }

        // p: back to live
        await page.locator('#past-sessions-table').click();
        await page.keyboard.press('p');
        await page.waitForSelector('#log-table', { state: 'visible' });
        assert.ok(!(await page.isVisible('#past-view')));
        assert.equal(await page.getAttribute('#live-tab', 'aria-pressed'), 'true');
        await shoot(page, 'past-narrow-back-to-live');
      } finally {
        await page.evaluate(() => localStorage.removeItem('cantina.dashboard.prefs'));
        await page.setViewportSize({ width: 1280, height: 800 });
        await closePage(t, page, check);
      }
    }, 120000);

  test('an entry the web bridge sent cut says so, and a refused request says why', async () => {
    const { page, check } = await openDashboard();
    try {
      const session = '20261206-101500';
      await page.route('**/api/sessions/*/entries*', (route) => route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          session: { id: session, live: false },
          order: 'asc',
          entries: [
            { session_id: session, cursor: '1:0', timestamp: '2026-12-06T10:15:00.000000Z', level: 'INFO',
              service: 'bt_cut', message: 'a whole entry', entry_id: `${session}-1`, sequence: 1 },
            { session_id: session, cursor: '1:120', truncated: true, line_bytes: 300000, raw: 'x'.repeat(100) },
          ],
          next: null, prev: null, stopped: null, scanned_bytes: 300200,
        }),
      }));
      await page.goto(new URL(`#view=past&session=${session}`, env.backend.url).href);
      await eventually(async () => assert.equal(await page.locator('#past-rows .row').count(), 2));
      const cut = page.locator('#past-rows .row[data-kind="truncated"]');
      assert.match(await cut.locator('.c-msg').textContent(), /^entry cut: 300000 bytes in the session file/);
      assert.equal(await cut.locator('.badge').textContent(), 'CUT');
      assert.match(await page.textContent('#past-page-info'), /1 cut/);
      await screenshot(page, 'past-truncated-dark');

      await page.unroute('**/api/sessions/*/entries*');
      await page.route('**/api/sessions/*/entries*', (route) => route.fulfill({
        status: 503, contentType: 'application/json',
        body: JSON.stringify({ error: 'busy: at most 4 session requests at once; try again' }),
      }));
      await page.click('#past-jump');
      await eventually(async () => assert.equal(await page.textContent('#past-error'),
        `could not read session ${session}: 503: busy: at most 4 session requests at once; try again`));
      assert.equal(await page.locator('#past-rows .row').count(), 0, 'no rows left from before');
      assert.ok(await page.isDisabled('#past-later'));
    } finally {
      await closePage(undefined, page, check);
    }
  });
});
