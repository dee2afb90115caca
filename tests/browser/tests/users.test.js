// Account management in the browser, and a grid worker's limited view.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withPage } from '../lib/browser.js';
import { logIn } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('users');

test('users/new form creates a user', async (t) => {
  const created = {
    username: 'ci-created',
    displayName: '新建管理员',
    role: 'administrator',
    password: 'ci-created-password-2e6f',
  };
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    const response = await page.goto(`${env.baseUrl}/users/new`);
    assert.equal(response.status(), 200, 'GET /users/new');

    // NOTE: field names follow the app_user columns; adjust them to the form once it exists.
    const form = page.locator('main form:has(input[name="username"])');
    await form.locator('input[name="username"]').fill(created.username);
    await form.locator('input[name="display_name"]').fill(created.displayName);
    await form.locator('select[name="role"]').selectOption(created.role);
    await form.locator('input[name="password"]').fill(created.password);
    await Promise.all([page.waitForNavigation(), form.locator('[type="submit"]').click()]);

    assert.equal(await page.locator('main [role="alert"]').count(), 0, 'no error shown');
    await page.goto(`${env.baseUrl}/users`);
    const row = page.locator(':is(tr, li)', { hasText: created.username });
    assert.equal(await row.count(), 1, `${created.username} listed on /users`);
    assert.match(await row.innerText(), new RegExp(created.displayName));
  });

  // The new account can log in with the password set in the form.
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, created);
    assert.match(await page.locator('header').innerText(), new RegExp(created.displayName));
  });
});

test('grid worker cannot manage users', async (t) => {
  if (!env.server.gridWorker) {
    t.skip('the demo street has no grid to scope a grid worker to');
    return;
  }
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, env.server.gridWorker);
    assert.equal(await page.locator('nav a[href="/users"]').count(), 0, 'no Users entry');
    const response = await page.goto(`${env.baseUrl}/users`);
    assert.equal(response.status(), 403, 'GET /users as a grid worker');
  });
});
