// Drives the Agents Playground web UI in headless Debian Chromium (playwright-core, never a browser
// download) and saves screenshots: node ui.js BASE_URL OUT_DIR QUESTION OUT_OF_SCOPE_QUESTION
// Prints one JSON line: the text of the cards it saw and the screenshot paths.
// Run only inside the loopback-only namespace (tests/e2e/driver.py).
const path = require('path');
const { chromium } = require('playwright-core');

const [base, outDir, question, outOfScope] = process.argv.slice(2);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps',
  '--disable-extensions', '--metrics-recording-only', '--no-pings'];

async function cardCount(page) {
  return page.locator('.ac-adaptiveCard').count();
}

async function ask(page, text, before) {
  const box = page.locator('[role=textbox]').first();
  await box.click();
  await box.type(text);
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('.ac-adaptiveCard').length > n, before,
    { timeout: 30000 });
  await page.waitForTimeout(800);  // let the card finish rendering
  const card = page.locator('.ac-adaptiveCard').last();
  await card.scrollIntoViewIfNeeded();
  return card;
}

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
    await page.goto(base, { waitUntil: 'networkidle' });
    await page.getByRole('treeitem', { name: 'Personal Chat' }).click();
    // opening the page installs the app in the personal chat (no welcome card there: prompt starters)
    await page.locator('[role=textbox]').first().waitFor({ timeout: 30000 });
    await page.waitForTimeout(1500);
    const closeLog = page.locator('button[aria-label="Close"], button[title="Close"]');
    if (await closeLog.count()) await closeLog.first().click().catch(() => {});
    const result = { shots: {} };

    const answer = await ask(page, question, await cardCount(page));
    result.answer_text = await answer.innerText();
    result.shots.answer = path.join(outDir, 'answer-card.png');
    await page.screenshot({ path: result.shots.answer });

    // Teams' built-in feedback under the answer: 👎 opens the form
    try {
      await page.getByRole('button', { name: 'Dislike' }).last().click();
      const form = page.getByPlaceholder(/Give as much detail/);
      await form.waitFor({ timeout: 10000 });
      await form.fill('I need to retire a map layer on the Geodata Portal, not a table');
      await page.waitForTimeout(500);
      result.shots.feedback = path.join(outDir, 'feedback-form.png');
      await page.screenshot({ path: result.shots.feedback });
      result.feedback_text = await page.getByRole('dialog').last().innerText();
      await page.getByRole('button', { name: 'Submit' }).last().click();
      await page.waitForTimeout(1500);
      result.feedback_after = await page.getByRole('dialog').last().innerText().catch(() => '');
      for (let i = 0; i < 3 && await page.getByRole('dialog').count(); i++) {   // "Thank you!": close it
        const close = page.getByRole('dialog').last().getByRole('button', { name: /close/i });
        if (await close.count()) await close.last().click(); else await page.keyboard.press('Escape');
        await page.waitForTimeout(500);
      }
    } catch (e) {
      result.feedback_error = String(e).slice(0, 500);
    }

    const escalation = await ask(page, outOfScope, await cardCount(page));
    result.escalation_text = await escalation.innerText();
    result.shots.escalation = path.join(outDir, 'escalation.png');
    await page.screenshot({ path: result.shots.escalation });

    // the compose-box search (message extension): type a few words, see the sections
    try {
      await page.getByRole('button', { name: 'Trigger Message Extension App' }).first().click();
      await page.getByRole('menuitem', { name: 'Search Command' }).click();
      const search = page.getByPlaceholder('Enter a search term');
      await search.waitFor({ timeout: 10000 });
      await search.fill('retire a dataset');
      await page.waitForTimeout(3000);
      result.shots.search = path.join(outDir, 'compose-search.png');
      await page.screenshot({ path: result.shots.search });
      result.search_text = await search.evaluate((el) => {   // the search popover: input and its results
        let node = el;
        while (node.parentElement && !node.innerText.includes('Message Extension')) node = node.parentElement;
        return node.innerText;
      });
    } catch (e) {
      result.search_error = String(e).slice(0, 500);
    }
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
