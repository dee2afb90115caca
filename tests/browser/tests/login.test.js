// The login page: its default language, keyboard-only use and a rejected password.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { htmlLang, withPage } from '../lib/browser.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('login');

/** Presses Tab until the element matching `selector` has focus, at most `limit` times. */
async function tabTo(page, selector, limit = 30) {
  for (let presses = 0; presses < limit; presses += 1) {
    if (await page.locator(selector).evaluate((element) => element === document.activeElement)) {
      return;
    }
    await page.keyboard.press('Tab');
  }
  assert.fail(`${selector} not reached after ${limit} Tab presses`);
}

test('login page defaults to zh-CN', async (t) => {
  // French is not a console language, so the server's default, Simplified Chinese, applies.
  await withPage(t, env.browser, env.baseUrl, { locale: 'fr-FR' }, async (_context, page) => {
    await page.goto(`${env.baseUrl}/login`);
    assert.equal(await htmlLang(page), 'zh-CN');
    assert.match(await page.locator('body').innerText(), /\p{Script=Han}/u);
  });
});

test('anonymous page visit redirects to login', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await page.goto(`${env.baseUrl}/map`);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/login');
    assert.equal(url.searchParams.get('next'), '/map');
  });
});

test('login by keyboard only', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await page.goto(`${env.baseUrl}/login`);
    await tabTo(page, 'input[name="username"]');
    await page.keyboard.type(ADMIN.username);
    await tabTo(page, 'input[name="password"]');
    await page.keyboard.type(ADMIN.password);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);

    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(await page.locator('form[action="/logout"]').count(), 1, 'logout form shown');
    assert.match(await page.locator('header').innerText(), new RegExp(ADMIN.displayName));
  });
});

test('wrong password shows an error', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await page.goto(`${env.baseUrl}/login`);
    await page.locator('input[name="username"]').fill(ADMIN.username);
    await page.locator('input[name="password"]').fill('not-the-password');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);

    assert.equal(new URL(page.url()).pathname, '/login', 'still on the login page');
    assert.equal(await page.locator('form[action="/logout"]').count(), 0, 'not logged in');
    const alert = page.locator('main [role="alert"]');
    assert.ok((await alert.count()) > 0, 'an element with role="alert" explains the failure');
    assert.notEqual((await alert.first().innerText()).trim(), '', 'the alert has text');
    const password = await page.locator('input[name="password"]').inputValue();
    assert.equal(password, '', 'the rejected password is not sent back into the form');
  });
});
