// The parking analysis page: an occupancy CSV uploaded through the form (no JavaScript
// needed) shows the capacity-gain report, which passes axe-core.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, withPage } from '../lib/browser.js';
import { ensureLanguage, logIn } from '../lib/console.js';
import { ADMIN } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('parking-analysis');

/** Builds a day of hourly readings of two lots whose peaks fall at different hours. */
function occupancyCsv() {
  const lines = ['lot,capacity,occupied,time'];
  for (let hour = 0; hour < 24; hour += 1) {
    const time = `2027-03-01T${String(hour).padStart(2, '0')}:00:00Z`;
    lines.push(`office,10,${hour >= 9 && hour < 18 ? 9 : 1},${time}`);
    lines.push(`homes,10,${hour >= 9 && hour < 18 ? 2 : 8},${time}`);
  }
  return lines.join('\n');
}

test('analysis page shows the report of an uploaded file', async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, ADMIN);
    await ensureLanguage(page, 'en');
    await page.goto(`${env.baseUrl}/parking/analysis`);
    await page.locator('#file').setInputFiles({
      name: 'two-lots.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(occupancyCsv()),
    });
    await page.locator('#time_zone').fill('UTC');
    await Promise.all([
      page.waitForNavigation(),
      page.locator('form[enctype="multipart/form-data"] button[type=submit]').click(),
    ]);
    const report = page.locator('section.parking-report');
    assert.equal(await report.count(), 1, 'the report section is shown');
    const rows = await report.locator('table').first().locator('tbody tr').allInnerTexts();
    assert.ok(rows.some((row) => row.includes('office')), `office row in ${rows}`);
    assert.ok(rows.some((row) => row.includes('homes')), `homes row in ${rows}`);
    const downloads = await report.locator('a[download]').count();
    assert.equal(downloads, 2, 'JSON and CSV downloads');
    assert.deepEqual(await axeViolations(page), [], 'axe-core violations on the report');
  });
});
