// axe-core scans of every console page in both languages, and the skip link.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, htmlLang, withPage } from '../lib/browser.js';
import { catalog, ensureLanguage, logIn } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

// An account whose edit page is scanned; it is never logged in. Other roles need an
// area, and the demo areas do not exist before the server starts.
const EDITED = {
  username: 'ci-edited',
  displayName: '被编辑用户',
  role: 'administrator',
  password: 'ci-edited-password-90d4',
};

const env = useServer('accessibility', { extraUsers: [EDITED] });

// The catalogs' hyphenated message ids. Fluent shows the id when a message fails to
// format, for example when a required argument is missing.
const MESSAGE_IDS = [...new Set([...catalog('zh-CN').keys(), ...catalog('en').keys()])]
  .filter((id) => id.includes('-'));

const LOGGED_IN_PAGES = [
  '/', '/areas', '/map', '/users', '/users/new', '/audit', '/routing',
  '/residents', '/residents/import', '/resident-notices', '/resident-notices/new',
  '/resident-notices/follow-up', '/parking/lots', '/parking/bookings', '/parking/tariffs',
  '/parking/operator', '/parking/analysis', '/sensor-rules', '/sensor-rules/new', '/alarms',
  '/smart-core',
];
const LANGUAGES = ['zh-CN', 'en'];

/** Returns the path of EDITED's edit page, found through the links of the user list. */
async function editPagePath(page) {
  await page.goto(`${env.baseUrl}/users`);
  const row = page.locator(':is(tr, li)', { hasText: EDITED.username });
  const hrefs = await row.locator('a[href^="/users/"]').evaluateAll(
    (links) => links.map((link) => link.getAttribute('href')),
  );
  const edit = hrefs.find((href) => href !== '/users/new');
  assert.ok(edit, `no /users/… link in the row of ${EDITED.username}`);
  return edit;
}

/**
 * Opens `path` and asserts its status, language, that no raw message id is shown, and
 * that axe-core finds no violations.
 */
async function assertAccessible(page, path, lang) {
  const response = await page.goto(`${env.baseUrl}${path}`);
  assert.equal(response.status(), 200, `GET ${path}`);
  await page.waitForLoadState('networkidle');
  assert.equal(await htmlLang(page), lang, `<html lang> of ${path}`);
  const text = await page.locator('body').innerText();
  const shownIds = MESSAGE_IDS.filter((id) => new RegExp(`(^|\\s)${id}(\\s|$)`).test(text));
  assert.deepEqual(shownIds, [], `catalog ids shown instead of messages on ${path}`);
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `axe-core violations on ${path} (${lang})`);
}

for (const lang of LANGUAGES) {
  test(`axe: login page, ${lang}`, async (t) => {
    await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
      await page.goto(`${env.baseUrl}/login`);
      await ensureLanguage(page, lang);
      await assertAccessible(page, '/login', lang);
    });
  });

  for (const path of LOGGED_IN_PAGES) {
    test(`axe: ${path}, ${lang}`, async (t) => {
      await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
        await logIn(page, env.baseUrl, ADMIN);
        await ensureLanguage(page, lang);
        await assertAccessible(page, path, lang);
      });
    });
  }

  test(`axe: user edit page, ${lang}`, async (t) => {
    await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
      await logIn(page, env.baseUrl, ADMIN);
      await ensureLanguage(page, lang);
      await assertAccessible(page, await editPagePath(page), lang);
    });
  });
}

// A lot of its own for the owner's sharing page, imported through the API, so that the
// scan does not depend on the demo street's lots.
const SHARED_LOT_CSV = [
  'record,lot_ref,name,owner_type,capacity,longitude,latitude,space_ref,shared',
  'lot,a11y-lot,无障碍测试停车场,residential,2,116.47,39.99,,',
  'space,a11y-lot,,,,,,a11y-lot-1,true',
].join('\n');

/** Imports SHARED_LOT_CSV from a logged-in page; an import upserts, so repeats are harmless. */
async function importSharedLot(page) {
  await page.goto(`${env.baseUrl}/parking/lots`);
  const status = await page.evaluate(async (body) => {
    const csrf = document.querySelector('input[name=csrf_token]').value;
    const response = await fetch('/api/v1/parking/import', {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-csrf-token': csrf },
      body,
    });
    return response.status;
  }, SHARED_LOT_CSV);
  assert.equal(status, 200, 'POST /api/v1/parking/import');
}

for (const lang of LANGUAGES) {
  test(`axe: owner sharing page, ${lang}`, async (t) => {
    await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
      await logIn(page, env.baseUrl, ADMIN);
      await importSharedLot(page);
      await ensureLanguage(page, lang);
      await assertAccessible(page, '/parking/lots/a11y-lot/sharing', lang);
    });
  });
}

/** Asserts that the first Tab stop is the skip link and that it moves focus to <main>. */
async function assertSkipLink(page) {
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({
    tag: document.activeElement.tagName,
    href: document.activeElement.getAttribute('href'),
  }));
  assert.deepEqual(first, { tag: 'A', href: '#main' }, 'first Tab stop');

  await page.keyboard.press('Enter');
  const focused = await page.evaluate(() => document.activeElement.tagName);
  assert.equal(focused, 'MAIN', 'focus after following the skip link');
}

test('skip link is first on login page', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await page.goto(`${env.baseUrl}/login`);
    await assertSkipLink(page);
  });
});

test('skip link is first on dashboard', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    await assertSkipLink(page);
  });
});
