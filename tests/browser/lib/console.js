// Steps through the console that many tests share: logging in and out, switching
// language, and reading the expected texts from the Fluent catalogs.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { REPO_ROOT } from './server.js';

/**
 * Returns the single-line messages of `locales/<lang>/*.ftl` as a map from id to text.
 * Multi-line messages and messages with placeholders are returned as their first line.
 */
export function catalog(lang) {
  const folder = path.join(REPO_ROOT, 'locales', lang);
  const messages = new Map();
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.ftl'))) {
    for (const line of readFileSync(path.join(folder, file), 'utf8').split('\n')) {
      const match = /^([a-z][a-z0-9-]*)\s*=\s*(.*)$/.exec(line);
      if (match) {
        messages.set(match[1], match[2].trim());
      }
    }
  }
  return messages;
}

/** Fills the login form by selectors and submits it with a click. */
export async function logIn(page, baseUrl, { username, password }) {
  await page.goto(`${baseUrl}/login`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await Promise.all([
    page.waitForNavigation(),
    page.locator('form:has(input[name="password"]) [type="submit"]').click(),
  ]);
  assert.equal(new URL(page.url()).pathname, '/', `login as ${username} did not reach /`);
}

/** Submits the header's logout form and waits for the page that follows. */
export async function logOut(page) {
  await Promise.all([
    page.waitForNavigation(),
    page.locator('form[action="/logout"] [type="submit"]').click(),
  ]);
}

/** Clicks the header's language button for `lang` (`en` or `zh-CN`) and waits for the reload. */
export async function switchLanguage(page, lang) {
  await Promise.all([
    page.waitForNavigation(),
    page.locator(`form[action="/locale"] button[name="locale"][value="${lang}"]`).click(),
  ]);
}

/**
 * Switches the page to `lang` unless it is already shown in it. A logged-in user's
 * choice is stored with the account, so an earlier test may have left it switched.
 */
export async function ensureLanguage(page, lang) {
  const current = await page.locator('html').getAttribute('lang');
  if (current !== lang) {
    await switchLanguage(page, lang);
  }
}
