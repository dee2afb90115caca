// The grid map: Leaflet with the demo grids drawn, and nothing loaded from other hosts.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withPage } from '../lib/browser.js';
import { logIn } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('map');

test('map draws demo grids as SVG paths', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    const response = await page.goto(`${env.baseUrl}/map`);
    assert.equal(response.status(), 200, 'GET /map');

    await page.locator('.leaflet-container').waitFor({ timeout: 10_000 });
    const paths = page.locator('.leaflet-overlay-pane svg path');
    await paths.first().waitFor({ timeout: 10_000 });
    assert.ok((await paths.count()) > 0, 'grid polygons drawn as SVG paths');
    await page.waitForLoadState('networkidle');
    // withPage then fails the test on any request to a host other than the server.
  });
});
