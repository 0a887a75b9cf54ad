#!/usr/bin/env node
// Where the page's frames go under a flood (a measurement, not a test):
//   node trace.mjs [--rate 20000] [--seconds 6] [--static DIR | --url URL]
// Without --url it starts mock_server.mjs --flood RATE (the page from --static DIR if
// given; with --url the flood is yours to start, e.g. cantina-bench-load publish), lets the page
// take the flood for 2 s, then records a DevTools trace for SECONDS and prints, for the
// page's main thread, the tasks that drew a frame (those that ran animation frame
// callbacks, with whatever else they ran) and the time per frame by kind of work
// (Layout, UpdateLayoutTree = style, FunctionCall = script, Paint, ...), self time in ms.
// Tracing slows the page; compare pages traced in the same sitting only.
import { launchBrowser } from './browser.mjs';
import { startFlood } from './flood.mjs';

const opt = { rate: '20000', seconds: '6', static: '', url: '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in opt) || process.argv[i + 1] === undefined) {
    console.error('usage: node trace.mjs [--rate N] [--seconds S] [--static DIR | --url URL]');
    process.exit(2);
  }
  opt[key] = process.argv[i + 1];
}
const seconds = Number(opt.seconds);
const { url, child: mock } = opt.url ? { url: opt.url, child: null } : await startFlood(opt.rate, opt.static);
const { context, close } = await launchBrowser();
try {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('#connection-state[data-state="live"]');
  await new Promise((r) => setTimeout(r, 2000));
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (d) => events.push(...d.value));
  const complete = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,v8', transferMode: 'ReportEvents' });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await cdp.send('Tracing.end');
  await complete;

  // the page's main thread: the one that fires its animation frames
  const perThread = new Map();
  for (const e of events) {
    if (e.name !== 'FireAnimationFrame') continue;
    const key = `${e.pid}:${e.tid}`;
    perThread.set(key, (perThread.get(key) || 0) + 1);
  }
  const [mainKey] = [...perThread.entries()].sort((a, b) => b[1] - a[1])[0] || [];
  if (!mainKey) throw new Error('no animation frame in the trace');
  const spans = events.filter((e) => `${e.pid}:${e.tid}` === mainKey && e.ph === 'X' && e.dur !== undefined)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const isTask = (e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask';
  const tasks = spans.filter(isTask);
  // self time by name inside the tasks that ran animation frame callbacks
  const self = {};
  let frames = 0;
  let next = 0;
  for (const task of tasks) {
    const end = task.ts + task.dur;
    while (next < spans.length && spans[next].ts < task.ts) next++;
    const inside = [];
    for (let i = next; i < spans.length && spans[i].ts < end; i++) if (!isTask(spans[i])) inside.push(spans[i]);
    if (!inside.some((e) => e.name === 'FireAnimationFrame')) continue;
    frames++;
    const stack = [];
    for (const e of inside) {
      while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
      if (stack.length) self[stack[stack.length - 1].name] -= e.dur;
      self[e.name] = (self[e.name] || 0) + e.dur;
      stack.push(e);
    }
  }
  const busy = tasks.reduce((sum, t) => sum + t.dur, 0) / 1000 / seconds;
  console.log(`${opt.url || opt.static || 'this checkout\'s page'}: ${(frames / seconds).toFixed(1)} frames/s traced, ` +
    `main thread busy ${busy.toFixed(0)} ms/s; ms per frame:`);
  console.log('  ' + Object.entries(self).sort((a, b) => b[1] - a[1]).slice(0, 8)
    .map(([name, us]) => `${name} ${(us / 1000 / Math.max(1, frames)).toFixed(2)}`).join(', '));
} finally {
  await close();
  if (mock) mock.kill();
}
