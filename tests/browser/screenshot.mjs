#!/usr/bin/env node
// Screenshots of the dashboard, for looking at it:
//   node screenshot.mjs URL [OUT_DIR]      (default OUT_DIR: /tmp/cantina-shots)
// Writes wide.png (1280x800), narrow.png (400x820) and detail.png (a row expanded).
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from './browser.mjs';

const url = process.argv[2];
const out = process.argv[3] || '/tmp/cantina-shots';
if (!url) { console.error('usage: node screenshot.mjs URL [OUT_DIR]'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });

const { context, close } = await launchBrowser();
try {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.error('console:', m.text()); });
  await page.goto(url);
  await page.waitForSelector('#connection-state[data-state="live"]', { timeout: 10000 });
  await page.waitForTimeout(Number(process.env.SHOT_WAIT || 1500));
  await page.screenshot({ path: path.join(out, 'wide.png') });
  await page.locator('#log-rows .row[data-level="CRITICAL"]').last().click().catch(() => {});
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(out, 'detail.png') });
  await page.setViewportSize({ width: 400, height: 820 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(out, 'narrow.png') });
  console.log(`screenshots in ${out}`);
} finally {
  await close();
}
