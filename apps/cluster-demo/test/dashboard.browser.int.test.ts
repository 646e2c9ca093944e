import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import playwright, { type BrowserContext, type Page } from 'playwright-core';
import { type RunningDemo, startDemo } from './demo-process.js';

/**
 * The dashboard driven in headless Chromium the way a person uses it: sign in, watch every worker,
 * create sessions and fire requests from the request panel, revoke one, freeze Redis and watch the
 * breakers open and requests answer 503, thaw it and watch recovery. The last step writes the
 * screenshot the demo's README shows. Every wait is for a condition in the page, never a sleep.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Flags for a root user on a machine without network: no sandbox, no background connections. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// The README's picture is refreshed on demand (SEC_UPDATE_SCREENSHOT=1); an ordinary run writes its
// screenshot to a temporary folder, so running the suite never leaves the working tree modified.
const SCREENSHOT =
  process.env.SEC_UPDATE_SCREENSHOT === '1'
    ? join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'dashboard.png')
    : join(tmpdir(), `sec-dashboard-${process.pid}.png`);
const WORKERS = ['1', '2'];

const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(
    `SKIPPED: the dashboard browser test needs Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it). Set CHROMIUM_PATH to use another.`,
  );
}

(available ? describe : describe.skip)('the dashboard in headless Chromium', () => {
  let demo: RunningDemo;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let panelSessions: string[] = [];
  const started = performance.now();

  beforeAll(async () => {
    // Development without REDIS_URL: the demo starts (and owns) a throwaway redis-server.
    demo = await startDemo({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'development',
      SEC_LOG_LEVEL: 'warn',
      WORKERS: String(WORKERS.length),
    });
    profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
    context = await playwright.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Failed fetches (the 401s and 503s this test provokes) are logged by Chromium too: only a
    // refusal by the page's own Content-Security-Policy counts as a problem.
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await demo?.stop();
    console.log(`dashboard browser test: ${Math.round(performance.now() - started)} ms`);
  });

  /** Clicks a request panel button for a session; resolves to the status of that very request. */
  async function fire(sessionId: string): Promise<string> {
    const seq = Number(await page.locator('#log').getAttribute('data-count')) + 1;
    await page
      .locator(`#panel-sessions li[data-panel-session="${sessionId}"] button`, { hasText: 'GET /api/me' })
      .click();
    const row = page.locator(`#log tr[data-seq="${seq}"]`);
    await row.waitFor();
    return (await row.getAttribute('data-status')) ?? '';
  }

  const eachWorker = (selector: (id: string) => string) =>
    Promise.all(WORKERS.map((id) => page.locator(selector(id)).waitFor()));

  it('signs an admin in through the form and shows every worker, live', async () => {
    await page.goto(demo.base);
    await page.locator('#sign-in-username').fill('admin');
    await page.locator('#sign-in-password').fill('admin-password');
    await page.locator('#sign-in-form button[type="submit"]').click();
    await page.locator('#stream-state[data-state="live"]').waitFor();
    await eachWorker((id) => `#workers tr[data-worker="${id}"][data-breaker="closed"][data-stale="false"]`);
    await page.locator('#redis-state[data-state="running"]').waitFor();
    // The session cookie is out of the page's reach.
    const cookies = await context.cookies(demo.base);
    expect(cookies.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite])).toEqual([
      ['__Host-sec_session', true, true, 'Strict'],
    ]);
    expect(await page.evaluate('document.cookie')).toBe('');
  });

  it('shows a hostile device description as text, then revokes all of that user’s sessions with one click', async () => {
    const agent = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`;
    const sessions: { sessionId: string; accessToken: string }[] = [];
    for (const _ of [1, 2]) {
      const answer = await fetch(`${demo.base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': agent },
        body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
      });
      expect(answer.status).toBe(201);
      sessions.push((await answer.json()) as { sessionId: string; accessToken: string });
    }
    const device = page.locator(`#sessions tr[data-session-id="${sessions[1]!.sessionId}"] td.device`);
    await device.waitFor();
    expect(await device.getAttribute('title')).toBe(agent);
    expect(await page.locator('#sessions img, #sessions script').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');

    await page.locator('#sessions [data-user="bob"] button', { hasText: 'Revoke all' }).click();
    for (const { sessionId, accessToken } of sessions) {
      await page.locator(`#sessions tr[data-session-id="${sessionId}"]`).waitFor({ state: 'detached' });
      const me = await fetch(`${demo.base}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(me.status).toBe(401);
    }
  });

  it('creates sessions through the request panel; they appear in the session list; requests answer 200 and name their worker', async () => {
    await page.locator('#api-username').fill('alice');
    await page.locator('#api-password').fill('alice-password');
    for (const n of [1, 2]) {
      await page.locator('#api-login button[type="submit"]').click();
      await page
        .locator('#panel-sessions li')
        .nth(n - 1)
        .waitFor();
    }
    const items = page.locator('#panel-sessions li');
    panelSessions = await Promise.all(
      [0, 1].map(async (i) => (await items.nth(i).getAttribute('data-panel-session')) ?? ''),
    );
    expect(panelSessions).toHaveLength(2);
    for (const id of panelSessions) await page.locator(`#sessions tr[data-session-id="${id}"]`).waitFor();
    expect(await page.locator('#sessions [data-user="alice"] tr').count()).toBe(2);

    expect(await fire(panelSessions[0]!)).toBe('200');
    expect(await fire(panelSessions[1]!)).toBe('200');
    const workers = await page.locator('#log tbody tr td:nth-child(6)').allTextContents();
    expect(workers.every((w) => WORKERS.includes(w))).toBe(true);
    await page.locator('#limits tr[data-limit="global-ip"]').waitFor();
    await page.locator('#limits tr[data-limit="per-user:alice"]').waitFor();
  });

  it('revokes one session: it vanishes from the list, its next request answers 401, and the audit trail shows it', async () => {
    const [revoked, kept] = panelSessions as [string, string];
    await page.locator(`#sessions tr[data-session-id="${revoked}"] button`, { hasText: 'Revoke' }).click();
    await page.locator(`#sessions tr[data-session-id="${revoked}"]`).waitFor({ state: 'detached' });
    await page.locator(`#sessions tr[data-session-id="${kept}"]`).waitFor();
    expect(await fire(revoked)).toBe('401');
    expect(await fire(kept)).toBe('200');
    await page.locator('#audit tbody tr[data-type="session.revoke"]', { hasText: 'alice' }).first().waitFor();
  });

  it('pauses Redis: requests answer 503 with Retry-After and every worker’s breaker opens', async () => {
    await page.locator('#pause').click();
    await page.locator('#redis-state[data-state="paused"]').waitFor();
    expect(await fire(panelSessions[1]!)).toBe('503');
    await expect(page.locator('#log tbody tr').first().textContent()).resolves.toMatch(/Retry-After: \d+/);
    await eachWorker((id) => `#workers tr[data-worker="${id}"][data-breaker="open"]`);
    expect(await fire(panelSessions[1]!)).toBe('503');
    await page.locator('#stream-state[data-state="unverified"]').waitFor();
  });

  it('resumes Redis: every breaker closes, requests answer 200 again, and the screenshot is written', async () => {
    await page.locator('#resume').click();
    await page.locator('#redis-state[data-state="running"]').waitFor();
    await eachWorker((id) => `#workers tr[data-worker="${id}"][data-breaker="closed"][data-redis="ok"]`);
    expect(await fire(panelSessions[1]!)).toBe('200');
    await page.locator('#stream-state[data-state="live"]').waitFor();
    await page.locator('#health [data-probe="detailed"][data-status="200"]').waitFor();
    expect(problems).toEqual([]);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    console.log(`dashboard screenshot written to ${SCREENSHOT}`);
  });
});
