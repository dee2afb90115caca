// The parking lots page: a lot imported through the API appears as a map marker and a
// table row, in both languages, with no axe-core violations.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, withPage } from '../lib/browser.js';
import { ensureLanguage, logIn } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('parking');

const LOTS_CSV = [
  'record,lot_ref,name,owner_type,capacity,longitude,latitude',
  'lot,browser-lot,浏览器测试停车场,public,12,116.47,39.99',
].join('\n');

test('lots page shows an imported lot on the map and in the table', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    await page.goto(`${env.baseUrl}/parking/lots`);
    const imported = await page.evaluate(async (body) => {
      const csrf = document.querySelector('input[name=csrf_token]').value;
      const response = await fetch('/api/v1/parking/import', {
        method: 'POST',
        headers: { 'content-type': 'text/csv', 'x-csrf-token': csrf },
        body,
      });
      return response.status;
    }, LOTS_CSV);
    assert.equal(imported, 200, 'POST /api/v1/parking/import');

    for (const lang of ['zh-CN', 'en']) {
      await ensureLanguage(page, lang);
      const response = await page.goto(`${env.baseUrl}/parking/lots`);
      assert.equal(response.status(), 200, `GET /parking/lots (${lang})`);
      const row = page.locator('tr', { hasText: 'browser-lot' });
      assert.equal(await row.count(), 1, 'the lot has a table row');
      await page.locator('.leaflet-interactive').first().waitFor({ timeout: 10_000 });
      await page.waitForLoadState('networkidle');
      assert.deepEqual(await axeViolations(page), [], `axe-core violations (${lang})`);
    }
  });
});
