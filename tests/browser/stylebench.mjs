#!/usr/bin/env node
// What a stylesheet costs the live table's refills (a measurement, not a test):
//   node stylebench.mjs [--blocks 30] SHEET.css [SHEET.css ...]
// One page (this checkout's), the mock server's flood for 1.5 s, then the server stopped.
// Each sheet is loaded beside the page's own, which is switched off; then, in blocks that
// take the sheets in turn (so that the machine's noise falls on all of them alike), every
// row in sight is refilled 20 times as a flood refills it (services, levels and message
// lengths varying) and the style and then the layout of the rows are forced and timed.
// Prints each sheet's median µs a pass and its ratio to the first sheet's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';
import { startFlood } from './flood.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let blocks = 30;
if (args[0] === '--blocks') { blocks = Number(args[1]); args.splice(0, 2); }
if (!args.length || !(blocks > 0)) {
  console.error('usage: node stylebench.mjs [--blocks N] SHEET.css [SHEET.css ...]');
  process.exit(2);
}
// the page from a copy of webbridge_node/static with the sheets beside it
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cantina-stylebench-'));
fs.cpSync(path.join(here, '..', '..', 'webbridge_node', 'static'), dir, { recursive: true });
const hrefs = args.map((file, i) => { fs.copyFileSync(file, path.join(dir, `sheet${i}.css`)); return `static/sheet${i}.css`; });

const { url, child: mock } = await startFlood(20000, dir);
const { context, close } = await launchBrowser();
try {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('#connection-state[data-state="live"]');
  await new Promise((r) => setTimeout(r, 1500));
  await page.evaluate(async (list) => {
    window.benchSheets = list.map((href) => {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href;
      document.head.appendChild(link);
      return link;
    });
    await Promise.all(window.benchSheets.map((link) => new Promise((r) => { link.onload = r; })));
  }, hrefs);
  mock.kill('SIGSTOP');                                  // no more entries: the rows stay ours
  await new Promise((r) => setTimeout(r, 300));
  const result = await page.evaluate((count) => {
    document.querySelector('link[href="static/style.css"]').sheet.disabled = true;
    const links = window.benchSheets;
    const rows = [...document.querySelectorAll('#log-rows .row:not([hidden])')];
    const levels = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'INFO', 'CRITICAL', 'INFO'];
    const box = document.getElementById('log-rows');
    const out = links.map(() => ({ style: [], layout: [] }));
    let pass = 0;
    const refill = () => {
      rows.forEach((row, k) => {
        const j = pass * 7 + k;
        row.dataset.level = levels[j % 7];
        row.children[0].textContent = '13:49:01.' + String(j % 1000).padStart(3, '0');
        row.children[1].firstChild.textContent = levels[j % 7];
        row.children[2].className = 'c-service hue-' + (j % 36);
        row.children[2].textContent = 'service ' + (j % 36);
        row.children[3].textContent = `flood entry ${j}: ${'x'.repeat(j % 80)}`;
      });
      pass++;
      const t0 = performance.now();
      for (const row of rows) void getComputedStyle(row.children[3]).color;
      const t1 = performance.now();
      void box.offsetHeight, rows[rows.length - 1].children[3].offsetWidth;
      return [t1 - t0, performance.now() - t1];
    };
    for (let b = 0; b < count; b++) {
      for (let s = 0; s < links.length; s++) {
        links.forEach((link, i) => { link.sheet.disabled = i !== s; });
        refill(); refill();                              // the switch's own restyle, not timed
        let style = 0;
        let layout = 0;
        for (let i = 0; i < 20; i++) { const [a, c] = refill(); style += a; layout += c; }
        out[s].style.push(style * 1000 / 20);
        out[s].layout.push(layout * 1000 / 20);
      }
    }
    return { out, rows: rows.length };
  }, blocks);
  const median = (list) => [...list].sort((x, y) => x - y)[list.length >> 1];
  const first = median(result.out[0].style);
  console.log(`${result.rows} rows, ${blocks} blocks of 20 refills a sheet; µs a pass (medians):`);
  args.forEach((file, s) => {
    const style = median(result.out[s].style);
    console.log(`  ${file}: style ${style.toFixed(0)} (${(style / first).toFixed(2)} of the first), layout ${median(result.out[s].layout).toFixed(0)}`);
  });
} finally {
  await close();
  mock.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
