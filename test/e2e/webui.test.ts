import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { serveDir } from '../helpers/fileServer.js';
import type { TestServer } from '../helpers/httpServer.js';
import { repoRoot, tempHome, vmlabBin } from '../helpers/cli.js';
import { tinyGuest } from '../helpers/tinyGuest.js';

/*
 * The web UI in a real browser (Debian's chromium driven by playwright-core)
 * against a real `vmlab serve` and a real 2-node lab of the tiny guest. Every
 * view is screenshotted into screenshots/ (git-ignored). This suite's ports:
 * 29000-29400 (server 29050, image server 29060, lab 29100-29140, the
 * wizard's 2-node lab 29200-29230).
 */

const TOKEN = 'webui-token-0123456789abcdefghij';
const H = { authorization: `Bearer ${TOKEN}` };
const SERVER_PORT = 29050;
const FILES_PORT = 29060;
const LAB = 'weblab';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.VMLAB_SCREENSHOTS ?? join(repoRoot, 'screenshots');

describe('web UI in a real browser', { concurrency: false }, () => {
  const home = tempHome();
  const base = `http://127.0.0.1:${SERVER_PORT}`;
  let server: ChildProcess;
  let files: TestServer;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let stderr = '';
  let deployed: Promise<void>;
  const consoleErrors: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...H, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const waitJob = async (id: string, ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      const j = (await api('GET', `/api/v1/jobs/${id}`)).body as { status: string; error: string | null; log: string };
      if (j.status === 'succeeded') return;
      if (j.status === 'failed' || j.status === 'cancelled')
        throw new Error(`job ${id} ${j.status}: ${j.error}\n${j.log}`);
      if (Date.now() > end) throw new Error(`job ${id} still ${j.status} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const shot = (name: string, p: Page = page) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no browser at ${CHROMIUM}: run ./install.sh (it installs Debian's chromium), or set CHROMIUM to a Chromium binary`,
      );
    mkdirSync(SHOTS, { recursive: true });
    const tiny = await tinyGuest();
    // The catalog image: the tiny guest, served slowly enough to watch the bar (and reload mid-way).
    const dir = mkdtempSync('/tmp/vmlab-webfiles-');
    copyFileSync(tiny, join(dir, 'tiny-web.qcow2'));
    const sum = createHash('sha256')
      .update(readFileSync(join(dir, 'tiny-web.qcow2')))
      .digest('hex');
    copyFileSync(tiny, join(dir, 'tiny-wiz.qcow2'));
    writeFileSync(join(dir, 'SHA256SUMS'), `${sum}  tiny-web.qcow2\n${sum}  tiny-wiz.qcow2\n`);
    files = await serveDir(dir, {
      bytesPerSec: { '/tiny-web.qcow2': 3 * 1024 * 1024, '/tiny-wiz.qcow2': 6 * 1024 * 1024 },
      port: FILES_PORT,
    });
    const catalog = join(dir, 'catalog.json');
    writeFileSync(
      catalog,
      JSON.stringify({
        images: [
          {
            id: 'tiny-web',
            name: 'vmlab tiny test guest',
            distro: 'debian',
            version: '12',
            arch: 'x86_64',
            url: `${files.url}/tiny-web.qcow2`,
            checksum: { url: `${files.url}/SHA256SUMS`, style: 'gnu' },
            format: 'qcow2',
            defaultUser: 'root',
            cloudInit: true,
          },
          // Listed by the wizard among the images "from the catalog, pulled first".
          {
            id: 'tiny-wiz',
            name: 'vmlab tiny guest for the wizard',
            distro: 'debian',
            version: '12',
            arch: 'x86_64',
            url: `${files.url}/tiny-wiz.qcow2`,
            checksum: { url: `${files.url}/SHA256SUMS`, style: 'gnu' },
            format: 'qcow2',
            defaultUser: 'root',
            cloudInit: true,
          },
        ],
      }),
    );
    // The tiny guest is imported by path: its cache dir is a root the server may read.
    server = spawn(vmlabBin, ['serve', '--listen', `127.0.0.1:${SERVER_PORT}`, '--allow-path', dirname(tiny)], {
      env: {
        ...process.env,
        VMLAB_HOME: home,
        VMLAB_API_TOKEN: TOKEN,
        VMLAB_CATALOG: catalog,
        VMLAB_ACCEL: process.env.VMLAB_ACCEL ?? '',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const end = Date.now() + 20_000;
    while (!stderr.includes('login link:')) {
      if (Date.now() > end || server.exitCode !== null) throw new Error(`the server did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The lab boots (TCG: tens of seconds) while the browser works through the image views.
    const imp = await api('POST', '/api/v1/images/import', { path: tiny, name: 'tiny' });
    assert.equal(imp.status, 202, JSON.stringify(imp.body));
    deployed = (async () => {
      await waitJob(imp.body.job_id, 120_000);
      const r = await api('POST', '/api/v1/labs', {
        name: LAB,
        topology: {
          devices: {
            r1: { interfaces: { eth1: { link: 'r2:eth1' } } },
            r2: { interfaces: { eth1: { link: 'r1:eth1' } } },
          },
          vmlab: { name: LAB, link_port_base: 29100, console_port_base: 29110, ssh_port_base: 29120 },
        },
        platforms: {
          platforms: {
            tiny: {
              vm_image: 'tiny',
              vm_memory: 256,
              vm_cpus: 1,
              vm_nic_driver: 'virtio-net-pci',
              vm_interface_map: 'linux',
              vm_credentials: { user: 'root', pass: 'vmlab' },
              vm_boot_timeout: 240,
            },
          },
        },
        profiles: { r1: { platform: 'tiny' }, r2: { platform: 'tiny' } },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      await waitJob(r.body.job_id, 300_000);
    })();
    deployed.catch(() => undefined); // awaited by the lab test
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (server && server.exitCode === null) {
      await api('DELETE', `/api/v1/labs/${LAB}`).catch(() => undefined);
      server.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    await files?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('without the login link: a page that says how to get it, not a blank screen; a wrong token says so', async () => {
    const anon = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const anonErrors: string[] = [];
    anon.on('console', (m) => m.type() === 'error' && anonErrors.push(m.text()));
    await anon.goto(`${base}/images`);
    await anon.getByRole('heading', { name: 'Sign in to vmlab' }).waitFor();
    assert.match((await anon.textContent('body')) ?? '', /login link/);
    await shot('login-help', anon);
    assert.deepEqual(anonErrors, []);
    await anon.goto(`${base}/labs#token=wrong-token-0123456789`);
    await anon.getByText(/does not match this server/).waitFor();
    assert.equal(new URL(anon.url()).hash, '', 'the wrong token is dropped from the URL');
    assert.equal(await anon.evaluate(() => sessionStorage.getItem('vmlab_token')), null, 'and forgotten');
    // The old ?token= link form: a wrong one is the server's page.
    await anon.goto(`${base}/labs?token=wrong`);
    assert.match((await anon.textContent('h1')) ?? '', /not valid/);
    await anon.close();
  });

  it('the login link signs in and leaves the address bar, with no cookie; the catalog is interactive fast', async () => {
    const line = /login link: (\S+)/.exec(stderr)![1]!;
    assert.equal(line, `${base}/#token=${TOKEN}`, 'the token is in the fragment, which the browser never sends');
    await page.goto(line);
    await page.getByRole('searchbox').waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the token is dropped from the URL');
    assert.equal(new URL(page.url()).search, '');
    // Nothing a browser sends on its own: no cookie for 127.0.0.1 (it would go to every local port).
    assert.deepEqual(await ctx.cookies(), []);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('vmlab_token')), TOKEN);
    // The attack: another web service on this host (here the image server, another port of 127.0.0.1)
    // opened in the signed-in browser receives nothing of the login.
    const other = await ctx.newPage();
    const seen = files.requests.length;
    // The file server answers with a download: the navigation "fails", the request was made.
    await other
      .goto(`${files.url}/SHA256SUMS?from=browser`)
      .catch((e: Error) => assert.match(e.message, /Download is starting/));
    const got = files.requests.slice(seen).find((r) => r.url.endsWith('from=browser'));
    assert.ok(got, 'the other service saw the visit');
    assert.equal(got.headers.cookie, undefined, JSON.stringify(got.headers));
    assert.equal(got.headers.authorization, undefined);
    assert.ok(!JSON.stringify(got.headers).includes(TOKEN));
    await other.close();
    // Time to interactive of /images: navigation start → the cards are there and the search box takes input.
    await page.goto(`${base}/images`);
    await page.locator('[data-testid^="catalog-"]').first().waitFor();
    await page.getByRole('searchbox').focus();
    const tti = await page.evaluate(() => performance.now());
    console.log(`web UI: time to interactive of /images: ${Math.round(tti)} ms`);
    assert.ok(tti < 3000, `TTI ${tti} ms`);
  });

  it('searches the catalog', async () => {
    const before = await page.locator('[data-testid^="catalog-"]').count();
    assert.ok(before > 5, `${before} catalog cards`);
    await page.getByRole('searchbox').fill('tiny test');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid^="catalog-"]').length === 1);
    await page.getByTestId('catalog-tiny-web').getByText('verified').waitFor();
    await page.getByRole('searchbox').fill('ubuntu');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid^="catalog-"] h3')].every((h) => /ubuntu/i.test(h.textContent ?? '')),
    );
    await page.getByRole('searchbox').fill('');
    await shot('catalog');
  });

  it('pulls an image: the bar follows the download through a reload, to 100 %', { timeout: 120_000 }, async () => {
    await page.getByRole('searchbox').fill('tiny');
    const card = page.getByTestId('catalog-tiny-web');
    await card.getByRole('button', { name: /download/i }).click();
    const bar = card.getByRole('progressbar');
    await page.waitForFunction(() => {
      const b = document.querySelector('[data-testid="catalog-tiny-web"] [role="progressbar"]');
      const v = Number(b?.getAttribute('aria-valuenow'));
      return v > 0 && v < 100;
    });
    await shot('catalog-downloading');
    await page.reload();
    await page.getByRole('searchbox').fill('tiny');
    // After the reload the card finds its job again and follows it.
    await bar.waitFor({ timeout: 10_000 });
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="catalog-tiny-web"] [role="progressbar"]')
          ?.getAttribute('aria-valuenow') === '100',
      undefined,
      { timeout: 90_000 },
    );
    await card.getByText('done').waitFor({ timeout: 30_000 });
    await card.getByText('in library').waitFor({ timeout: 15_000 });
    assert.match((await card.textContent()) ?? '', /100 %/);
  });

  it('uploads a qcow2 from the local library tab', { timeout: 60_000 }, async () => {
    const file = join(home, 'web-upload.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '64M']);
    await page.getByRole('link', { name: 'Local' }).click();
    await page.getByTestId('upload-input').setInputFiles(file);
    await page.getByText('Uploaded as “web-upload”').waitFor({ timeout: 30_000 });
    const row = page.getByTestId('image-web-upload');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /ready.*qcow2.*64 MiB/);
    await page.getByTestId('image-tiny-web').waitFor();
  });

  it('a network-device disk: the Local tab names the device and the build is refused with the reason (no vrnetlab checkout)', {
    timeout: 60_000,
  }, async () => {
    const name = 'c8000v-universalk9_16G_serial.17.11.01a';
    const file = join(home, `${name}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
    await page.getByTestId('upload-input').setInputFiles(file);
    await page.getByText(`Uploaded as “${name}”`).waitFor({ timeout: 30_000 });
    const row = page.getByTestId(`image-${name}`);
    await row.getByText('Cisco Catalyst 8000v').waitFor({ timeout: 10_000 });
    const build = page.getByTestId(`build-${name}`);
    await build.getByRole('button', { name: 'Build Docker image' }).click();
    const alert = build.getByRole('alert');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    assert.match(text, /no vrnetlab checkout at /);
    assert.match(text, /git clone https:\/\/github\.com\/srl-labs\/vrnetlab/, 'the hint says how to get one');
    assert.equal(
      (await api('GET', '/api/v1/jobs')).body.filter((j: { kind: string }) => j.kind === 'build').length,
      0,
      'no build job was queued',
    );
    // The browser logs the refused request itself; that one is expected.
    const i = consoleErrors.findIndex((e) => /status of 4\d\d/.test(e));
    if (i >= 0) consoleErrors.splice(i, 1);
    await shot('local');
  });

  it('the new-lab wizard names bad input, deploys a lab and follows the job; the lab is destroyed after a confirmation', {
    timeout: 300_000,
  }, async () => {
    // While the shared lab boots: this lab boots beside it.
    await page.goto(`${base}/labs/new`);
    await page.getByRole('heading', { name: 'New lab' }).waitFor();
    await page.getByRole('button', { name: 'Add a node' }).click();
    await page.getByLabel('Lab name').fill('bad name!');
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByText('a lab name: letters, digits').waitFor();
    await page.getByText('Fix the field marked above.').waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('new-lab');
    await page.getByLabel('Lab name').fill('wizlab');
    for (const memory of await page.getByLabel('Memory (MiB)').all()) await memory.fill('256');
    // A catalog image is offered too (pulled before the deploy); this lab uses the library's tiny guest,
    // which has no cloud-init, so it boots with the platform-less defaults quickly.
    assert.ok(await page.getByLabel('Image').first().locator('option[value="catalog:tiny-wiz"]').count());
    for (const image of await page.getByLabel('Image').all()) await image.selectOption('tiny');
    // Wiring drawn on the graph (lazy-loaded): a link added by the keyboard form shows on the graph with both interfaces;
    // its × removes it; added again, it is the spec's one link.
    await page.getByRole('radio', { name: 'Drawn on the graph' }).check();
    await page.getByTestId('wizard-node-vm2').waitFor();
    const addLink = async () => {
      await page.getByLabel('Link from').selectOption('vm1');
      await page.getByLabel('Link to').selectOption('vm2');
      await page.getByRole('button', { name: 'Add link' }).click();
    };
    await addLink();
    const edge = page.getByTestId('drawn-link-vm1:eth1--vm2:eth1');
    assert.match((await edge.textContent()) ?? '', /eth1 ↔ eth1/);
    await shot('new-lab-drawn');
    await edge.getByRole('button', { name: /^remove link/ }).click();
    await edge.waitFor({ state: 'detached' });
    await addLink();
    assert.deepEqual(await page.getByTestId('drawn-link-row').allTextContents(), ['vm1:eth1 ↔ vm2:eth1Remove']);
    await page.getByLabel(/Port base/).fill('29200');
    const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/labs');
    await page.getByRole('button', { name: 'Deploy' }).click();
    const spec = (await sent).postDataJSON() as { topology: { links: unknown; vmlab: unknown } };
    assert.deepEqual(spec.topology.links, [{ a: 'vm1:eth1', z: 'vm2:eth1' }]);
    assert.deepEqual(spec.topology.vmlab, {
      name: 'wizlab',
      link_port_base: 29200,
      console_port_base: 29210,
      ssh_port_base: 29220,
    });
    await page.getByRole('link', { name: 'Open wizlab' }).waitFor({ timeout: 240_000 });
    // The tiny guest has no account of the wizard's default user: the node is up, and the job log says why vmlab ssh cannot log in.
    assert.match(
      (await page.locator('pre.log').textContent()) ?? '',
      /vm1: its SSH server refused \w+'s login .*vm_credentials/,
    );
    await page.getByRole('link', { name: 'Open wizlab' }).click();
    await page.locator('[data-testid="graph-node-vm1"][data-status="running"]').waitFor({ timeout: 30_000 });
    await page.getByText('eth1 ↔ eth1').first().waitFor();
    assert.match((await page.getByTestId('node-panel-vm1').textContent()) ?? '', /SSH 29220 · console private socket/);
    await page.getByRole('link', { name: 'Labs', exact: true }).first().click();
    const row = page.locator('tr', { hasText: 'wizlab' });
    await row.getByRole('button', { name: 'Destroy' }).click();
    await row.getByRole('button', { name: 'Yes' }).click();
    await row.waitFor({ state: 'detached', timeout: 60_000 });
    assert.equal((await api('GET', '/api/v1/labs/wizlab')).status, 404);
  });

  it('deleting an image a lab uses is refused with the reason', { timeout: 400_000 }, async () => {
    await deployed;
    await page.goto(`${base}/images/local`);
    const row = page.getByTestId('image-tiny');
    await row.getByText(LAB).waitFor({ timeout: 15_000 });
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Yes' }).click();
    const alert = page.getByRole('alert').filter({ hasText: /tiny/ });
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', new RegExp(LAB));
    // The browser logs the refused request itself; that one is expected.
    const i = consoleErrors.findIndex((e) => /status of 409/.test(e));
    if (i >= 0) consoleErrors.splice(i, 1);
    await shot('local-refused');
  });

  it('jobs and labs lists; the keyboard reaches the navigation', async () => {
    // From the top of the page: skip link, brand, Images, Jobs; Enter follows it.
    await page.goto(`${base}/labs`);
    await page.getByRole('link', { name: LAB }).waitFor();
    let focused = '';
    for (let i = 0; i < 6 && focused !== 'Jobs'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
    }
    assert.equal(focused, 'Jobs');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/jobs`);
    await page.getByRole('cell', { name: 'download' }).first().waitFor();
    await shot('jobs');
    await page.getByRole('link', { name: 'Labs', exact: true }).click();
    await page.getByRole('link', { name: LAB }).waitFor();
    assert.match((await page.locator('tr', { hasText: LAB }).textContent()) ?? '', /running.*2 \/ 2/);
    await page.getByRole('link', { name: 'New lab…' }).waitFor();
    await shot('labs');
  });

  it('opens the lab: both nodes running on the graph; logs in on a serial console and reads a command’s output', {
    timeout: 120_000,
  }, async () => {
    await page.goto(`${base}/labs/${LAB}`);
    for (const n of ['r1', 'r2'])
      await page.locator(`[data-testid="graph-node-${n}"][data-status="running"]`).waitFor({ timeout: 30_000 });
    assert.match((await page.locator('.react-flow__edge-text').first().textContent()) ?? '', /eth1 ↔ eth1/);
    await page.getByTestId('node-panel-r1').getByRole('button', { name: 'Console' }).click();
    const term = page.getByTestId('console-r1');
    await term.getByText('connected', { exact: true }).waitFor();
    await term.locator('.xterm').click();
    const screen = term.locator('.xterm-rows');
    const typeAndWait = async (text: string, expect: RegExp) => {
      await page.keyboard.type(text);
      await page.waitForFunction(
        ([re]) =>
          new RegExp(re!).test(document.querySelector('[data-testid="console-r1"] .xterm-rows')?.textContent ?? ''),
        [expect.source],
        { timeout: 30_000 },
      );
    };
    await typeAndWait('\n', /login:/);
    await typeAndWait('root\n', /Password:/);
    await page.keyboard.type('vmlab\n');
    await new Promise((r) => setTimeout(r, 1000));
    await typeAndWait('echo web-$((6*7))\n', /web-42/);
    assert.match((await screen.textContent()) ?? '', /web-42/);
    // A second console beside it.
    await page.getByRole('button', { name: 'r2' }).click();
    await page.getByTestId('node-panel-r2').getByRole('button', { name: 'Console' }).click();
    const r2 = page.getByTestId('console-r2');
    await r2.getByText('connected', { exact: true }).waitFor();
    await r2.locator('.xterm').click();
    await page.keyboard.type('\n');
    await r2.getByText(/login:/).waitFor({ timeout: 30_000 });
    await shot('lab');
  });

  it('stops and starts a node from its panel; its console pane connects again by itself', {
    timeout: 240_000,
  }, async () => {
    const panel = page.getByTestId('node-panel-r2');
    const r2 = page.getByTestId('console-r2');
    await panel.getByRole('button', { name: 'Stop' }).click();
    await page.locator('[data-testid="graph-node-r2"][data-status="stopped"]').waitFor({ timeout: 60_000 });
    await r2.getByText('[console closed: reconnecting…]').first().waitFor();
    await panel.getByRole('button', { name: 'Start' }).click();
    await page.locator('[data-testid="graph-node-r2"][data-status="running"]').waitFor({ timeout: 200_000 });
    await r2.getByText('connected', { exact: true }).waitFor({ timeout: 30_000 });
    await r2.locator('.xterm').click();
    await page.keyboard.type('\n');
    await page.waitForFunction(
      () =>
        ((document.querySelector('[data-testid="console-r2"] .xterm-rows')?.textContent ?? '').match(/login:/g) ?? [])
          .length >= 2,
      undefined,
      { timeout: 30_000 },
    );
  });

  it('phone width, dark theme', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/images`);
    await page.locator('[data-testid^="catalog-"]').first().waitFor();
    await shot('phone-catalog');
    await page.goto(`${base}/labs/${LAB}`);
    await page.locator('[data-testid="graph-node-r1"]').waitFor();
    await shot('phone-lab');
  });

  it('no errors in the browser console', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
