#!/usr/bin/env node
// How the dashboard holds up under a flood (a measurement, not a test):
//   node bench.mjs [--rate 10000] [--seconds 10] [--url URL] [--query '?regex=1&text=x+1'] [--static DIR]
//                  [--answers FILE]
// Without --url it starts mock_server.mjs --flood RATE (serving the page from --static DIR if
// given, e.g. an older copy of webbridge_node/static to compare in the same sitting).
// Besides the wall-clock figures it reports the page's own main-thread time (Chromium's
// Performance metrics: script, style and layout, all tasks) per second and per entry,
// which another load on the machine changes much less, and the CPU time the page's main
// thread used per entry (Chromium's ThreadTime: not the time it waited for a core on a
// busy machine, so the figure to compare when others share it). Reports frames per second,
// long tasks (> 50 ms), the page's answer time, JS heap, DOM rows and entries shown.
// The answer time is a CDP round trip (evaluate 1) every 100 ms: about 10 a second,
// so one run's p99 is nearly its slowest answer. --answers FILE appends the run's
// answer times (ms, one JSON array a line) to pool several runs' before taking a p99.
import fs from 'node:fs';
import { launchBrowser } from './browser.mjs';
import { startFlood } from './flood.mjs';

const opt = { rate: 10000, seconds: 10, url: '', query: '', static: '', answers: '' };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

let mock = null;
let url = opt.url;
if (!url) ({ url, child: mock } = await startFlood(opt.rate, opt.static));
const { context, close } = await launchBrowser();
try {
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__bench = { frames: 0, long: [], start: 0 };
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__bench.long.push(e.duration); })
      .observe({ type: 'longtask', buffered: true });
    const tick = () => { window.__bench.frames++; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  await page.goto(new URL(opt.query, url).href);
  await page.waitForSelector('#connection-state[data-state="live"]');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const taken = () => page.evaluate(() => window.cantinaDashboard.inMemory + window.cantinaDashboard.discarded);
  const before = await metrics();
  const takenBefore = await taken();
  await page.evaluate(() => { window.__bench.frames = 0; window.__bench.long = []; window.__bench.start = performance.now(); });
  const answer = [];
  const until = Date.now() + Number(opt.seconds) * 1000;
  while (Date.now() < until) {
    const t0 = performance.now();
    await page.evaluate(() => 1);
    answer.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await page.evaluate(() => ({
    seconds: (performance.now() - window.__bench.start) / 1000,
    frames: window.__bench.frames,
    long: window.__bench.long,
    heapMB: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null,
    rows: document.querySelectorAll('#log-rows .row').length,
    nodes: document.getElementsByTagName('*').length,
    shown: window.cantinaDashboard.shown,
    memory: window.cantinaDashboard.inMemory,
    skipped: Number(document.querySelector('[data-stat="page-skipped"]').dataset.value || 0),
  }));
  const after = await metrics();
  const entries = (await taken()) - takenBefore;
  const spent = (name) => (after[name] - before[name]) * 1000;   // ms
  const cpu = {
    script: spent('ScriptDuration'), layout: spent('LayoutDuration') + spent('RecalcStyleDuration'), task: spent('TaskDuration'),
    thread: spent('ThreadTime'),
  };
  if (opt.answers) fs.appendFileSync(opt.answers, JSON.stringify(answer.map((a) => Number(a.toFixed(2)))) + '\n');
  answer.sort((a, b) => a - b);
  // Nearest rank: the smallest answer with at least p of them at or below it.
  const q = (p) => answer[Math.max(0, Math.ceil(p * answer.length) - 1)].toFixed(1);
  console.log(`flood ${opt.rate}/s for ${r.seconds.toFixed(1)} s: ${(r.frames / r.seconds).toFixed(1)} frames/s, ` +
    `${r.long.length} long tasks (max ${r.long.length ? Math.max(...r.long).toFixed(0) : 0} ms), ` +
    `${answer.length} page answers p50 ${q(0.5)} ms p99 ${q(0.99)} ms, heap ${r.heapMB?.toFixed(1)} MB, ` +
    `${r.rows} row elements, ${r.nodes} elements, ${r.shown} shown, ${r.memory} in memory, ${r.skipped} skipped`);
  console.log(`  page main thread: script ${(cpu.script / r.seconds).toFixed(0)} ms/s, style+layout ` +
    `${(cpu.layout / r.seconds).toFixed(0)} ms/s, all tasks ${(cpu.task / r.seconds).toFixed(0)} ms/s; ` +
    `${entries} entries taken, ${(cpu.task * 1000 / Math.max(1, entries)).toFixed(1)} µs of tasks per entry`);
  console.log(`  page main thread CPU time: ${(cpu.thread / r.seconds).toFixed(0)} ms/s, ` +
    `${(cpu.thread * 1000 / Math.max(1, entries)).toFixed(1)} µs per entry`);
} finally {
  await close();
  if (mock) mock.kill();
}
