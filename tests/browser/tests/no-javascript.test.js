// Forms without JavaScript: plain HTML form posts must log in and switch language.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { htmlLang, withPage } from '../lib/browser.js';
import { logIn, switchLanguage } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('no-javascript');
const NO_JS = { javaScriptEnabled: false };

test('login works without JavaScript', async (t) => {
  await withPage(t, env.browser, env.baseUrl, NO_JS, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    assert.equal(await page.locator('form[action="/logout"]').count(), 1, 'logged in');
  });
});

test('language switch works without JavaScript', async (t) => {
  await withPage(t, env.browser, env.baseUrl, NO_JS, async (_context, page) => {
    await page.goto(`${env.baseUrl}/login`);
    await switchLanguage(page, 'en');
    assert.equal(await htmlLang(page), 'en', 'visitor on the login page');

    await logIn(page, env.baseUrl, ADMIN);
    await switchLanguage(page, 'zh-CN');
    assert.equal(await htmlLang(page), 'zh-CN', 'logged-in user');
    await switchLanguage(page, 'en');
    assert.equal(await htmlLang(page), 'en', 'logged-in user');
  });
});
