// Per-file setup: one server and one browser for all the tests of a file.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { launchBrowser } from './browser.js';
import { startServer } from './server.js';

/**
 * Registers hooks that start a server and Chromium before the file's tests and stop
 * both after them. The returned object is filled in by the `before` hook.
 *
 * The `after` hook fails the file unless the server exits with code 0 within 10 s of
 * SIGTERM, which checks the graceful shutdown.
 */
export function useServer(name, { extraUsers = [] } = {}) {
  const env = { server: null, baseUrl: null, browser: null };
  before(async () => {
    env.server = await startServer({ name, extraUsers });
    env.baseUrl = env.server.baseUrl;
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    if (env.server) {
      const exitCode = await env.server.stop();
      assert.equal(exitCode, 0, 'citycore serve exit code after SIGTERM');
    }
  });
  return env;
}
