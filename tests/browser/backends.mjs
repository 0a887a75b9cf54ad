// What the browser tests run against. Every backend has the same shape:
//   url                       the dashboard, e.g. http://127.0.0.1:PORT/
//   kind                      'real' | 'mock' | 'external'
//   publish(service, level, message)          one record, resolved once it is taken
//   publishMany(service, level, messages)     many records (one per line)
//   publishRecord({service, level, message, file, line, function, thread, pid, fields, ...})
//                                             mock only: a record with all it may carry
//   canRestart                whether restartBridge() is possible
//   publishesWhileBridgeDown  whether records can be published while the bridge is down
//   stopBridge(), startBridge()               kill the web bridge, start it on the same port
//   flood({count, rate, service})             records from one publisher at `rate` a second
//                                             (real: cantina-bench-load publish; mock: its
//                                             stand-in, with the logging node's live-view limit)
//   stopLogd(signal), startLogd()             end the logging node, start a new one (a new
//                                             session) while the bus and the bridge stay up
//   stop()                                    end everything this backend started
//
// 'real' (the default) starts cantina-busd, cantina-logd and cantina-webbridge from
// CANTINA_BIN_DIR (default <root>/build/bin) in a temporary directory with a generated
// config (the page from CANTINA_BROWSER_STATIC if set), and publishes with `cantina-cli log`. 'mock' (CANTINA_BROWSER_MOCK=1) starts
// mock_server.mjs instead. 'external' uses a web bridge somebody else runs
// (CANTINA_BROWSER_URL) and publishes with cantina-cli and that bridge's config
// (CANTINA_BROWSER_CONFIG).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
const START_TIMEOUT_MS = 15000;

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// A child process whose output goes to files in dir; waitFor(regex) watches its output.
class Child {
  constructor(name, cmd, args, { dir, env, cwd }) {
    this.name = name;
    this.output = '';
    this.logFile = path.join(dir, `${name}.log`);
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n$ ${cmd} ${args.join(' ')}\n`);
    this.proc = spawn(cmd, args, { cwd: cwd || dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exit = { code, signal }; fs.closeSync(log); resolve(this.exit); });
    });
    this.proc.on('error', (err) => { this.output += `\n[spawn error] ${err.message}\n`; });
    const take = (d) => {
      const text = d.toString();
      this.output += text;
      try { fs.writeSync(log, text); } catch { /* closed */ }
    };
    this.proc.stdout.on('data', take);
    this.proc.stderr.on('data', take);
  }

  async waitFor(regex, what, timeoutMs = START_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(regex);
      if (m) return m;
      if (this.exit) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} after ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(25);
    }
  }

  tail(lines = 25) {
    return this.output.split('\n').slice(-lines).map((l) => `  | ${l}`).join('\n');
  }

  async stop(signal = 'SIGTERM', graceMs = 5000) {
    if (this.exit) return this.exit;
    try { this.proc.kill(signal); } catch { /* gone */ }
    const timer = sleep(graceMs).then(() => 'timeout');
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      try { this.proc.kill('SIGKILL'); } catch { /* gone */ }
      await this.exited;
    }
    return this.exit;
  }
}

function run(cmd, args, { input, timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(cmd)} ${args.slice(0, 6).join(' ')} … exited ${code}: ${out.trim()}`));
    });
    if (input !== undefined) { p.stdin.on('error', () => {}); p.stdin.end(input); }
  });
}

const tomlString = (s) => JSON.stringify(String(s));   // a JSON string is a valid TOML basic string

function makeTempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cantina-browser-'));
}

function cliPublisher(cli, config) {
  return {
    async publish(service, level, message) {
      await run(cli, ['log', '--config', config, '--service', service, '--level', level, '--', message]);
    },
    async publishMany(service, level, messages) {
      await run(cli, ['log', '--config', config, '--service', service, '--level', level, '--pipe'],
        { input: messages.join('\n') + '\n', timeoutMs: 60000 });
    },
  };
}

// ------------------------------------------------------------------------ real
export async function startRealBackend() {
  const bin = path.resolve(process.env.CANTINA_BIN_DIR || path.join(ROOT, 'build', 'bin'));
  for (const exe of ['cantina-busd', 'cantina-logd', 'cantina-webbridge', 'cantina-cli', 'cantina-bench-load']) {
    if (!fs.existsSync(path.join(bin, exe))) {
      throw new Error(`${path.join(bin, exe)} is missing: build first (tools/cantina build) or set CANTINA_BIN_DIR; ` +
        'CANTINA_BROWSER_MOCK=1 runs the tests against the mock server');
    }
  }
  const dir = makeTempDir();
  const children = [];
  const spawnChild = (name, exe, args) => {
    const c = new Child(name, path.join(bin, exe), args, { dir });
    children.push(c);
    return c;
  };
  const stopAll = async () => {
    for (const c of [...children].reverse()) await c.stop();
  };

  try {
    const busConfig = path.join(dir, 'busd.toml');
    fs.writeFileSync(busConfig, `[logging]\nsession_file_path = ${tomlString(path.join(dir, 'logs'))}\n`);
    const busd = spawnChild('busd', 'cantina-busd',
      ['--config', busConfig, '--publish', 'tcp://127.0.0.1:*', '--subscribe', 'tcp://127.0.0.1:*']);
    const pub = (await busd.waitFor(/publish endpoint (\S+)/, 'publish endpoint'))[1];
    const sub = (await busd.waitFor(/subscribe endpoint (\S+)/, 'subscribe endpoint'))[1];

    const writeConfig = (file, listen) => fs.writeFileSync(file, [
      '# generated by tests/browser for one run',
      '[bus]',
      `publish_endpoint = ${tomlString(pub)}`,
      `subscribe_endpoint = ${tomlString(sub)}`,
      '',
      '[logging]',
      'log_level = "DEBUG"',
      `session_file_path = ${tomlString(path.join(dir, 'logs'))}`,
      `query_endpoint = ${tomlString(`ipc://${path.join(dir, 'query.ipc')}`)}`,
      'deduplication_window = 0',
      'max_memory_logs = 1000',
      '',
      '[webbridge]',
      `listen = ${tomlString(listen)}`,
      // another copy of the page, to compare two versions in one sitting
      ...(process.env.CANTINA_BROWSER_STATIC ? [`static_dir = ${tomlString(path.resolve(process.env.CANTINA_BROWSER_STATIC))}`] : []),
      '',
    ].join('\n'));
    const config = path.join(dir, 'cantina.toml');
    writeConfig(config, '127.0.0.1:0');

    const cli = path.join(bin, 'cantina-cli');
    let logd = null;
    let logdStarts = 0;
    const startLogd = async () => {
      logdStarts++;
      logd = spawnChild(`logd${logdStarts > 1 ? logdStarts : ''}`, 'cantina-logd', ['--config', config]);
      await run(cli, ['wait-status', '--config', config, '--service', 'logging_service', '--state', 'RUNNING',
        '--timeout', '15'], { timeoutMs: 20000 });
    };
    await startLogd();
    let floods = 0;

    let bridge = null;
    let port = 0;
    let starts = 0;
    const startBridge = async () => {
      starts++;
      const cfg = port ? path.join(dir, `cantina-restart${starts}.toml`) : config;
      if (port) writeConfig(cfg, `127.0.0.1:${port}`);
      bridge = spawnChild(`webbridge${starts > 1 ? starts : ''}`, 'cantina-webbridge', ['--config', cfg]);
      const m = await bridge.waitFor(/listening on (https?:\/\/[^\s/]+)/, '"listening on" line');
      const url = new URL(m[1]);
      if (port && Number(url.port) !== port) throw new Error(`web bridge restarted on port ${url.port}, not ${port}`);
      port = Number(url.port);
      return `${url.origin}/`;
    };
    const url = await startBridge();

    return {
      kind: 'real',
      url,
      dir,
      canRestart: true,
      publishesWhileBridgeDown: true,
      ...cliPublisher(cli, config),
      async stopBridge(signal = 'SIGKILL') { await bridge.stop(signal); },
      async startBridge() { await startBridge(); },
      async stopLogd(signal = 'SIGTERM') { await logd.stop(signal); },
      startLogd,
      async flood({ count, rate, service = 'bt_flood' }) {
        floods++;
        return run(path.join(bin, 'cantina-bench-load'), ['publish', '--publish', pub, '--publisher', String(floods),
          '--service', service, '--count', String(count), '--rate', String(rate), '--tag', `flood${floods}`],
        { timeoutMs: 120000 });
      },
      logs() { return children.map((c) => `--- ${c.name} (${c.logFile})\n${c.tail()}`).join('\n'); },
      async stop({ keep = false } = {}) {
        await stopAll();
        if (!keep) fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    err.message += `\n(process output kept in ${dir})`;
    throw err;
  }
}

// ------------------------------------------------------------------------ mock
export async function startMockBackend() {
  const dir = makeTempDir();
  const state = path.join(dir, 'mock-state.json');
  let port = 0;
  let server = null;
  let starts = 0;
  const startBridge = async () => {
    starts++;
    server = new Child(`mock${starts}`, process.execPath,
      // a ring larger than the page's first history: links to older entries load them
      [path.join(here, 'mock_server.mjs'), '--port', String(port), '--state', state, '--ring', '5000'], { dir });
    const m = await server.waitFor(/listening on (http:\/\/\S+)/, '"listening on" line');
    port = Number(new URL(m[1]).port);
    return `${m[1]}/`;
  };
  const url = await startBridge();
  const post = async (route, body) => {
    const res = await fetch(new URL(route, url), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (!res.ok) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    kind: 'mock',
    url,
    dir,
    canRestart: true,
    publishesWhileBridgeDown: false,                  // the mock is bus, logging node and bridge in one
    async publish(service, level, message) { await post('/mock/publish', { service, level, message }); },
    // one record with whatever else a record may carry (file, line, function, thread, pid,
    // fields, host, logger, timestamp_ns as digits)
    async publishRecord(record) { await post('/mock/publish', record); },
    async publishMany(service, level, messages) {
      for (let i = 0; i < messages.length; i += 1000) {
        await post('/mock/publish', messages.slice(i, i + 1000).map((message) => ({ service, level, message })));
      }
    },
    async skip(count) { await post('/mock/skip', { count }); },
    async limit(count) { await post('/mock/limit', { count }); },
    async script(steps) { await post('/mock/script', { steps }); },
    // a ServiceStatus {service, state, message, pid, host, repeat} as a service or the supervisor sends it
    async status(status) { await post('/mock/status', status); },
    async flood({ count, rate, service = 'bt_flood' }) { await post('/mock/flood', { count, rate, service }); },
    async stopLogd() {},                                 // the mock's "logging node" restarts at once
    async startLogd() { await post('/mock/restart', {}); },
    async configure(settings) { await post('/mock/config', settings); },
    async stopBridge(signal = 'SIGKILL') { await server.stop(signal); },
    async startBridge() { await startBridge(); },
    logs() { return `--- mock (${server.logFile})\n${server.tail()}`; },
    async stop({ keep = false } = {}) {
      await server.stop();
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// -------------------------------------------------------------------- external
export async function startExternalBackend(url, config) {
  const bin = path.resolve(process.env.CANTINA_BIN_DIR || path.join(ROOT, 'build', 'bin'));
  if (!config) throw new Error('CANTINA_BROWSER_URL needs CANTINA_BROWSER_CONFIG (the config to publish with)');
  return {
    kind: 'external',
    url: new URL('/', url).href,
    canRestart: false,
    publishesWhileBridgeDown: true,
    ...cliPublisher(path.join(bin, 'cantina-cli'), path.resolve(config)),
    logs() { return ''; },
    async stop() {},
  };
}

export function startBackend() {
  if (process.env.CANTINA_BROWSER_URL) {
    return startExternalBackend(process.env.CANTINA_BROWSER_URL, process.env.CANTINA_BROWSER_CONFIG);
  }
  if (['1', 'true', 'yes'].includes((process.env.CANTINA_BROWSER_MOCK || '').toLowerCase())) return startMockBackend();
  return startRealBackend();
}
