// What every browser test file shares: the backend and the browser (started once per file
// by describeDashboard), and helpers to open the dashboard, read its rows and wait for them.
// Screenshots go to the artefacts folder (build/browser-artifacts/<backend kind>/ unless
// CANTINA_BROWSER_ARTIFACTS says otherwise), which run.mjs prints at the end.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser } from './browser.mjs';
import { ROOT, startBackend } from './backends.mjs';

const TEST_TIMEOUT = 90000;

// The backend and browser of the running file (set by describeDashboard's before hook).
export const env = { backend: null, browser: null, failed: false };

// A describe() that starts the backend and the browser before its tests and stops them
// after; on a failure it prints the processes' output and keeps their folder.
export function describeDashboard(name, body) {
  describe(name, { timeout: 20 * 60 * 1000 }, () => {
    before(async () => {
      env.backend = await startBackend();
      env.browser = await launchBrowser();
      console.log(`# backend: ${env.backend.kind} at ${env.backend.url}`);
    });
    after(async () => {
      if (env.browser) await env.browser.close();
      const backend = env.backend;
      if (backend) {
        if (env.failed && backend.logs) console.log(`# process output:\n${backend.logs()}`);
        const keep = env.failed || process.env.CANTINA_BROWSER_KEEP === '1';
        await backend.stop({ keep });
        if (keep && backend.dir) console.log(`# kept ${backend.dir}`);
      }
    });
    body();
  });
}

// it() with the suite's timeout, remembering a failure (so the process output is shown).
export function test(name, fn, timeout = TEST_TIMEOUT) {
  return it(name, { timeout }, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      env.failed = true;
      throw err;
    }
  });
}

// The folder screenshots go to, created on first use.
export function artifactsDir() {
  const dir = process.env.CANTINA_BROWSER_ARTIFACTS ||
    path.join(ROOT, 'build', 'browser-artifacts', env.backend ? env.backend.kind : 'unknown');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// A screenshot of the page as it is, as <artefacts>/<name>.png.
export async function screenshot(page, name) {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let uidCounter = 0;
export const newUid = () => `bt${Date.now().toString(36)}${(uidCounter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

// Retries fn until it returns without throwing, or rethrows its last error after timeoutMs.
export async function eventually(fn, timeoutMs = 10000, interval = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(interval);
    }
  }
}

export async function historyMessages() {
  const res = await fetch(new URL('api/logs?limit=1000', env.backend.url), { cache: 'no-store' });
  assert.equal(res.status, 200, '/api/logs answers 200');
  const body = await res.json();
  assert.ok(Array.isArray(body.entries), '/api/logs has an entries array');
  return body.entries.map((e) => e.message);
}

// Waits until the logging node has every message (so "published before the page opened" holds).
export async function waitForHistory(messages) {
  await eventually(async () => {
    const have = await historyMessages();
    for (const m of messages) assert.ok(have.includes(m), `history has ${JSON.stringify(m)}`);
  }, 15000, 100);
}

// Opens the dashboard; records page errors and CSP violations, which every test checks.
export async function openDashboard(query = '') {
  const page = await env.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(new URL(query, env.backend.url).href);
  await page.waitForSelector('#connection-state[data-state="live"]', { timeout: 15000 });
  const check = async () => {
    assert.deepEqual(errors, [], 'no page errors');
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no content-security-policy violations');
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing injected ran');
    // sequence numbers run without holes: nothing was lost between the bus and the page
    assert.equal(await page.getAttribute('#stats-panel [data-stat="page-gaps"]', 'data-value'), '0', 'no sequence gaps');
  };
  return { page, errors, check };
}

// The rows in the DOM (the virtualised list renders the visible ones plus a few), in order.
export function domRows(page) {
  return page.$$eval('#log-rows .row:not([hidden])', (rows) => rows.map((r) => ({
    index: Number(r.getAttribute('aria-rowindex')),
    level: r.dataset.level || null,
    kind: r.dataset.kind,
    service: r.querySelector('.c-service').textContent,
    message: r.querySelector('.c-msg').textContent,
    title: r.querySelector('.c-msg').title,
  })).sort((a, b) => a.index - b.index));
}

export async function domMessagesWith(page, uid) {
  return (await domRows(page)).filter((r) => r.message.includes(uid)).map((r) => r.message);
}

export async function expectDomMessages(page, uid, expected, timeoutMs = 10000) {
  await eventually(async () => assert.deepEqual(await domMessagesWith(page, uid), expected), timeoutMs);
}

export function shownMessages(page) {
  return page.evaluate(() => window.cantinaDashboard.shownMessages());
}

// Publishes in chunks of 500 with a pause between them: about 8,000 entries/s, the
// heavy-but-normal load the dashboard must take without the web bridge skipping any.
export async function publishPaced(service, level, messages) {
  for (let i = 0; i < messages.length; i += 500) {
    await env.backend.publishMany(service, level, messages.slice(i, i + 500));
    await sleep(50);
  }
}

export async function closePage(t, page, check) {
  try {
    await check();
  } finally {
    await page.close();
  }
}
