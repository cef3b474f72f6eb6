// Measures the web view's time to first map and to a full table, for the
// README's figures: node tests/web/first_map.mjs (same environment as
// drive.mjs, without SCREENSHOT). Prints one JSON line.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const context = await chromium.launchPersistentContext(process.env.PROFILE, {
  executablePath: '/usr/bin/chromium', headless: true, args: flags, viewport: { width: 1600, height: 1000 },
});
const out = {};
try {
  const page = context.pages()[0] || await context.newPage();
  const started = Date.now();
  await page.goto(process.env.LOGIN, { waitUntil: 'domcontentloaded', timeout: 60000 });
  await page.locator('#map .node').first().waitFor({ timeout: 60000 });
  out.first_map_ms = Date.now() - started;
  out.map_nodes = await page.locator('#map .node').count();
  await page.waitForFunction(() => Number(document.getElementById('total').textContent) > 0, null, { timeout: 60000 });
  out.table_first_rows_ms = Date.now() - started;
  out.total = Number(await page.locator('#total').textContent());
  await page.waitForFunction(() => Number(document.getElementById('rows').dataset.loaded) === Number(document.getElementById('total').textContent), null, { timeout: 60000 });
  out.table_full_ms = Date.now() - started;
  out.rows_in_dom = await page.locator('#spacer .row').count();
  const t = Date.now();
  await page.locator('#rows').focus();
  for (let i = 0; i < 200; i += 1) await page.keyboard.press('j');
  out.j_200_ms = Date.now() - t;
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
