#!/usr/bin/env node
// A stand-in for cantina-webbridge, for developing the dashboard and for running the
// browser tests without the C++ processes (CANTINA_BROWSER_MOCK=1). Node standard
// library only: the WebSocket handshake and framing are implemented here.
//
// It serves webbridge_node/static exactly like the web bridge (/ = index.html,
// /static/<file>), the same API (/api/logs, /api/stats, /healthz, /ws) and, for tests,
// a few control routes that stand for "publish on the bus":
//   POST /mock/publish  {"service": "...", "level": "...", "message": "..."} (or an array); also
//                       "file", "line", "function", "thread", "pid", "fields" {k: v}, "host",
//                       "logger" and "timestamp_ns" (digits) as a record may carry them
//   POST /mock/status   {"service": "...", "state": "...", "message": "...", "pid": N, "host": "...",
//                       "repeat": false}  a ServiceStatus, sent again every second unless repeat
//                       is false (the supervisor's: cantina-busd, cantina-logd, ...)
//   POST /mock/skip     {"count": N}      sends a "skipped" notice to every client
//   POST /mock/limit    {"count": N}      sends a "limited" notice (the logging node's live-view limit)
//   POST /mock/config   {"history_delay_ms": N, "history_error": "..."}  slow or failing history
//   POST /mock/flood    {"count": N, "rate": R, "max_rate": M, "service": "..."}  INFO records at R
//                       a second, streamed live as the logging node does: at most M a second
//                       (default 10000), the others counted and announced with the entries
//                       before them; answers once all are published
//   POST /mock/restart  a new "logging node": a new session, sequence numbers from 1, an
//                       empty ring; its first entry ("session … started") is not streamed,
//                       as a real node's may not be (it streams once it sees subscribers)
//   POST /mock/script   {"steps": [...]}  sends to every client, in order, one message per step:
//                       {"limited": N} or {"skipped": N} (a notice), or {"entries": [{"service",
//                       "level", "message", "gap": N}]} (one entries message; "gap" writes N
//                       entries first that only the history has, as the page never gets them)
//
//   node mock_server.mjs [--port 0] [--host 127.0.0.1] [--demo RATE] [--flood RATE]
//                        [--state FILE] [--static DIR] [--ring ENTRIES]
// Prints "mock-webbridge: listening on http://HOST:PORT" when ready.
// --state FILE keeps the "logging node" (ring buffer, session, sequence) across restarts,
// the way the real logging node outlives a web bridge restart.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2));
const STATIC_DIR = path.resolve(args.static || path.join(here, '..', '..', 'webbridge_node', 'static'));
const RING = Math.max(1, Number(args.ring) || 1000);   // entries the "logging node" keeps
const CLIENT_QUEUE_BYTES = 4 * 1024 * 1024;    // a client further behind than this gets "skipped"
const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
const NAMES = {
  deepgram_direct_mic: 'Voice Input', gpt_service: 'AI Assistant', elevenlabs_service: 'Speech Synthesis',
  music_controller: 'Music Controller', eye_light_controller: 'Eye Lights', yoda_mode_manager: 'Mode Manager',
  web_bridge: 'Web Bridge', logging_service: 'Logging Service',
};

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else { out[key] = next; i++; }
  }
  return out;
}

const friendly = (id) => NAMES[id] || id.split(/[_\-.]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
// ISO-8601 UTC with microseconds, from nanoseconds since the epoch (a BigInt).
const isoNs = (ns) => new Date(Number(ns / 1000000n)).toISOString().replace('Z', `${String((ns / 1000n) % 1000n).padStart(3, '0')}Z`);
const nowNs = () => BigInt(Date.now()) * 1000000n + BigInt(Math.floor(Math.random() * 1e6));
// JSON as the web bridge writes it: timestamps in nanoseconds (BigInt here) as plain,
// exact numbers, beyond what a JavaScript number holds.
const stringify = (obj) => JSON.stringify(obj, (key, value) => (typeof value === 'bigint' ? `\u0001${value}` : value))
  .replace(/"\\u0001(-?\d+)"/g, '$1');

// An entries message as the web bridge sends it: each entry's timestamp_ns again at
// the end, as a string of its digits.
const entriesMessage = (entries) => ({ type: 'entries', entries, timestamps_ns: entries.map((e) => String(e.timestamp_ns)) });

// ------------------------------------------------------------- "logging node"
const startedAt = Date.now();
let node = loadState() || {
  session_id: new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15),
  sequence: 0,
  ring: [],
  counters: { received: 0, written: 0, deduplicated: 0, filtered: 0, lost: 0, dropped: 0, malformed: 0, not_streamed: 0 },
  since: new Date().toISOString(),
};

function loadState() {
  if (!args.state) return null;
  try {
    const state = JSON.parse(fs.readFileSync(args.state, 'utf8'));
    for (const entry of state.ring) entry.timestamp_ns = BigInt(entry.timestamp_ns);
    return state;
  } catch { return null; }
}
let saveTimer = null;
function saveState(now = false) {
  if (!args.state) return;
  const write = () => { saveTimer = null; fs.writeFileSync(args.state + '.tmp', JSON.stringify(node, (key, value) => (typeof value === 'bigint' ? String(value) : value))); fs.renameSync(args.state + '.tmp', args.state); };
  if (now) { clearTimeout(saveTimer); write(); } else if (!saveTimer) saveTimer = setTimeout(write, 200);
}

// One entry of the "logging node": kept in the ring and, if `live`, queued for every client.
// `details`: what a record may carry besides (file, line, function, thread, pid, fields,
// host, logger; timestamp_ns as a string of digits); the keys it lacks are left out, as
// the web bridge leaves out empty ones.
function publish(serviceId, level, message, kind = 'record', live = true, details = {}) {
  level = String(level || 'INFO').toUpperCase();
  if (!LEVELS.includes(level)) level = 'INFO';
  const ns = /^\d{1,19}$/.test(String(details.timestamp_ns ?? '')) ? BigInt(details.timestamp_ns) : nowNs();
  node.sequence++;
  node.counters.received++;
  node.counters.written++;
  const entry = {
    timestamp: isoNs(ns),
    timestamp_ns: ns,
    level,
    service: friendly(serviceId),
    service_id: serviceId,
    message: String(message),
    session_id: node.session_id,
    entry_id: `${node.session_id}-${node.sequence}`,
    kind,
    repeat_count: 0,
    host: details.host ?? os.hostname(),
    logger: details.logger ?? 'mock',
    sequence: node.sequence,
  };
  for (const key of ['file', 'line', 'function', 'thread', 'pid', 'fields']) {
    if (details[key] !== undefined && details[key] !== '' && details[key] !== 0) entry[key] = details[key];
  }
  node.ring.push(entry);
  if (node.ring.length > RING) node.ring.splice(0, node.ring.length - RING);
  if (live) for (const c of clients) c.enqueue(entry);
  return entry;
}

// The latest status of each publisher, sent again every second (as services, the
// nodes and the supervisor do) unless it was set with repeat false.
const statuses = new Map();
const silent = new Set();
function setStatus(service, state, message, { pid = process.pid, host = os.hostname(), repeat = true } = {}) {
  const now = new Date().toISOString();
  const prev = statuses.get(service);
  const st = {
    service, state, message: message || '', timestamp: now,
    since: prev && prev.state === state ? prev.since : now, pid, host,
  };
  statuses.set(service, st);
  if (repeat) silent.delete(service); else silent.add(service);
  broadcast({ type: 'status', status: st });
}

function stats() {
  return {
    timestamp: new Date().toISOString(), session_id: node.session_id,
    session_file: `/tmp/mock-logs/cantina-session-${node.session_id}.log`,
    ...node.counters, queue_depth: 0, bytes_written: node.counters.written * 90, unwritten: 0,
    repeat_summaries: 0, publishers: 3, uptime_s: (Date.now() - startedAt) / 1000,
  };
}
const bridge = { forwarded: 0, skipped: 0, inbox_dropped: 0, malformed: 0 };
const control = {};              // POST /mock/config: history_delay_ms, history_error

// ----------------------------------------------------------------- websocket
const clients = new Set();

function frame(text) {
  const payload = Buffer.from(text, 'utf8');
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([0x81, n]);
  else if (n < 65536) { head = Buffer.alloc(4); head[0] = 0x81; head[1] = 126; head.writeUInt16BE(n, 2); }
  else { head = Buffer.alloc(10); head[0] = 0x81; head[1] = 127; head.writeBigUInt64BE(BigInt(n), 2); }
  return Buffer.concat([head, payload]);
}

class Client {
  constructor(socket) {
    this.socket = socket;
    this.pending = [];
    this.skipped = 0;
    this.limited = 0;
    this.rest = Buffer.alloc(0);
    socket.on('data', (d) => this.read(d));
    socket.on('close', () => clients.delete(this));
    socket.on('error', () => { clients.delete(this); socket.destroy(); });
  }
  send(obj) {
    if (this.socket.destroyed) return;
    this.socket.write(frame(stringify(obj)));
  }
  enqueue(entry) {
    if (this.socket.writableLength > CLIENT_QUEUE_BYTES) { this.skipped++; bridge.skipped++; return; }
    this.pending.push(entry);
  }
  flush() {
    if (this.skipped) { this.send({ type: 'skipped', count: this.skipped }); this.skipped = 0; }
    if (this.limited) { this.send({ type: 'limited', count: this.limited }); this.limited = 0; }
    if (!this.pending.length) return;
    bridge.forwarded += this.pending.length;
    this.send(entriesMessage(this.pending));
    this.pending = [];
  }
  read(data) {                                     // client frames: only close and ping matter
    let buf = Buffer.concat([this.rest, data]);
    for (;;) {
      if (buf.length < 2) break;
      const op = buf[0] & 0x0f;
      const masked = buf[1] & 0x80;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) break;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[maskOff + (i & 3)];
      buf = buf.subarray(off + len);
      if (op === 0x8) { this.socket.end(Buffer.from([0x88, 0])); clients.delete(this); return; }
      if (op === 0x9) this.socket.write(Buffer.concat([Buffer.from([0x8a, payload.length]), payload]));
    }
    this.rest = buf;
  }
}

function broadcast(obj) {
  for (const c of clients) c.send(obj);
}

setInterval(() => { for (const c of clients) c.flush(); }, 50).unref();
setInterval(() => {
  setStatus('logging_service', 'RUNNING', `session ${node.session_id}`);
  setStatus('web_bridge', 'RUNNING', `listening on ${listenUrl}`);
  for (const st of statuses.values()) {
    if (silent.has(st.service) || st.service === 'logging_service' || st.service === 'web_bridge') continue;
    broadcast({ type: 'status', status: { ...st, timestamp: new Date().toISOString() } });
  }
  broadcast({ type: 'stats', stats: stats() });
}, 1000).unref();

// ---------------------------------------------------------------------- http
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

function json(res, code, obj) {
  const body = stringify(obj);
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function serveFile(res, file) {
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found\n'); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(data);
  });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null')); } catch (e) { reject(e); } });
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  try {
    if (req.method === 'GET' && p === '/') return serveFile(res, path.join(STATIC_DIR, 'index.html'));
    if (req.method === 'GET' && p.startsWith('/static/')) {
      const name = decodeURIComponent(p.slice('/static/'.length));
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) return json(res, 404, { error: 'not found' });
      return serveFile(res, path.join(STATIC_DIR, name));
    }
    if (req.method === 'GET' && p === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && p === '/api/logs') {
      const limit = Math.max(1, Math.min(RING, Number(url.searchParams.get('limit')) || RING));
      const rank = LEVELS.indexOf((url.searchParams.get('level') || 'DEBUG').toUpperCase());
      const svc = url.searchParams.getAll('service');
      const text = url.searchParams.get('text') || '';
      const delay = Number(control.history_delay_ms ?? args['history-delay'] ?? 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      let list = node.ring.filter((e) => LEVELS.indexOf(e.level) >= rank &&
        (!svc.length || svc.includes(e.service_id) || svc.includes(e.service)) && (!text || e.message.includes(text)));
      list = list.slice(-limit);
      const error = String(control.history_error ?? args['history-error'] ?? '');
      return json(res, 200, { entries: error ? [] : list, session_id: node.session_id, error });
    }
    if (req.method === 'GET' && p === '/api/stats') {
      return json(res, 200, { logging: stats(), webbridge: { clients: clients.size, ...bridge }, service_names: NAMES,
        services: [...statuses.values()] });
    }
    if (req.method === 'POST' && p === '/mock/publish') {
      const body = await readBody(req);
      const list = Array.isArray(body) ? body : [body];
      const out = list.map((r) => publish(r.service || 'mock_service', r.level, r.message ?? '', r.kind || 'record', true, r));
      saveState(true);
      return json(res, 200, { published: out.length, last_sequence: node.sequence });
    }
    if (req.method === 'POST' && p === '/mock/status') {
      const b = await readBody(req);
      setStatus(b.service, b.state, b.message, { pid: b.pid ?? process.pid, host: b.host ?? os.hostname(), repeat: b.repeat !== false });
      return json(res, 200, { ok: true });
    }
    if (req.method === 'POST' && p === '/mock/config') {
      Object.assign(control, await readBody(req));
      return json(res, 200, control);
    }
    if (req.method === 'POST' && p === '/mock/flood') {
      const b = await readBody(req);
      await flood(Number(b.count) || 1000, Number(b.rate) || 10000, Number(b.max_rate ?? 10000), b.service || 'bt_flood');
      saveState(true);
      return json(res, 200, { ok: true, last_sequence: node.sequence });
    }
    if (req.method === 'POST' && p === '/mock/restart') {
      for (const c of clients) c.flush();
      restarts++;
      node.session_id = `${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-r${restarts}`;
      node.sequence = 0;
      node.ring = [];
      publish('logging_service', 'INFO', `session ${node.session_id} started: /tmp/mock-logs/cantina-session-${node.session_id}.log`, 'node', false);
      broadcast({ type: 'stats', stats: stats() });
      saveState(true);
      return json(res, 200, { session_id: node.session_id });
    }
    if (req.method === 'POST' && p === '/mock/script') {
      const b = await readBody(req);
      for (const c of clients) c.flush();
      for (const step of b.steps || []) {
        if (step.limited) broadcast({ type: 'limited', count: Number(step.limited) });
        else if (step.skipped) broadcast({ type: 'skipped', count: Number(step.skipped) });
        else if (Array.isArray(step.entries)) {
          const entries = step.entries.map((r) => {
            // the entries of the gap are written (in the history) but never sent
            for (let i = 0; i < (Number(r.gap) || 0); i++) publish(r.service || 'mock_service', r.level, `${r.message ?? ''} (not sent ${i + 1})`, 'record', false);
            return publish(r.service || 'mock_service', r.level, r.message ?? '', r.kind || 'record', false);
          });
          broadcast(entriesMessage(entries));
        }
      }
      saveState(true);
      return json(res, 200, { ok: true, last_sequence: node.sequence });
    }
    if (req.method === 'POST' && p === '/mock/limit') {
      const b = await readBody(req);
      for (const c of clients) c.send({ type: 'limited', count: Number(b.count) || 1 });
      return json(res, 200, { ok: true });
    }
    if (req.method === 'POST' && p === '/mock/skip') {
      const b = await readBody(req);
      for (const c of clients) { c.skipped += Number(b.count) || 1; bridge.skipped += Number(b.count) || 1; }
      return json(res, 200, { ok: true });
    }
    return json(res, 404, { error: 'not found' });
  } catch (err) {
    return json(res, 400, { error: String(err) });
  }
});

server.on('upgrade', (req, socket) => {
  const url = new URL(req.url, 'http://x');
  const key = req.headers['sec-websocket-key'];
  if (url.pathname !== '/ws' || !key || (req.headers.upgrade || '').toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    return;
  }
  const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  const c = new Client(socket);
  clients.add(c);
  c.send({ type: 'hello', session_id: node.session_id, server_time: new Date().toISOString() });
  for (const st of statuses.values()) c.send({ type: 'status', status: st });
});

// ---------------------------------------------------------------------- demo
const DEMO = [
  ['deepgram_direct_mic', 'INFO', () => `transcript final: "${pick(['play some cantina music', 'what is the weather on Tatooine', 'turn your eyes blue', 'tell me a joke', 'hello there'])}" (confidence 0.${rnd(80, 99)})`],
  ['deepgram_direct_mic', 'DEBUG', () => `audio chunk ${rnd(1000, 9999)} bytes, rms ${rnd(200, 900)}`],
  ['gpt_service', 'INFO', () => `completion in ${rnd(300, 2400)} ms, ${rnd(20, 400)} tokens`],
  ['gpt_service', 'DEBUG', () => `tool call: set_eye_color {"color":"${pick(['blue', 'green', 'amber'])}","pattern":"pulse"}`],
  ['elevenlabs_service', 'INFO', () => `speech synthesised: ${rnd(1, 9)}.${rnd(0, 9)} s of audio, voice "droid-7"`],
  ['music_controller', 'INFO', () => `now playing: ${pick(['Cantina Band', 'Mad About Me', 'Jedi Rocks', 'Lapti Nek'])} (vol ${rnd(30, 80)}%)`],
  ['music_controller', 'DEBUG', () => `ducking volume to ${rnd(10, 30)}% while speaking`],
  ['eye_light_controller', 'DEBUG', () => `frame sent to arduino: pattern=${pick(['idle', 'listen', 'think', 'speak'])} brightness=${rnd(20, 100)}`],
  ['eye_light_controller', 'WARNING', () => `serial write took ${rnd(40, 120)} ms (budget 33 ms)`],
  ['yoda_mode_manager', 'INFO', () => `mode transition ${pick(['IDLE → AMBIENT', 'AMBIENT → INTERACTIVE', 'INTERACTIVE → AMBIENT'])}`],
  ['gpt_service', 'ERROR', () => `request failed: HTTP 429 rate limited, retrying in ${rnd(1, 8)} s`],
  ['music_controller', 'WARNING', () => `track file missing: /music/${pick(['cantina', 'jedi'])}_${rnd(1, 9)}.mp3, skipping`],
  ['deepgram_direct_mic', 'INFO', () => 'websocket to speech service re-established after 2 attempts; buffered 1.4 s of audio was replayed and the transcript stream resumed from the last final result without loss, latency back to normal'],
];
function rnd(a, b) { return a + Math.floor(Math.random() * (b - a + 1)); }
function pick(list) { return list[Math.floor(Math.random() * list.length)]; }
// The demo's droid services all run in one process (as cantina-demo does), pid DEMO_PID.
const DEMO_PID = 4242;
const DEMO_SOURCES = {
  deepgram_direct_mic: ['voice/deepgram_direct_mic.py', 'on_transcript', 'deepgram-ws'],
  gpt_service: ['brain/gpt_service.py', 'complete', 'MainThread'],
  elevenlabs_service: ['voice/elevenlabs_service.py', 'speak', 'tts-worker'],
  music_controller: ['music/controller.py', 'play_track', 'audio-1'],
  eye_light_controller: ['eyes/controller.cpp', 'send_frame', 'serial'],
  yoda_mode_manager: ['modes/manager.py', 'transition', 'MainThread'],
};
function demoDetails(service) {
  const [file, fn, thread] = DEMO_SOURCES[service] || ['demo.py', 'main', 'MainThread'];
  return { file, line: rnd(20, 400), function: fn, thread, pid: DEMO_PID, logger: service.replace(/_/g, '.'),
    fields: Math.random() < 0.3 ? { request_id: `r-${rnd(1000, 9999)}`, attempt: String(rnd(1, 3)) } : undefined };
}
function demoOne() {
  if (Math.random() < 0.004) return publish('eye_light_controller', 'CRITICAL', 'LED driver over temperature (78 °C): eyes switched off to protect the hardware', 'record', true, demoDetails('eye_light_controller'));
  const [s, l, m] = pick(DEMO);
  return publish(s, l, m(), 'record', true, demoDetails(s));
}

let listenUrl = '';
const port = Number(args.port || 0);
server.listen(port, args.host || '127.0.0.1', () => {
  const a = server.address();
  listenUrl = `http://${a.address}:${a.port}`;
  console.log(`mock-webbridge: listening on ${listenUrl}`);
  setStatus('logging_service', 'RUNNING', `session ${node.session_id}`);
  setStatus('web_bridge', 'RUNNING', `listening on ${listenUrl}`);
  if (args.demo) {
    // what `tools/cantina up` reports of the processes it runs, then what services say themselves
    setStatus('cantina-busd', 'RUNNING', 'started (pid 101)', { pid: 101 });
    setStatus('cantina-logd', 'RUNNING', `started (pid ${process.pid})`);
    setStatus('cantina-webbridge', 'RUNNING', `started (pid ${process.pid})`);
    setStatus('demo', 'RUNNING', `started (pid ${DEMO_PID})`, { pid: DEMO_PID });
    setStatus('music_controller', 'RUNNING', 'library: 42 tracks', { pid: DEMO_PID });
    setStatus('eye_light_controller', 'ERROR', 'serial /dev/ttyACM0: write timeout', { pid: DEMO_PID });
    setStatus('elevenlabs_service', 'STARTING', 'warming up voice cache', { pid: DEMO_PID });
    if (!node.ring.length) {
      publish('logging_service', 'INFO', `session ${node.session_id} started: /tmp/mock-logs/cantina-session-${node.session_id}.log (log level DEBUG)`, 'node');
      for (let i = 0; i < 120; i++) demoOne();
      publish('gpt_service', 'INFO', 'request timed out (repeated 12 times between 17:44:12.031 and 17:44:41.870)', 'repeat_summary');
      publish('logging_service', 'WARNING', '37 entries lost from music_controller (sequence gap 1204 → 1241)', 'loss');
      publish('eye_light_controller', 'CRITICAL', 'LED driver over temperature (78 °C): eyes switched off to protect the hardware');
      for (let i = 0; i < 10; i++) demoOne();
    }
    const rate = Number(args.demo) || 5;
    setInterval(() => demoOne(), Math.max(1, 1000 / rate)).unref();
  }
  if (args.flood) {
    const rate = Number(args.flood);
    let n = 0;
    setInterval(() => {                              // every 10 ms, rate/100 entries
      for (let i = 0; i < rate / 100; i++) {
        n++;
        publish(pick(Object.keys(NAMES)), LEVELS[n % 5 === 0 ? 3 : n % 3], `flood entry ${n}: ${'x'.repeat(n % 80)}`);
      }
    }, 10).unref();
  }
});

// Records at `rate` a second, in 10 ms ticks; the "logging node" streams at most `maxRate`
// a second (a token bucket of a second's worth, 0 = no limit) and announces the others
// with the entries of their tick, before which it queues them, as the real one does.
let floods = 0;
let restarts = 0;
function flood(count, rate, maxRate, service) {
  floods++;
  let sent = 0;
  let budget = maxRate;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (maxRate > 0) budget = Math.min(maxRate, budget + maxRate / 100);
      const n = Math.min(count - sent, Math.max(1, Math.round(rate / 100)));
      let notStreamed = 0;
      for (let i = 0; i < n; i++) {
        sent++;
        const live = maxRate === 0 || budget >= 1;
        if (live && maxRate > 0) budget--;
        if (!live) { notStreamed++; node.counters.not_streamed++; }
        publish(service, 'INFO', `bench flood${floods} p1 s${sent} ${'x'.repeat(60)}`, 'record', live);
      }
      for (const c of clients) c.limited += notStreamed;
      if (sent >= count) { clearInterval(timer); resolve(); }
    }, 10);
  });
}

function shutdown() {
  saveState(true);
  for (const c of clients) c.socket.destroy();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
