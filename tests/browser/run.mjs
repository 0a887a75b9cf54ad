#!/usr/bin/env node
// Runs the dashboard's browser tests in headless Debian chromium.
//
//   node tests/browser/run.mjs            real processes: starts cantina-busd, cantina-logd and
//                                         cantina-webbridge from $CANTINA_BIN_DIR (default
//                                         <root>/build/bin) in a temporary directory, publishes
//                                         with cantina-cli, stops them all at the end
//   node tests/browser/run.mjs --mock     against mock_server.mjs (same as CANTINA_BROWSER_MOCK=1)
//   node tests/browser/run.mjs --url http://127.0.0.1:8080 --config conf/cantina.toml
//                                         against a web bridge that is already running
//                                         (the restart test is skipped)
//   --keep                                keep the temporary directory (process logs, session files)
//   --only REGEX                          run only the tests whose name matches
//
// Installs playwright-core (the only dependency; it never downloads a browser) with npm
// when node_modules is missing. Chromium: /usr/bin/chromium, or $CANTINA_CHROMIUM.
// Runs every *.test.mjs file here, one after the other. Screenshots of the main states go
// to build/browser-artifacts/<real|mock>/ (or $CANTINA_BROWSER_ARTIFACTS), printed at the end.
// Exit status 0 when every test passed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const args = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => {
    if (argv[i + 1] === undefined) { console.error(`run.mjs: ${a} needs a value`); process.exit(2); }
    return argv[++i];
  };
  if (a === '--mock') process.env.CANTINA_BROWSER_MOCK = '1';
  else if (a === '--real') process.env.CANTINA_BROWSER_MOCK = '0';
  else if (a === '--url') process.env.CANTINA_BROWSER_URL = value();
  else if (a === '--config') process.env.CANTINA_BROWSER_CONFIG = value();
  else if (a === '--bin-dir') process.env.CANTINA_BIN_DIR = value();
  else if (a === '--keep') process.env.CANTINA_BROWSER_KEEP = '1';
  else if (a === '--only') args.push(`--test-name-pattern=${value()}`);
  else if (a === '-h' || a === '--help') {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
    process.exit(0);
  } else { console.error(`run.mjs: unknown argument ${a} (try --help)`); process.exit(2); }
}

// playwright-core, installed from the lock file if missing; never a browser download
if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core', 'package.json'))) {
  console.log('# installing playwright-core with npm (tests/browser/node_modules)');
  const lock = fs.existsSync(path.join(here, 'package-lock.json'));
  const r = spawnSync('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: here, stdio: 'inherit', env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
  });
  if (r.status !== 0) { console.error('run.mjs: npm could not install playwright-core'); process.exit(1); }
}

// Each *.test.mjs file in turn (each starts its own backend), node:test in a child
// process so that --test-name-pattern and the exit status work as usual.
const files = fs.readdirSync(here).filter((name) => name.endsWith('.test.mjs')).sort();
let status = 0;
for (const file of files) {
  const r = spawnSync(process.execPath, [...args, '--test-reporter=spec', path.join(here, file)], {
    stdio: 'inherit', env: process.env,
  });
  if (r.status !== 0) status = r.status || 1;
}
const kind = process.env.CANTINA_BROWSER_URL ? 'external'
  : ['1', 'true', 'yes'].includes((process.env.CANTINA_BROWSER_MOCK || '').toLowerCase()) ? 'mock' : 'real';
const artifacts = process.env.CANTINA_BROWSER_ARTIFACTS || path.join(here, '..', '..', 'build', 'browser-artifacts', kind);
if (fs.existsSync(artifacts)) console.log(`# screenshots: ${path.resolve(artifacts)}`);
process.exit(status);
