// The smart core dashboard. Readings and devices posted through the API reach the open
// page over server-sent events without a reload. A rule's alarm appears in the page's alarm list
// and is acknowledged and cleared from it. The dashboard and /alarms pass axe-core with
// alarm rows present, in both languages.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, withPage } from '../lib/browser.js';
import { ensureLanguage, logIn } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('smart-core');

/** 春晖园, the demo community whose grids hold the demo devices. */
const COMMUNITY = '110105900001';
const BIN = 'demo-waste-bin-fill-1';
const LIVE_TIMEOUT_MS = 15_000;

/** Creates a gateway key from the page's session and posts one fill level with it. */
async function postFillLevel(page, value) {
  return page.evaluate(async ({ device, fill }) => {
    const csrf = document.querySelector('input[name=csrf_token]').value;
    if (!window.testGatewayToken) {
      const created = await fetch('/api/v1/ingest-keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ name: `browser-${Date.now()}` }),
      });
      if (created.status !== 201) { return `POST /api/v1/ingest-keys: ${created.status}`; }
      window.testGatewayToken = (await created.json()).token;
    }
    const response = await fetch('/api/v1/readings', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-csrf-token': csrf,
        authorization: `Bearer ${window.testGatewayToken}`,
      },
      body: JSON.stringify({
        readings: [{
          device, attribute: 'fillingLevel', value: fill, observed_at: new Date().toISOString(),
        }],
      }),
    });
    return response.status;
  }, { device: BIN, fill: value });
}

test('dashboard updates live and handles alarms in place', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    await ensureLanguage(page, 'zh-CN');
    const dashboard = `${env.baseUrl}/smart-core?area=${COMMUNITY}&period=day`;
    const response = await page.goto(dashboard);
    assert.equal(response.status(), 200, 'GET /smart-core');
    await page.locator('#live-status[data-live="connected"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await page.locator('.leaflet-interactive').first().waitFor({ timeout: LIVE_TIMEOUT_MS });
    await page.locator('#chart-foot_traffic canvas, #chart-foot_traffic svg').first()
      .waitFor({ timeout: LIVE_TIMEOUT_MS });

    // A reading posted now shows up in the open page: no navigation happens.
    const loadedAt = await page.evaluate(() => performance.timeOrigin);
    assert.equal(await postFillLevel(page, 0.42), 200, 'POST /api/v1/readings (42 %)');
    const summary = page.locator(`tr[data-device="${BIN}"] .device-summary`);
    await page.waitForFunction(
      (selector) => document.querySelector(selector)?.textContent.includes('42 %'),
      `tr[data-device="${BIN}"] .device-summary`,
      { timeout: LIVE_TIMEOUT_MS },
    );
    assert.match(await summary.textContent(), /42 %/);

    // A device registered after the page loaded gets a row and a marker.
    const registered = await page.evaluate(async () => {
      const csrf = document.querySelector('input[name=csrf_token]').value;
      const anchor = document.querySelector('#device-table tr[data-device]');
      const response = await fetch('/api/v1/devices', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({
          id: 'browser-counter', kind: 'people_counter', name: '浏览器测试计数器', owner: '街道办',
          longitude: Number(anchor.dataset.longitude), latitude: Number(anchor.dataset.latitude),
        }),
      });
      return response.status;
    });
    assert.equal(registered, 201, 'POST /api/v1/devices');
    await page.locator('#device-table tr[data-device="browser-counter"]')
      .waitFor({ timeout: LIVE_TIMEOUT_MS });
    const markerCount = await page.locator('.leaflet-interactive').count();
    assert.equal(markerCount, await page.locator('#device-table tr[data-device]').count(),
      'one marker per device row');

    // Above 90 % the demo rule raises an alarm, which the alarm list receives live.
    assert.equal(await postFillLevel(page, 0.97), 200, 'POST /api/v1/readings (97 %)');
    const alarmRow = page.locator('#alarm-list tr[data-alarm]');
    await alarmRow.first().waitFor({ timeout: LIVE_TIMEOUT_MS });
    await page.locator(`tr[data-device="${BIN}"][data-state="alarm"]`)
      .waitFor({ timeout: LIVE_TIMEOUT_MS });
    assert.equal(await page.evaluate(() => performance.timeOrigin), loadedAt, 'no reload');

    for (const lang of ['zh-CN', 'en']) {
      await ensureLanguage(page, lang);
      await page.goto(dashboard);
      await alarmRow.first().waitFor();
      await page.locator('#live-status[data-live="connected"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page.waitForLoadState('networkidle').catch(() => {});
      assert.deepEqual(await axeViolations(page), [], `axe-core violations on /smart-core (${lang})`);
      await page.goto(`${env.baseUrl}/alarms`);
      assert.ok(await page.locator('tbody tr').count() > 0, `/alarms lists the alarm (${lang})`);
      assert.deepEqual(await axeViolations(page), [], `axe-core violations on /alarms (${lang})`);
    }

    // Acknowledge, then clear, from the dashboard: each form returns to it.
    await page.goto(dashboard);
    await Promise.all([
      page.waitForNavigation(),
      alarmRow.first().locator('form[action$="/acknowledge"] button').click(),
    ]);
    assert.equal(new URL(page.url()).pathname, '/smart-core', 'acknowledge returns to the dashboard');
    assert.equal(await page.locator('.flash').count(), 1, 'a notice confirms the acknowledgement');
    assert.equal(await alarmRow.first().locator('form[action$="/acknowledge"]').count(), 0);
    await Promise.all([
      page.waitForNavigation(),
      alarmRow.first().locator('form[action$="/clear"] button').click(),
    ]);
    assert.equal(new URL(page.url()).pathname, '/smart-core', 'clear returns to the dashboard');
    assert.equal(await alarmRow.count(), 0, 'the cleared alarm leaves the list');
  });
});
