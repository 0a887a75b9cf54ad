// The measuring scripts' flood: mock_server.mjs --flood RATE (serving the page from
// staticDir if given), started and waited for. Returns { url, child } (kill the child
// when done; SIGSTOP pauses the flood).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function startFlood(rate, staticDir = '') {
  const args = [path.join(here, 'mock_server.mjs'), '--flood', String(rate)];
  if (staticDir) args.push('--static', path.resolve(staticDir));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (\S+)/); if (m) resolve(m[1] + '/'); });
    child.on('exit', (code) => reject(new Error(`mock_server.mjs exited (${code}) before listening`)));
  });
  return { url, child };
}
