// The whole case loop in the console: a resident reports, a dispatcher files and
// dispatches, a handler handles, the grid worker verifies and the resident rates on the
// tracking page. Every page of the loop is scanned with axe-core.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, withPage } from '../lib/browser.js';
import { logIn, logOut } from '../lib/console.js';
import { ADMIN, addUser } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('case-loop');

const STREET_CODE = '110105900';
const account = (role, areaCode) => ({
  username: `ci-${role.replace('_', '-')}`,
  displayName: `测试${role}`,
  role,
  password: `ci-${role}-password-91b3`,
  areaCode,
});

/** Returns a point inside the grid `code`: the mean of its outer ring's vertices. */
async function pointInGrid(page, code) {
  const response = await page.request.get(`${env.baseUrl}/api/v1/areas.geojson`);
  const geojson = await response.json();
  const grid = geojson.features.find((feature) => feature.properties.code === code);
  const { type, coordinates } = grid.geometry;
  const ring = type === 'MultiPolygon' ? coordinates[0][0] : coordinates[0];
  const vertices = ring.slice(0, -1);
  const mean = (index) => vertices.reduce((sum, vertex) => sum + vertex[index], 0) / vertices.length;
  return { longitude: mean(0), latitude: mean(1) };
}

async function assertAccessible(page, label) {
  assert.deepEqual(await axeViolations(page), [], `axe-core violations on ${label}`);
}

/** Opens the case page and submits the form of `action`, optionally with a comment. */
async function act(page, caseUrl, action, comment = '') {
  await page.goto(caseUrl);
  await assertAccessible(page, `${caseUrl} before ${action}`);
  const form = page.locator(`form:has(input[name="action"][value="${action}"])`);
  if (comment) {
    await form.locator('textarea[name="comment"]').fill(comment);
  }
  await Promise.all([page.waitForNavigation(), form.locator('[type="submit"]').click()]);
  assert.equal(await page.locator('main [role="alert"]').count(), 0, `${action} succeeded`);
}

test('case goes through the whole loop in the console', async (t) => {
  if (!env.server.gridWorker) {
    t.skip('the demo street has no grid for the grid worker to verify in');
    return;
  }
  const resident = account('resident');
  const dispatcher = account('dispatcher', STREET_CODE);
  const handler = account('handler', STREET_CODE);
  for (const user of [resident, dispatcher, handler]) {
    addUser(env.server.dataDir, user);
  }

  let caseUrl = null;
  let trackUrl = null;
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    const point = await pointInGrid(page, env.server.gridWorker.areaCode);
    await logOut(page);

    await logIn(page, env.baseUrl, resident);
    await page.goto(`${env.baseUrl}/cases/new`);
    await assertAccessible(page, '/cases/new');
    const form = page.locator('main form[action^="/cases/new"]');
    await form.locator('select[name="category_code"]').selectOption('E0101');
    await form.locator('input[name="title"]').fill('小区门口暴露垃圾');
    await form.locator('textarea[name="description"]').fill('垃圾桶旁堆了三袋垃圾。');
    await form.locator('input[name="latitude"]').fill(point.latitude.toFixed(6));
    await form.locator('input[name="longitude"]').fill(point.longitude.toFixed(6));
    await Promise.all([page.waitForNavigation(), form.locator('[type="submit"]').click()]);
    assert.match(page.url(), /\/cases\/\d+\?notice=notice-case-reported$/, 'redirected to the case');
    await assertAccessible(page, 'new case page');
    caseUrl = page.url().split('?')[0];
    trackUrl = new URL(await page.locator('a[href^="/track/"]').getAttribute('href'), env.baseUrl).href;
    await page.goto(`${env.baseUrl}/cases/mine`);
    await assertAccessible(page, '/cases/mine');
    await logOut(page);

    await logIn(page, env.baseUrl, dispatcher);
    await page.goto(`${env.baseUrl}/cases`);
    await assertAccessible(page, '/cases');
    await act(page, caseUrl, 'file', '属实，予以立案');
    await act(page, caseUrl, 'dispatch');
    await logOut(page);

    await logIn(page, env.baseUrl, handler);
    await act(page, caseUrl, 'accept');
    await act(page, caseUrl, 'report_done', '已清运');
    await logOut(page);

    await logIn(page, env.baseUrl, env.server.gridWorker);
    await act(page, caseUrl, 'verify', '现场已干净');
    await assertAccessible(page, 'closed case page');
    await logOut(page);

    // The resident's own list now carries a notice for each step, the newest marked new.
    await logIn(page, env.baseUrl, resident);
    await page.goto(`${env.baseUrl}/cases/mine`);
    const notices = page.locator('section[aria-labelledby="notices-heading"] li');
    assert.ok(await notices.count() >= 4, 'a notice per transition');
    assert.match(await notices.first().innerText(), /结案/, 'newest notice first');
    await assertAccessible(page, '/cases/mine with notices');
    await logOut(page);
  });

  // The resident's tracking link works without logging in, and takes one rating.
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await page.goto(trackUrl);
    await assertAccessible(page, 'tracking page');
    await page.locator('input[name="rating"][value="5"]').check();
    await page.locator('textarea[name="comment"]').fill('很及时');
    await Promise.all([page.waitForNavigation(), page.locator('main form [type="submit"]').click()]);
    assert.match(page.url(), /notice=notice-case-rated/, 'rating accepted');
    assert.equal(await page.locator('input[name="rating"]').count(), 0, 'rated only once');
    await assertAccessible(page, 'rated tracking page');
  });
});
