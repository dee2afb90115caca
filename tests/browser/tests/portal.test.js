// The resident portal in a real browser: a visitor signs up, the administrator verifies
// the sign-up, and the resident reads a notice (its receipt is recorded) and reports a
// problem. A notice sent while the list is open is announced without a reload. Every
// portal page is scanned with axe-core at 1280 px, at 640 px (200% zoom of a 1280 px
// window) and at 320 px, where nothing may scroll sideways.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, newContext, withPage } from '../lib/browser.js';
import { logIn, logOut } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('portal');

const RESIDENT = {
  username: 'ci-portal-resident',
  password: 'ci-portal-resident-password-5d2e',
  displayName: '王小明',
  phone: '13912345678',
};

/** Returns a valid 18-character identity number (GB 11643) born on `birth`, sequence `n`. */
function identityNumber(birth, n) {
  const body = `110105${birth}${String(n).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((total, digit, index) => total + Number(digit) * weights[index], 0);
  return body + '10X98765432'[sum % 11];
}

const IDENTITY = identityNumber('19760512', 417);
/** The same number with a wrong check character, as a typing error. */
const MISTYPED = IDENTITY.slice(0, 17) + (IDENTITY.endsWith('1') ? '2' : '1');

/** Widths to check each portal page at: desktop, 200% zoom of 1280 px, and the narrowest phone. */
const WIDTHS = [1280, 640, 320];

/** Scans the page at each width for axe-core violations and sideways scrolling. */
async function assertAccessibleAtAllWidths(page, label) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    assert.deepEqual(await axeViolations(page), [], `axe-core violations on ${label} at ${width} px`);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `${label} scrolls sideways by ${overflow} px at ${width} px`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

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

/** Posts JSON with the CSRF token of the page's first form, as the logged-in user. */
async function postJson(page, path, data) {
  const csrf = await page.locator('input[name="csrf_token"]').first().inputValue();
  const response = await page.request.post(`${env.baseUrl}${path}`, {
    headers: { 'x-csrf-token': csrf },
    data,
  });
  assert.equal(response.status(), 201, `POST ${path}: ${await response.text()}`);
  return response.json();
}

/** Registers the resident in `gridCode` as the logged-in administrator. */
async function registerResident(page, gridCode) {
  const household = await postJson(page, '/api/v1/households', {
    address: '望京西园三区 5 号楼 2 单元 301',
    grid_code: gridCode,
  });
  await postJson(page, '/api/v1/residents', {
    household_id: household.household_id,
    name: RESIDENT.displayName,
    identity_number: IDENTITY,
    phone: RESIDENT.phone,
    relation: 'head',
  });
}

async function submit(page, form) {
  await Promise.all([page.waitForNavigation(), form.locator('[type="submit"]').click()]);
}

test('resident signs up, is verified, reads a notice and reports', async (t) => {
  if (!env.server.gridWorker) {
    t.skip('the demo street has no grid to register the resident in');
    return;
  }
  const gridCode = env.server.gridWorker.areaCode;
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await logIn(page, env.baseUrl, ADMIN);
    await registerResident(page, gridCode);
    const point = await pointInGrid(page, gridCode);
    await logOut(page);

    await page.goto(`${env.baseUrl}/portal/signup`);
    await assertAccessibleAtAllWidths(page, '/portal/signup');
    const signup = page.locator('main form[action="/portal/signup"]');
    await signup.locator('#display_name').fill(RESIDENT.displayName);
    await signup.locator('#identity_number').fill(MISTYPED);
    await signup.locator('#phone').fill(RESIDENT.phone);
    await signup.locator('#username').fill(RESIDENT.username);
    await signup.locator('#password').fill(RESIDENT.password);
    await submit(page, signup);
    // The mistyped number comes back with its message next to the field.
    assert.equal(await page.locator('#identity_number').getAttribute('aria-invalid'), 'true');
    await assertAccessibleAtAllWidths(page, '/portal/signup with an error');
    await page.locator('#identity_number').fill(IDENTITY);
    await page.locator('#password').fill(RESIDENT.password);
    await submit(page, page.locator('main form[action="/portal/signup"]'));
    assert.equal(new URL(page.url()).pathname, '/login', 'sign-up leads to the login page');

    await logIn(page, env.baseUrl, RESIDENT);
    await page.goto(`${env.baseUrl}/portal`);
    assert.equal(await page.locator('#signup-status').count(), 1, 'pending state shown');
    await assertAccessibleAtAllWidths(page, '/portal before verification');
    await logOut(page);

    await logIn(page, env.baseUrl, ADMIN);
    await page.goto(`${env.baseUrl}/portal/signups`);
    await assertAccessibleAtAllWidths(page, '/portal/signups');
    const card = page.locator('main li', { hasText: RESIDENT.username });
    await submit(page, card.locator('form[action$="/approve"]'));
    assert.match(page.url(), /notice=notice-signup-approved$/, 'approved');
    await postJson(page, '/api/v1/resident-notices', {
      title: '停水通知',
      body: '明天上午九点至十二点停水检修，请提前储水。',
      priority: 'urgent',
      audience: {},
    });
    await logOut(page);

    await logIn(page, env.baseUrl, RESIDENT);
    await page.goto(`${env.baseUrl}/portal`);
    assert.equal(await page.locator('#signup-status').count(), 0, 'portal open after verification');
    await assertAccessibleAtAllWidths(page, '/portal');
    await page.goto(`${env.baseUrl}/portal/household`);
    assert.equal(await page.locator('main', { hasText: IDENTITY }).count(), 0, 'identity masked');
    await assertAccessibleAtAllWidths(page, '/portal/household');
    // A notice sent while the list is open is announced by its script.
    const staffContext = await newContext(env.browser);
    try {
      const staffPage = await staffContext.newPage();
      await logIn(staffPage, env.baseUrl, ADMIN);
      const stream = page.waitForResponse((response) => response.url().endsWith('/events'));
      await page.goto(`${env.baseUrl}/portal/notices`);
      assert.equal((await stream).status(), 200, 'event stream opened');
      await postJson(staffPage, '/api/v1/resident-notices', {
        title: '燃气安全检查',
        body: '本周六上门检查燃气管道。',
        audience: {},
      });
      await page.locator('#live-notices').waitFor({ state: 'visible', timeout: 15_000 });
    } finally {
      await staffContext.close();
    }
    await page.reload();
    await assertAccessibleAtAllWidths(page, '/portal/notices');
    await Promise.all([
      page.waitForNavigation(),
      page.locator('main a', { hasText: '停水通知' }).click(),
    ]);
    await assertAccessibleAtAllWidths(page, 'a notice');
    const inbox = await (await page.request.get(`${env.baseUrl}/api/v1/my/notices`)).json();
    const notice = inbox.find((entry) => entry.title === '停水通知');
    assert.ok(notice?.read_at, `read receipt recorded: ${JSON.stringify(inbox)}`);

    await page.goto(`${env.baseUrl}/portal`);
    await Promise.all([
      page.waitForNavigation(),
      page.locator('main a[href="/cases/new"]').click(),
    ]);
    const report = page.locator('main form[action^="/cases/new"]');
    await report.locator('select[name="category_code"]').selectOption('E0101');
    await report.locator('input[name="title"]').fill('楼下暴露垃圾');
    await report.locator('textarea[name="description"]').fill('单元门口堆了两袋垃圾。');
    await report.locator('input[name="latitude"]').fill(point.latitude.toFixed(6));
    await report.locator('input[name="longitude"]').fill(point.longitude.toFixed(6));
    await submit(page, report);
    assert.match(page.url(), /\/cases\/\d+\?notice=notice-case-reported$/, 'problem reported');
  });
});
