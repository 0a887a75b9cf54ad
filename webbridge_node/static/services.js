// What the services panel shows: one card per service, built from every ServiceStatus
// the bus carries and the entries the page has seen.
//
// Statuses come from two kinds of publishers on the same topics (/service/status/<name>):
// services that report themselves (the logging node as logging_service, the web bridge
// as web_bridge, a droid service under its id), and `tools/cantina up`'s supervisor, for
// every process it runs (cantina-busd, cantina-logd, cantina-webbridge, each [[service]]
// name). So one process may show under two names, and one supervised process may host
// several services (cantina-demo logs as five droid services). A card is one service:
//   - the bus, the logging node and the web bridge: one card each, their own status and
//     the supervisor's status of their process merged;
//   - a supervised process whose pid is that of other services (their entries or their
//     own statuses): no card of its own; its status is the supervisor's status of each of
//     those services;
//   - every other service that logged or reported: its card, with what it reports.
// The state shown: the supervisor's if the process is not running (STARTING, ERROR,
// STOPPED, FATAL...), else the service's own if it reported in the last QUIET_MS (and
// from this run of the process), else the supervisor's RUNNING.
import { titleCase } from './format.js';
import { ensureService, services } from './store.js';

const QUIET_MS = 5000;     // a status this old from a running service counts as silence
const MAX_STATUSES = 1000;

// The nodes, by the service id they report and log under and their process's name under
// `tools/cantina up`.
const NODES = [
  { id: 'cantina_busd', process: 'cantina-busd', name: 'Bus' },
  { id: 'logging_service', process: 'cantina-logd', name: 'Logging Service' },
  { id: 'web_bridge', process: 'cantina-webbridge', name: 'Web Bridge' },
];
const NODE_OF_PROCESS = new Map(NODES.map((node) => [node.process, node]));
const NODE_IDS = new Set(NODES.map((node) => node.id));

// status publisher name -> {status, heardAt, pid}: pid is the last non-zero one it gave (the
// supervisor reports pid 0 for a process that is not running: its services are still the
// ones that ran in it)
const statuses = new Map();
// service id -> friendly name, from the web bridge ([logging.service_names])
let configuredNames = {};

export function takeServiceNames(names) {
  if (names && typeof names === 'object' && !Array.isArray(names)) configuredNames = names;
}

// The friendly name of a service: the one its entries carry, else the configured one,
// else its id title-cased.
export function friendlyName(id) {
  const service = services.get(id);
  if (service && service.name) return service.name;
  const configured = configuredNames[id];
  if (typeof configured === 'string' && configured) return configured;
  const node = NODES.find((candidate) => candidate.id === id);
  return node ? node.name : titleCase(id);
}

// One ServiceStatus from the bus (or /api/stats).
export function takeStatus(status) {
  if (!status || typeof status !== 'object' || typeof status.service !== 'string' || !status.service) return false;
  if (!statuses.has(status.service) && statuses.size >= MAX_STATUSES) return false;
  const previous = statuses.get(status.service);
  statuses.set(status.service, { status, heardAt: Date.now(), pid: pidOf(status) || (previous ? previous.pid : 0) });
  // a service the filter may offer (not a node's process name)
  if (!NODE_OF_PROCESS.has(status.service)) ensureService(status.service, null);
  return true;
}

// An entry's time in ms since the epoch (0 if it has none).
function entryTime(entry) {
  const ms = Number(entry.timestamp_ns) / 1e6;
  return Number.isFinite(ms) ? ms : 0;
}

const pidOf = (status) => (status && Number.isSafeInteger(status.pid) && status.pid > 0 ? status.pid : 0);

// The state to show from a service's own report and its process's supervisor's.
function merge(own, supervisor, now) {
  const supervised = supervisor && supervisor.status;
  if (supervised && supervised.state !== 'RUNNING') {
    return { report: supervised, heardAt: supervisor.heardAt, quiet: false, from: 'supervisor' };
  }
  if (own) {
    const fresh = now - own.heardAt <= QUIET_MS;
    // a report from an earlier run of the process says nothing about this one
    const thisRun = !supervised || !pidOf(own.status) || !pidOf(supervised) || pidOf(own.status) === pidOf(supervised);
    if (!supervised || (fresh && thisRun)) {
      const running = own.status.state === 'RUNNING' || own.status.state === 'STARTING';
      return { report: own.status, heardAt: own.heardAt, quiet: !fresh && running, from: 'service' };
    }
  }
  if (supervised) {
    return { report: supervised, heardAt: supervisor.heardAt, quiet: Boolean(own), from: 'supervisor' };
  }
  return null;
}

// The cards to show, nodes first, then the services by name.
export function serviceCards(now = Date.now()) {
  // which supervised processes host other services: pid -> [service ids]
  const servicePids = new Map();
  const notePid = (pid, id) => {
    if (!pid) return;
    if (!servicePids.has(pid)) servicePids.set(pid, new Set());
    servicePids.get(pid).add(id);
  };
  for (const service of services.values()) if (service.count) notePid(service.pid, service.id);
  for (const [name, heard] of statuses) notePid(heard.pid, name);

  const hostOf = new Map();       // service id -> supervisor's {status, heardAt} of its process
  const hosts = new Set();        // supervised process names folded into the services they host
  for (const [name, heard] of statuses) {
    if (NODE_OF_PROCESS.has(name) || NODE_IDS.has(name)) continue;
    const pid = heard.pid;
    const hosted = pid ? [...(servicePids.get(pid) || [])].filter((id) => id !== name && !NODE_OF_PROCESS.has(id)) : [];
    if (!hosted.length) continue;
    hosts.add(name);
    for (const id of hosted) if (!hostOf.has(id)) hostOf.set(id, { ...heard, process: name });
  }

  const cards = [];
  const card = (id, kind, own, supervisor) => {
    const service = services.get(id);
    const merged = merge(own, supervisor, now);
    const lastEntryAt = service && service.last ? entryTime(service.last) : 0;
    if (!merged && !(service && service.count)) return;
    cards.push({
      id, kind, name: friendlyName(id),
      state: merged ? String(merged.report.state || '?') : '',
      message: merged && typeof merged.report.message === 'string' ? merged.report.message : '',
      since: merged ? merged.report.since || merged.report.timestamp || '' : '',
      quiet: merged ? merged.quiet : false,
      heardAt: merged ? merged.heardAt : 0,
      from: merged ? merged.from : '',
      process: supervisor ? supervisor.process : '',
      pid: merged ? pidOf(merged.report) : 0,
      host: merged && merged.report.host ? merged.report.host : (service && service.host) || '',
      entries: service ? service.count : 0,
      lastSeen: Math.max(lastEntryAt, own ? own.heardAt : 0),
    });
  };
  for (const node of NODES) {
    const supervisor = statuses.get(node.process);
    card(node.id, 'node', statuses.get(node.id), supervisor && { ...supervisor, process: node.process });
  }
  const ids = new Set([...services.keys(), ...statuses.keys()]);
  const rest = [];
  for (const id of ids) {
    if (NODE_IDS.has(id) || NODE_OF_PROCESS.has(id)) continue;
    if (hosts.has(id) && !(services.get(id) && services.get(id).count)) continue;   // unless it logs itself
    rest.push(id);
  }
  rest.sort((a, b) => friendlyName(a).localeCompare(friendlyName(b)));
  for (const id of rest) card(id, 'service', statuses.get(id), hostOf.get(id));
  return cards;
}
