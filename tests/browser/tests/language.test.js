// The header's language switch and the per-user language preference.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { htmlLang, withPage } from '../lib/browser.js';
import { catalog, logIn, logOut, switchLanguage } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const USER = {
  username: 'ci-language',
  displayName: '语言测试',
  role: 'administrator',
  password: 'ci-language-password-51be',
};

const env = useServer('language', { extraUsers: [USER] });
const zh = catalog('zh-CN');
const en = catalog('en');

async function navigationTexts(page) {
  return page.locator('header nav').innerText();
}

test('language switch changes lang and texts', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    assert.equal(await htmlLang(page), 'zh-CN');
    assert.match(await navigationTexts(page), new RegExp(zh.get('nav-dashboard')));

    await switchLanguage(page, 'en');
    assert.equal(new URL(page.url()).pathname, '/', 'the switch returns to the same page');
    assert.equal(await htmlLang(page), 'en');
    assert.match(await navigationTexts(page), new RegExp(en.get('nav-dashboard')));
    const logout = page.locator('form[action="/logout"] [type="submit"]');
    assert.equal((await logout.innerText()).trim(), en.get('nav-logout'));

    await switchLanguage(page, 'zh-CN');
    assert.equal(await htmlLang(page), 'zh-CN');
    assert.equal((await logout.innerText()).trim(), zh.get('nav-logout'));
  });
});

test('language choice persists for the user', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, USER);
    await switchLanguage(page, 'en');
    assert.equal(await htmlLang(page), 'en');

    await logOut(page);
    await logIn(page, env.baseUrl, USER);
    assert.equal(await htmlLang(page), 'en', 'same browser after logout and login');
  });

  // A new browser with a Chinese Accept-Language and no cookies still gets English,
  // so the choice is stored with the account, not only in the browser.
  await withPage(t, env.browser, env.baseUrl, { locale: 'zh-CN' }, async (_context, page) => {
    await logIn(page, env.baseUrl, USER);
    assert.equal(await htmlLang(page), 'en', 'another browser after login');

    await switchLanguage(page, 'zh-CN');
    assert.equal(await htmlLang(page), 'zh-CN');
  });

  await withPage(t, env.browser, env.baseUrl, { locale: 'en-US' }, async (_context, page) => {
    await logIn(page, env.baseUrl, USER);
    assert.equal(await htmlLang(page), 'zh-CN', 'switching back is stored too');
  });
});

test('visitor can switch the login page', async (t) => {
  await withPage(t, env.browser, env.baseUrl, { locale: 'zh-CN' }, async (_context, page) => {
    await page.goto(`${env.baseUrl}/login`);
    assert.equal(await htmlLang(page), 'zh-CN');

    await switchLanguage(page, 'en');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await htmlLang(page), 'en');

    await switchLanguage(page, 'zh-CN');
    assert.equal(await htmlLang(page), 'zh-CN');
  });
});
