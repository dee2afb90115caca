// A case action sent from an outdated page: the dispatcher gets the 409 page that
// names the action and links back to the case, and the page passes axe-core.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, withPage } from '../lib/browser.js';
import { logIn } from '../lib/console.js';
import { addUser } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const DISPATCHER = {
  username: 'ci-conflict-dispatcher',
  displayName: '测试调度员',
  role: 'dispatcher',
  password: 'ci-conflict-dispatcher-4d2e',
  areaCode: '110105900',
};

const env = useServer('conflict');

test('stale action form gets the conflict page', async (t) => {
  // The dispatcher's street exists only once the demo server has started.
  addUser(env.server.dataDir, DISPATCHER);
  await withPage(t, env.browser, env.baseUrl, {}, async (context, page) => {
    await logIn(page, env.baseUrl, DISPATCHER);
    const created = await page.request.post(`${env.baseUrl}/api/v1/cases`, {
      headers: { 'x-csrf-token': await csrfToken(page) },
      data: {
        category_code: 'E0101',
        title: '路口暴露垃圾',
        description: '垃圾堆在路口。',
        address: '春望里',
      },
    });
    assert.equal(created.status(), 201, await created.text());
    const caseUrl = `${env.baseUrl}/cases/${(await created.json()).case_id}`;

    // Two tabs show the case at the same version, and the second one files it first.
    await page.goto(caseUrl);
    const other = await context.newPage();
    await other.goto(caseUrl);
    const fileIn = (tab) => tab.locator('form:has(input[name="action"][value="file"])');
    await Promise.all([other.waitForNavigation(), fileIn(other).locator('[type="submit"]').click()]);

    const [response] = await Promise.all([
      page.waitForNavigation(),
      fileIn(page).locator('[type="submit"]').click(),
    ]);
    assert.equal(response.status(), 409, 'stale form returns 409');
    assert.equal(await page.locator(`main a[href="${new URL(caseUrl).pathname}"]`).count(), 1);
    assert.deepEqual(await axeViolations(page), [], 'axe-core violations on the conflict page');
  });
});

/** Reads the CSRF token the console pages embed in their forms. */
async function csrfToken(page) {
  await page.goto(`${env.baseUrl}/cases/new`);
  return page.locator('input[name="csrf_token"]').first().inputValue();
}
