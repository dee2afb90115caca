// Residents and notices in the console. A community worker imports a roster (a dry run,
// then the apply, whose progress page reaches done), previews and sends a targeted
// notice with a PDF attached and reads its receipts. A grid worker then records a
// follow-up, and a recipient downloads the PDF from the resident portal. Every new page
// is scanned with axe-core.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { axeViolations, withPage } from '../lib/browser.js';
import { logIn, logOut } from '../lib/console.js';
import { ADMIN, addUser } from '../lib/server.js';
import { useServer } from '../lib/suite.js';

const env = useServer('notices');

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/** Returns a valid identity number born on 1980-01-01 with sequence `n` (below 1000). */
function identityNumber(n) {
  const body = `11010519800101${String(n).padStart(3, '0')}`;
  const sum = [...body].reduce((total, digit, index) => total + Number(digit) * WEIGHTS[index], 0);
  return body + '10X98765432'[sum % 11];
}

async function assertAccessible(page, label) {
  assert.deepEqual(await axeViolations(page), [], `axe-core violations on ${label}`);
}

/** Submits the form that contains `button` and waits for the page that follows. */
async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

/** Creates the `returned` tag as the administrator, through the JSON API. */
async function createReturnedTag(page) {
  await logIn(page, env.baseUrl, ADMIN);
  const token = await page.locator('input[name="csrf_token"]').first().getAttribute('value');
  const response = await page.request.post(`${env.baseUrl}/api/v1/resident-tags`, {
    headers: { 'x-csrf-token': token },
    data: { code: 'returned', name_zh: '返回人员', name_en: 'Returned', kind: 'returned' },
  });
  assert.equal(response.status(), 201, 'tag created');
  await logOut(page);
}

/** A small PDF: its magic bytes and a catalog are all the server checks. */
const GUIDE_PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n', 'latin1');
const GUIDE_NAME = '登记指南.pdf';

const RESIDENT = {
  username: 'ci-notice-resident',
  displayName: '钱一',
  role: 'resident',
  password: 'ci-notice-resident-password-8b41',
};

/** Reads a JSON API as the logged-in user. */
async function getJson(page, apiPath) {
  const response = await page.request.get(`${env.baseUrl}${apiPath}`);
  assert.equal(response.status(), 200, `GET ${apiPath}`);
  return response.json();
}

/** Links the resident account to the registry record of 钱一, as the logged-in worker. */
async function linkResidentAccount(page, userId) {
  const residents = await getJson(page, '/api/v1/residents');
  const record = residents.find((resident) => resident.name === RESIDENT.displayName);
  assert.ok(record, 'the imported resident is listed');
  const token = await page.locator('input[name="csrf_token"]').first().getAttribute('value');
  const response = await page.request.post(
    `${env.baseUrl}/api/v1/residents/${record.resident_id}/account`,
    { headers: { 'x-csrf-token': token }, data: { user_id: userId } },
  );
  assert.equal(response.status(), 201, 'account linked');
}

/** Moves every notice's follow-up time back to its send time, as if its hours had passed. */
function makeFollowUpDue() {
  // NOTE: this needs the sqlite3 command-line tool, because the suite's server uses SQLite.
  const database = path.join(env.server.dataDir, 'citycore.db');
  execFileSync('sqlite3', [database, 'UPDATE notice SET follow_up_at = sent_at']);
}

test('community worker imports, notifies, and a grid worker follows up', async (t) => {
  if (!env.server.gridWorker) {
    t.skip('the demo street has no grid for the residents');
    return;
  }
  const gridCode = env.server.gridWorker.areaCode;
  const worker = {
    username: 'ci-community-worker',
    displayName: '测试社区工作者',
    role: 'community_worker',
    password: 'ci-community-worker-password-5e02',
    // Grid codes extend their community's code by three digits.
    areaCode: gridCode.slice(0, -3),
  };
  addUser(env.server.dataDir, worker);
  const roster = [
    '地址,网格,姓名,公民身份号码,与户主关系,联系电话,标签',
    `春望里1号,${gridCode},钱一,${identityNumber(11)},户主,13800138011,returned:某地:2026-11-20`,
    `春望里1号,${gridCode},钱二,${identityNumber(12)},配偶,13800138012,`,
    `春望里2号,${gridCode},孙三,${identityNumber(13)},户主,,returned:某地:2026-11-25`,
  ].join('\n');

  addUser(env.server.dataDir, RESIDENT);

  await withPage(t, env.browser, env.baseUrl, {}, async (_context, page) => {
    await createReturnedTag(page);
    await logIn(page, env.baseUrl, RESIDENT);
    const residentUserId = (await getJson(page, '/api/v1/me')).user_id;
    await logOut(page);
    await logIn(page, env.baseUrl, worker);

    await page.goto(`${env.baseUrl}/residents/import`);
    await assertAccessible(page, '/residents/import');
    await page.locator('#file').setInputFiles({
      name: 'roster.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(roster, 'utf8'),
    });
    await submit(page, page.locator('main form:has(#file) [type="submit"]'));
    assert.equal(await page.locator('#problem-count').innerText(), '0', 'dry run without problems');
    await assertAccessible(page, 'import dry run report');
    await submit(page, page.locator('main form:has(input[name="staged_id"]) [type="submit"]'));
    assert.match(page.url(), /\/residents\/import\/[0-9a-f-]{36}$/, 'apply opens the progress page');
    assert.equal(await page.locator('#import-progress').count(), 1, 'progress bar shown');
    // htmx swaps in the progress block every second until the job has ended.
    await page.locator('#import-job[data-state="done"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#residents-written').innerText(), '3', 'three residents written');
    await assertAccessible(page, 'import progress page, done');
    await Promise.all([page.waitForNavigation(), page.locator('#import-job a[href="/residents"]').click()]);
    assert.match(await page.locator('main table').innerText(), /孙三/, 'imported resident listed');
    await assertAccessible(page, '/residents');
    await page.locator('main a[href^="/residents/households/"]').first().click();
    await page.waitForLoadState();
    await assertAccessible(page, 'household page');

    await page.goto(`${env.baseUrl}/resident-notices/new`);
    await assertAccessible(page, '/resident-notices/new');
    const form = page.locator('main form[action^="/resident-notices/new"]');
    await form.locator('#title').fill('返回人员健康登记');
    await form.locator('#body').fill('请近日从某地返回的居民到社区登记。');
    await form.locator('input[name="priority"][value="urgent"]').check();
    await form.locator('input[name="tags"][value="returned"]').check();
    await form.locator('#returned_from_area').fill('某地');
    await form.locator('#returned_since').fill('2026-11-01');
    await form.locator('#attachments').setInputFiles({
      name: GUIDE_NAME,
      mimeType: 'application/pdf',
      buffer: GUIDE_PDF,
    });
    await submit(page, form.locator('button[value="preview"]'));
    assert.match(await page.locator('#preview-count').innerText(), /\b2\b/, 'two returned residents');
    const kept = page.locator('#kept-files input[name="attachment_ids"]');
    assert.equal(await kept.count(), 1, 'the uploaded PDF stays attached after the preview');
    assert.equal(await kept.isChecked(), true);
    await assertAccessible(page, 'composer with the preview count and a kept file');
    await submit(page, page.locator('main form button[value="send"]'));
    assert.match(page.url(), /\/resident-notices\/\d+\?notice=notice-resident-notice-sent$/, 'sent');
    const noticePath = new URL(page.url()).pathname;
    assert.equal(await page.locator('#notice-attachments a').innerText(), GUIDE_NAME, 'file listed');
    assert.equal(await page.locator('#count-unread').innerText(), '2', 'both unread');
    assert.equal(await page.evaluate(() => typeof window.htmx), 'object', 'htmx polls the counts');
    await assertAccessible(page, 'receipts page');
    await page.goto(`${env.baseUrl}/resident-notices`);
    await assertAccessible(page, '/resident-notices');
    await linkResidentAccount(page, residentUserId);
    await logOut(page);

    makeFollowUpDue();
    await logIn(page, env.baseUrl, env.server.gridWorker);
    await page.goto(`${env.baseUrl}/resident-notices/follow-up`);
    await assertAccessible(page, '/resident-notices/follow-up');
    const row = page.locator('main tbody tr', { hasText: '钱一' });
    await row.locator('select[name="method"]').selectOption('visit');
    await row.locator('select[name="outcome"]').selectOption('reached');
    await row.locator('input[name="note"]').fill('已上门告知');
    await submit(page, row.locator('[type="submit"]'));
    assert.match(page.url(), /notice=notice-follow-up-recorded$/, 'follow-up recorded');
    assert.equal(await page.locator('main tbody tr', { hasText: '钱一' }).count(), 0, 'reached resident left');
    assert.equal(await page.locator('main tbody tr', { hasText: '孙三' }).count(), 1, 'other resident stays');
    await assertAccessible(page, 'follow-up list after recording');
    await logOut(page);

    await logIn(page, env.baseUrl, RESIDENT);
    const noticeId = noticePath.split('/').pop();
    await page.goto(`${env.baseUrl}/portal/notices/${noticeId}`);
    await assertAccessible(page, 'portal notice with an attachment');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#notice-attachments a', { hasText: GUIDE_NAME }).click(),
    ]);
    assert.equal(download.suggestedFilename(), GUIDE_NAME, 'the Chinese file name survives');
    assert.deepEqual(readFileSync(await download.path()), GUIDE_PDF, 'the same bytes');
    await logOut(page);
  });
});
