// Debian's Chromium driven by playwright-core, plus the checks every test shares:
// requests only to the server under test, axe-core scans and screenshots of failures.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { ARTIFACTS_DIR } from './server.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** WCAG 2.0 and 2.1, levels A and AA: the axe-core rule tags the console must pass. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// The background-networking flags stop Chromium from calling Google's services, which
// this machine's closed network refuses. Playwright adds --headless and a fresh
// temporary --user-data-dir itself.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Opens a browser context whose every request is recorded in `context.requests`.
 *
 * `locale` sets the browser's language (and so its Accept-Language header); zh-CN by
 * default, as for the street's staff.
 */
export async function newContext(browser, { locale = 'zh-CN', javaScriptEnabled = true } = {}) {
  const context = await browser.newContext({ locale, javaScriptEnabled });
  context.requests = [];
  context.javaScriptEnabled = javaScriptEnabled;
  context.on('request', (request) => context.requests.push(request.url()));
  return context;
}

/** Asserts that the context requested nothing outside `baseUrl` (data: and blob: excepted). */
export function assertOnlyServerRequests(context, baseUrl) {
  const origin = new URL(baseUrl).origin;
  const foreign = context.requests.filter((url) => {
    const parsed = new URL(url);
    if (['data:', 'blob:', 'about:'].includes(parsed.protocol)) {
      return false;
    }
    return parsed.origin !== origin;
  });
  assert.deepEqual(foreign, [], `requests to hosts other than ${origin}`);
}

function artifactName(testName) {
  return testName.replace(/[^\p{L}\p{N}_-]+/gu, '-').slice(0, 100);
}

/**
 * Runs `body(context, page)` in a new context, then checks its requests.
 *
 * On failure a full-page screenshot of every open page goes to the artifacts folder
 * before the error is rethrown. The context is always closed.
 */
export async function withPage(t, browser, baseUrl, options, body) {
  const context = await newContext(browser, options);
  const page = await context.newPage();
  try {
    await body(context, page);
    assertOnlyServerRequests(context, baseUrl);
  } catch (error) {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const pages = context.pages();
    for (const [index, open] of pages.entries()) {
      const file = path.join(ARTIFACTS_DIR, `${artifactName(t.name)}-${index}.png`);
      await open.screenshot({ path: file, fullPage: true }).catch(() => {});
      t.diagnostic(`screenshot: ${file} (${open.url()})`);
    }
    throw error;
  } finally {
    await context.close();
  }
}

/** How long one axe-core scan may take before it fails instead of hanging. */
const AXE_TIMEOUT_MS = 30_000;

/**
 * Runs axe-core on the page and returns its violations for AXE_TAGS.
 *
 * The context must have JavaScript enabled. Without it Chromium fires no timers, and
 * axe-core waits on timers, so the scan would never finish.
 */
export async function axeViolations(page) {
  if (page.context().javaScriptEnabled === false) {
    throw new Error(
      'axe-core scan failed: JavaScript is disabled in this context. Scan the page in a '
        + 'context with JavaScript enabled.',
    );
  }
  // page.evaluate goes through the DevTools protocol, which the page's CSP
  // (script-src 'self') does not restrict, unlike an injected <script> element.
  await page.evaluate(AXE_SOURCE);
  let timer;
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`axe-core scan of ${page.url()} timed out after ${AXE_TIMEOUT_MS} ms`)),
      AXE_TIMEOUT_MS,
    );
  });
  const scan = page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } })
      .then((results) => results.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.map((node) => node.target.join(' ')).slice(0, 5),
      }))),
    AXE_TAGS,
  );
  try {
    return await Promise.race([scan, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Returns the `lang` attribute of the page's `<html>` element. */
export async function htmlLang(page) {
  return page.locator('html').getAttribute('lang');
}
