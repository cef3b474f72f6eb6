// Drives headless Chromium through the web view for tests/web_view.rs and
// prints one JSON line of what it saw. Each wait has a deadline; a failed
// wait throws, and the error goes to stderr with the exit code 1.
//
// Environment: PLAYWRIGHT (path to playwright-core), LOGIN (the one-time
// login link), PROFILE (a fresh user-data dir), SCREENSHOT (a .png path).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);

const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const context = await chromium.launchPersistentContext(process.env.PROFILE, {
  executablePath: '/usr/bin/chromium', headless: true, args: flags, viewport: { width: 1600, height: 1000 },
});
const out = { console_errors: [] };
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text()); });
  page.on('pageerror', (e) => out.console_errors.push(String(e)));

  const started = Date.now();
  const response = await page.goto(process.env.LOGIN, { waitUntil: 'domcontentloaded', timeout: 15000 });
  out.landed = new URL(page.url()).pathname;
  out.csp = (await response.allHeaders())['content-security-policy'] || null;

  // The map: bash (pid 3401) drawn as critical.
  const bash = page.locator('#map .node[data-id="p_3401"]');
  await bash.waitFor({ timeout: 15000 });
  out.first_map_ms = Date.now() - started;
  out.bash_severity = await bash.getAttribute('data-severity');
  out.bash_fill = await bash.locator('circle').evaluate((c) => getComputedStyle(c).fill);

  // A click opens its detail with the trace.
  await bash.click();
  await page.locator('#detail:not([hidden]) .trace li').first().waitFor({ timeout: 10000 });
  out.detail_text = await page.locator('#detail-body').innerText();
  await page.keyboard.press('Escape');
  out.detail_closed = await page.locator('#detail').isHidden();

  // The table, then the filter narrows it (through the server's filter).
  await page.waitForFunction(() => Number(document.getElementById('total').textContent) > 1, null, { timeout: 10000 });
  out.total_before = Number(await page.locator('#total').textContent());
  out.rows_in_dom = await page.locator('#spacer .row:not([hidden])').count();
  await page.keyboard.press('/');
  out.filter_focused = await page.evaluate(() => document.activeElement.id === 'filter');
  await page.keyboard.type('proc:bash');
  await page.waitForFunction(() => document.getElementById('total').textContent === '1', null, { timeout: 10000 });
  out.total_after = Number(await page.locator('#total').textContent());
  out.first_row = await page.locator('#spacer .row:not([hidden])').first().innerText();
  await page.locator('#filter').fill('sev>=bogus');
  await page.locator('#filter-error').filter({ hasText: 'severity' }).waitFor({ timeout: 10000 });
  out.filter_error = await page.locator('#filter-error').textContent();

  // A finding that is new in the replay arrives over SSE.
  const ev = page.locator('#events li.ev-finding_new').first();
  await ev.waitFor({ timeout: 90000 }); // a loaded CI machine replays slowly
  out.event_text = await ev.innerText();
  out.event_delay_ms = Number(await ev.getAttribute('data-arrived')) - Number(await ev.getAttribute('data-at'));

  // The theme toggles.
  const before = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.locator('#theme').click();
  out.theme_changed = before !== await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.locator('#theme').click();

  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: false });
  out.screenshot = process.env.SCREENSHOT;
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
