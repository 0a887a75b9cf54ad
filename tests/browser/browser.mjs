// Launches Debian's chromium (never a downloaded browser) through playwright-core,
// headless, with an empty temporary profile that is removed on close.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CANTINA_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launchBrowser({ viewport = { width: 1280, height: 800 } } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (tools/setup does) or set CANTINA_CHROMIUM`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cantina-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    colorScheme: 'dark',          // the look most screenshots show; the light theme test asks for light
    acceptDownloads: true,
  });
  const close = async () => {
    try { await context.close(); } finally { fs.rmSync(profile, { recursive: true, force: true }); }
  };
  return { context, close };
}
