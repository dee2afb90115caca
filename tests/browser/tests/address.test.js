// The report form's address field: suggestions from the demo street's gazetteer while
// typing, a report located by address alone, and the error on the field for an
// address the gazetteer does not know, with and without JavaScript.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axeViolations, withPage } from '../lib/browser.js';
import { logIn } from '../lib/console.js';
import { useServer } from '../lib/suite.js';

const RESIDENT = {
  username: 'ci-address-resident',
  displayName: '测试居民',
  role: 'resident',
  password: 'ci-address-resident-7c21',
};

const env = useServer('address', { extraUsers: [RESIDENT] });

/** A submit whose page never arrives fails after this long instead of hanging. */
const NAVIGATION_TIMEOUT_MS = 30_000;
/** Backstop for each test: a step with no timeout of its own cannot hang the file. */
const TEST_TIMEOUT_MS = 90_000;
const BOUNDED = { timeout: TEST_TIMEOUT_MS };

/** Fills the report form with everything but a location, then types `address`. */
async function fillReport(page, address) {
  await page.goto(`${env.baseUrl}/cases/new`);
  const form = page.locator('main form[action^="/cases/new"]');
  await form.locator('select[name="category_code"]').selectOption('E0101');
  await form.locator('input[name="title"]').fill('井盖缺失');
  await form.locator('textarea[name="description"]').fill('人行道上的井盖不见了。');
  await form.locator('input[name="address"]').fill(address);
  return form;
}

async function submit(page, form) {
  await Promise.all([
    page.waitForNavigation({ timeout: NAVIGATION_TIMEOUT_MS }),
    form.locator('[type="submit"]').click({ timeout: NAVIGATION_TIMEOUT_MS }),
  ]);
}

/** Logs in, submits an address the gazetteer does not know and checks the field's error. */
async function submitUnknownAddress(page) {
  await logIn(page, env.baseUrl, RESIDENT);
  const form = await fillReport(page, '望京西园');
  await submit(page, form);
  assert.match(page.url(), /\/cases\/new/, 'still on the form');
  const field = page.locator('input[name="address"]');
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.equal(await field.inputValue(), '望京西园', 'the typed text is kept');
  assert.equal(await page.locator('#address-error').count(), 1);
}

test('address field suggests places and locates the report', BOUNDED, async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await logIn(page, env.baseUrl, RESIDENT);
    const form = await fillReport(page, '春望');
    const suggestion = page.locator('#address-suggestions option[value="春望里"]');
    await suggestion.waitFor({ state: 'attached', timeout: 5_000 });

    await form.locator('input[name="address"]').fill('春望里3号楼东侧');
    await submit(page, form);
    assert.match(page.url(), /\/cases\/\d+\?notice=/, 'the report was filed');
    const details = await page.locator('main dl').first().textContent();
    assert.ok(details.includes('春望里3号楼东侧'), 'the case page shows the address');
  });
});

test('unknown address returns the form with an error on the field', BOUNDED, async (t) => {
  await withPage(t, env.browser, env.baseUrl, { javaScriptEnabled: false }, async (_c, page) => {
    await submitUnknownAddress(page);
  });
});

// axe-core cannot run where JavaScript is disabled (Chromium fires no timers there), so
// the same error page is scanned in a context with JavaScript. The server renders the
// error identically either way.
test('the unknown-address error page passes axe-core', BOUNDED, async (t) => {
  await withPage(t, env.browser, env.baseUrl, {}, async (_c, page) => {
    await submitUnknownAddress(page);
    assert.deepEqual(await axeViolations(page), [], 'axe-core violations on the error page');
  });
});
