// Starts the debug `citycore` binary on a free loopback port with a fresh data folder.
//
// The binary must already be built with `cargo build`. This helper never builds, so a CI
// run compiles once and every test file reuses the same binary.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'tests/browser/artifacts');
// Not CITYCORE_BIN: the binary reads every CITYCORE_ variable as configuration and
// rejects unknown keys, and the server inherits this process's environment.
const BINARY = process.env.TEST_CITYCORE_BIN ?? path.join(REPO_ROOT, 'target/debug/citycore');

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const CLI_TIMEOUT_MS = 60_000;

/** The administrator every test file logs in as. */
export const ADMIN = {
  username: 'ci-admin',
  displayName: '测试管理员',
  role: 'administrator',
  password: 'ci-admin-password-3f9a',
};

/** Returns a TCP port that was free a moment ago, by listening on port 0 and closing. */
async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs one `citycore` subcommand on the data folder and returns its stdout, or throws on failure. */
function runCli(dataDir, args, input) {
  const result = spawnSync(BINARY, ['--data-dir', dataDir, ...args], {
    input: input ?? '',
    encoding: 'utf8',
    timeout: CLI_TIMEOUT_MS,
  });
  if (result.error) {
    throw new Error(`citycore ${args.join(' ')} failed to run: ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new Error(
      `citycore ${args.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

/** Creates an account with `citycore user add`, reading the password from stdin. */
export function addUser(dataDir, { username, displayName, role, password, areaCode }) {
  const args = ['user', 'add', '--username', username, '--display-name', displayName];
  args.push('--role', role, '--password-stdin');
  if (areaCode) {
    // NOTE: `--area CODE` is the expected scope flag of `user add`, not yet built or checked.
    args.push('--area', areaCode);
  }
  runCli(dataDir, args, `${password}\n`);
}

/**
 * Returns the code of one grid (网格) of the stored areas, or null when there is none or
 * `citycore export areas` fails.
 */
function firstGridCode(dataDir) {
  let geojson;
  try {
    geojson = JSON.parse(runCli(dataDir, ['export', 'areas']));
  } catch (error) {
    console.warn(`no grid worker created, because reading the areas failed: ${error.message}`);
    return null;
  }
  const grid = (geojson.features ?? []).find((feature) => feature.properties?.level === 'grid');
  return grid?.properties?.code ?? null;
}

async function waitUntilReady(baseUrl, child) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no response yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`citycore serve exited early (code ${child.exitCode}); see its log`);
    }
    try {
      const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) {
        return;
      }
      lastError = `status ${response.status}`;
    } catch (error) {
      lastError = error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${baseUrl}/readyz not ready after ${READY_TIMEOUT_MS} ms: ${lastError}`);
}

/**
 * Starts `citycore serve --demo` with the administrator `ADMIN` and any `extraUsers`.
 *
 * When the demo street has grids, a grid worker `ci-grid-worker` scoped to the first grid
 * is also created, and returned as `gridWorker` (null otherwise). `name` labels the log
 * file written to the artifacts folder.
 */
export async function startServer({ name, extraUsers = [] }) {
  if (!existsSync(BINARY)) {
    throw new Error(`${BINARY} not found: run \`cargo build\` in ${REPO_ROOT} first`);
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'citycore-browser-'));
  for (const user of [ADMIN, ...extraUsers]) {
    addUser(dataDir, user);
  }

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const logPath = path.join(ARTIFACTS_DIR, `server-${name}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(
    BINARY,
    ['--data-dir', dataDir, 'serve', '--demo', '--bind', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = once(child, 'exit');

  try {
    await waitUntilReady(baseUrl, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${error.message} (server log: ${logPath})`);
  }

  // The demo street is created by `serve --demo`, so grid-scoped accounts come after it.
  let gridWorker = null;
  const gridCode = firstGridCode(dataDir);
  if (gridCode) {
    gridWorker = {
      username: 'ci-grid-worker',
      displayName: '测试网格员',
      role: 'grid_worker',
      password: 'ci-grid-worker-password-7c21',
      areaCode: gridCode,
    };
    addUser(dataDir, gridWorker);
  }

  /**
   * Sends SIGTERM and returns the exit code, or throws when the server is still running
   * after STOP_TIMEOUT_MS (it is then killed). The data folder is removed either way.
   */
  async function stop() {
    try {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`citycore serve had already exited with code ${child.exitCode}`);
      }
      child.kill('SIGTERM');
      const timer = new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout'));
      const outcome = await Promise.race([exited, timer]);
      if (outcome === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(`citycore serve still running ${STOP_TIMEOUT_MS} ms after SIGTERM`);
      }
      const [code, signal] = outcome;
      return code ?? `signal ${signal}`;
    } finally {
      log.end();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  return { baseUrl, dataDir, gridWorker, stop };
}
