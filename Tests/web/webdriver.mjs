// webdriver.mjs: a minimal WebDriver client for the browser tests (chromedriver + one headless Chromium session).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';

/** A minimal WebDriver client: starts chromedriver and one headless Chromium session. */
export async function webDriver() {
  const which = spawnSync('which', ['chromedriver', 'chromium'], { encoding: 'utf8' }).stdout.trim().split('\n');
  assert.equal(which.filter(Boolean).length, 2, 'chromedriver and chromium are needed for the browser tests (apt-get install chromium chromium-driver)');
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const driver = spawn('chromedriver', [`--port=${port}`], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${JSON.stringify(json.value).slice(0, 400)}`);
    return json.value;
  };
  for (let i = 0; ; i++) {
    try { if ((await call('GET', '/status')).ready) break; } catch (e) { if (i > 100) throw e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  const session = await call('POST', '/session', { capabilities: { alwaysMatch: { browserName: 'chrome', timeouts: { script: 120000 },
    'goog:chromeOptions': { args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--window-size=1200,1000'] } } } });
  const s = `/session/${session.sessionId}`;
  return {
    open: (url) => call('POST', `${s}/url`, { url }),
    /** Runs `body` (async function text, may use `args`) in the page; a thrown error comes back as {error}. */
    run: (body, ...args) => call('POST', `${s}/execute/async`, { args, script:
      `const done = arguments[arguments.length - 1]; const args = Array.from(arguments).slice(0, -1);
       (async () => { ${body} })().then(done, (e) => done({ error: String(e && e.message || e) }));` }),
    screenshot: async () => Buffer.from(await call('GET', `${s}/screenshot`), 'base64'),
    close: async () => { try { await call('DELETE', s); } finally { driver.kill(); } },
  };
}
