// The guide's walk through the in-console editor, click by click, in a real
// browser against the real service. Each step leaves a screenshot in
// test-results/artifacts/screenshots.
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { server } from './server';
import { fileURLToPath } from 'node:url';

const __dirname = fileURLToPath(new URL('.', import.meta.url));

test.describe.configure({ mode: 'serial' });

const shots = join(__dirname, '..', 'test-results', 'screenshots');
const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

let tenantToken = '';

async function signIn(page: Page, token: string) {
  await page.goto(server().baseURL);
  await page.getByLabel('Token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Replaces the whole text of the code editor (Monaco) with `text`, pasted
 * as a user would: typed, it would get Monaco's auto-closed brackets.
 */
async function setCode(page: Page, text: string) {
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  const editor = page.getByTestId('code-editor');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('ControlOrMeta+V');
  await expect(editor).toContainText(text.split('\n')[0].slice(0, 30));
}

test('nothing is loaded from the network but the console itself', async ({ page }) => {
  const elsewhere: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(server().baseURL) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) elsewhere.push(r.url());
  });
  await signIn(page, server().operatorToken);
  await expect(page.getByRole('heading', { name: 'Tenants' })).toBeVisible();
  expect(elsewhere).toEqual([]);
});

test('a wrong token is refused with a reason', async ({ page }) => {
  await signIn(page, 'not-a-token');
  await expect(page.getByRole('alert')).toContainText('not accepted');
});

test('the operator creates a tenant and a token whose secret is shown once', async ({ page }) => {
  await signIn(page, server().operatorToken);
  await page.getByLabel('Tenant name').fill('Acme Corp');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await expect(page.getByRole('button', { name: /Acme Corp/ })).toBeVisible();
  await page.getByLabel('Token name').fill('console');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = page.getByLabel('New token secret');
  await expect(secret).not.toHaveValue('');
  tenantToken = await secret.inputValue();
  await shot(page, '01-tenant-token');
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await expect(page.getByLabel('New token secret')).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('New action from the Custom claim starter: metadata, Test tab, Save publishes', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.getByRole('link', { name: 'Actions' }).click();
  await expect(page.getByText('No Actions yet')).toBeVisible();
  await page.getByRole('button', { name: 'New action' }).click();
  await expect(page.getByRole('button', { name: /Empty/ })).toBeVisible();
  await expect(page.getByRole('button', { name: /Domain allowlist/ })).toBeVisible();
  await expect(page.getByRole('button', { name: /Webhook emit/ })).toBeVisible();
  await page.getByRole('button', { name: /Custom claim/ }).click();

  await page.getByLabel('Name', { exact: true }).fill('Tier claim');
  await expect(page.getByLabel('Slug', { exact: true })).toHaveValue('tier-claim');
  await expect(page.getByLabel('Version', { exact: true })).toHaveValue('0.1.0');
  await expect(page.getByRole('checkbox', { name: 'login.post-login' })).toBeChecked();
  await expect(page.getByTestId('code-editor')).toContainText('setCustomClaim');
  await shot(page, '02-editor-custom-claim');

  await page.getByRole('tab', { name: 'Test' }).click();
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page.getByTestId('decision')).toHaveText('allow');
  await expect(page.getByTestId('outcome')).toHaveText('allowed');
  await expect(page.getByTestId('Access-token claims')).toContainText('https://example.com/tier');
  await expect(page.getByTestId('ID-token claims')).toContainText('https://example.com/tier');
  await expect(page.getByRole('list', { name: 'Logs' })).toContainText('tier is');
  await shot(page, '03-test-tab');

  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Published 0.1.0');
  await expect(page.getByLabel('Version', { exact: true })).toHaveValue('0.1.1');
  await expect(page.getByLabel('Slug', { exact: true })).toHaveAttribute('readonly', '');
  await shot(page, '04-published');

  await page.getByRole('link', { name: 'Actions' }).click();
  const row = page.getByRole('row', { name: /Tier claim/ });
  await expect(row).toContainText('tier-claim');
  await expect(row).toContainText('0.1.0');
  await expect(row).toContainText('login.post-login');
});

test('a compile error is marked at its line, and a repeated version is refused inline', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.goto(`${server().baseURL}/#/actions/tier-claim`);
  await expect(page.getByTestId('code-editor')).toContainText('setCustomClaim');
  await setCode(page, 'export async function execute(event, api) {\n  const x = ;\n  return api.access.allow();\n}\n');
  await page.getByRole('tab', { name: 'Test' }).click();
  await page.getByRole('button', { name: 'Run' }).click();
  const problem = page.getByTestId('compile-problem');
  await expect(problem).toContainText('src/index.ts, line 2, column');
  await expect(page.getByTestId('code-editor').locator('.squiggly-error').first()).toBeVisible();
  await shot(page, '05-compile-error');

  // Save refuses too, and keeps the edits.
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Nothing was saved' })).toBeVisible();
  await expect(page.getByTestId('code-editor')).toContainText('const x = ;');

  await setCode(page, "export async function execute(event, api) {\n  api.accessToken.setCustomClaim('https://example.com/v', 2);\n  return api.access.allow();\n}\n");
  await page.getByLabel('Version', { exact: true }).fill('0.1.0');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.locator('#version-problem')).toContainText('exists already');
  await page.getByLabel('Version', { exact: true }).fill('0.0.9');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.locator('#version-problem')).toContainText('not above the latest');
  await shot(page, '06-version-refused');
  await page.getByLabel('Version', { exact: true }).fill('0.2.0');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByRole('status')).toContainText('Saved 0.2.0 as a draft');
});

test('versions: a diff against the previous one, publish, and roll back', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.goto(`${server().baseURL}/#/actions/tier-claim`);
  await page.getByRole('tab', { name: 'Versions' }).click();
  const draft = page.getByRole('row', { name: /^0\.2\.0 / });
  await expect(draft).toContainText('draft');
  await expect(page.getByRole('row', { name: /^0\.1\.0 / })).toContainText('live');
  await draft.getByRole('button', { name: 'Changes since 0.1.0' }).click();
  const diff = page.getByRole('region', { name: 'Changes from 0.1.0 to 0.2.0' });
  await expect(diff).toContainText('https://example.com/v');
  await shot(page, '07-diff');
  await draft.getByRole('button', { name: 'Publish 0.2.0' }).click();
  await expect(page.getByRole('row', { name: /^0\.2\.0 / })).toContainText('live');
  await page.getByRole('row', { name: /^0\.1\.0 / }).getByRole('button', { name: 'Publish 0.1.0' }).click();
  await expect(page.getByRole('row', { name: /^0\.1\.0 / })).toContainText('live');
  await expect(page.getByRole('row', { name: /^0\.2\.0 / })).toContainText('was published');
});

test('the schema builder and the JSON view stay in step', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.goto(`${server().baseURL}/#/actions/new/empty`);
  await page.getByRole('button', { name: 'Add field' }).click();
  const field = page.getByRole('group', { name: 'Field field_1' });
  await field.getByLabel('Field name').fill('retries');
  await page.getByRole('group', { name: 'Field retries' }).getByLabel('Type').selectOption('integer');
  await page.getByRole('group', { name: 'Field retries' }).getByLabel('Default').fill('3');
  await page.getByRole('group', { name: 'Field retries' }).getByLabel('Required').check();
  await page.getByRole('tab', { name: 'JSON' }).click();
  const json = page.getByLabel('Config schema JSON');
  const written = JSON.parse(await json.inputValue());
  expect(written.properties.retries).toEqual({ type: 'integer', default: 3 });
  expect(written.required).toEqual(['retries']);
  written.properties.mode = { type: 'string', enum: ['fast', 'safe'], description: 'how' };
  await json.fill(JSON.stringify(written, null, 2));
  await page.getByRole('tab', { name: 'Builder' }).click();
  const mode = page.getByRole('group', { name: 'Field mode' });
  await expect(mode.getByLabel('Type')).toHaveValue('one-of');
  await expect(mode.getByLabel('Values (comma-separated)')).toHaveValue('fast, safe');
  await expect(mode.getByLabel('Description')).toHaveValue('how');
  await shot(page, '08-schema-builder');
  // The Test tab's config form follows the schema.
  await page.getByRole('tab', { name: 'Test' }).click();
  await expect(page.getByRole('spinbutton', { name: 'retries (required)' })).toBeVisible();
  await expect(page.getByRole('combobox', { name: 'mode', exact: true })).toBeVisible();
});

test('the editor\'s tabs and the schema views move with the arrow keys, Home and End', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.getByRole('button', { name: 'New action' }).click();
  await page.getByRole('button', { name: /Empty/ }).click();
  const code = page.getByRole('tab', { name: 'Code' });
  const testTab = page.getByRole('tab', { name: 'Test' });
  await code.click();
  await code.press('ArrowRight');
  await expect(testTab).toHaveAttribute('aria-selected', 'true');
  await expect(testTab).toBeFocused();
  await expect(page.getByRole('button', { name: 'Run' })).toBeVisible();
  // A new Action has two tabs: past the last, the first again.
  await testTab.press('ArrowRight');
  await expect(code).toHaveAttribute('aria-selected', 'true');
  await code.press('End');
  await expect(testTab).toHaveAttribute('aria-selected', 'true');
  await testTab.press('Home');
  await expect(code).toHaveAttribute('aria-selected', 'true');
  const builder = page.getByRole('tab', { name: 'Builder' });
  await builder.click();
  await builder.press('ArrowLeft');
  await expect(page.getByRole('tab', { name: 'JSON' })).toHaveAttribute('aria-selected', 'true');
});

for (const [starter, decision] of [
  ['Empty', 'allow'],
  ['Domain allowlist', 'allow'],
  ['Webhook emit', 'allow'],
] as const) {
  test(`the Test tab runs the ${starter} starter`, async ({ page }) => {
    await signIn(page, tenantToken);
    await page.getByRole('button', { name: 'New action' }).click();
    await page.getByRole('button', { name: new RegExp(starter) }).click();
    await page.getByRole('tab', { name: 'Test' }).click();
    await page.getByRole('button', { name: 'Run' }).click();
    await expect(page.getByTestId('decision')).toHaveText(decision);
    if (starter === 'Webhook emit') {
      // No network here: the starter logs the failed webhook at error level and carries on.
      await expect(page.getByRole('list', { name: 'Logs' }).locator('.log.error')).toContainText('webhook failed');
    }
    await shot(page, `09-test-${starter.toLowerCase().replace(/ /g, '-')}`);
  });
}

test('leaving with unsaved changes asks first, and staying keeps them', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.goto(`${server().baseURL}/#/actions/tier-claim`);
  await expect(page.getByTestId('code-editor')).toContainText('setCustomClaim');
  await setCode(page, 'export async function execute(event, api) { return api.access.allow(); } // edited\n');
  await expect(page.getByText('unsaved changes')).toBeVisible();
  page.once('dialog', (d) => d.dismiss());
  await page.getByRole('link', { name: 'Actions' }).click();
  await expect(page.getByTestId('code-editor')).toContainText('// edited');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('link', { name: 'Actions' }).click();
  await expect(page.getByRole('heading', { name: 'Actions' })).toBeVisible();
});

test('an external package uploads and opens read-only with its files', async ({ page }) => {
  const { cli, repository } = server();
  const out = join(mkdtempSync(join(tmpdir(), 'package-')), 'domain-allowlist.tar.gz');
  execFileSync(cli, ['pack', join(repository, 'examples/starters/domain-allowlist'), '-o', out]);
  await signIn(page, tenantToken);
  await page.locator('#package-file').setInputFiles(out);
  await expect(page.getByRole('heading', { name: 'Domain allowlist' })).toBeVisible();
  await expect(page.getByText('came from a package')).toBeVisible();
  await expect(page.getByRole('tab', { name: 'src/email.ts' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Save', exact: true })).toBeDisabled();
  await shot(page, '10-package');
});

test('delete removes an Action that is not bound', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.goto(`${server().baseURL}/#/actions/domain-allowlist`);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('heading', { name: 'Actions' })).toBeVisible();
  await expect(page.getByRole('row', { name: /Domain allowlist/ })).toHaveCount(0);
});

test('the flow builder attaches and configures an Action, and tests the slot', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.getByRole('link', { name: 'Flows' }).click();
  await page.getByRole('button', { name: /Login/ }).click();
  const slot = page.getByRole('region', { name: 'login.post-login' });
  await expect(slot).toContainText('api.accessToken.setCustomClaim');
  const early = page.getByRole('region', { name: 'login.pre-credential-check' });
  await early.getByRole('button', { name: 'Add Action' }).click();
  await expect(early.getByRole('radio', { name: /Tier claim/ })).toBeDisabled();
  await expect(early.getByText('not made for login.pre-credential-check')).toBeVisible();

  await slot.getByRole('button', { name: 'Add Action' }).click();
  await slot.getByRole('radio', { name: /Tier claim/ }).check();
  await slot.getByLabel('default_tier').fill('silver');
  await slot.getByRole('button', { name: 'Save' }).click();
  const bindings = slot.getByRole('list', { name: /in the order they run/ });
  await expect(bindings).toContainText('tier-claim');
  await expect(bindings).toContainText('fails closed');
  await shot(page, '12-flow-builder');

  await slot.getByRole('button', { name: 'Test this slot' }).click();
  await slot.getByRole('button', { name: 'Run the slot' }).click();
  await expect(slot.getByTestId('decision')).toHaveText('allow');
  await expect(slot.getByTestId('ID-token claims')).toContainText('silver');
  await expect(slot.getByTestId('binding-1')).toContainText('tier is silver');
  await shot(page, '13-slot-test');
});

test('delete is refused while the Action is bound, naming the binding; detached, it goes', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.goto(`${server().baseURL}/#/actions/tier-claim`);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  const refusal = page.getByRole('alert').filter({ hasText: 'Not deleted' });
  await expect(refusal).toContainText('login.post-login');
  await expect(page.getByRole('heading', { name: 'Tier claim' })).toBeVisible();

  await page.getByRole('link', { name: 'Flows' }).click();
  await page.getByRole('button', { name: /Login/ }).click();
  const slot = page.getByRole('region', { name: 'login.post-login' });
  page.once('dialog', (d) => d.accept());
  await slot.getByRole('button', { name: 'Detach tier-claim' }).click();
  await expect(slot.getByText('No Actions run here.')).toBeVisible();
});

test('pages fit a 390 px wide screen without sideways scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, tenantToken);
  for (const route of ['/#/actions', '/#/actions/new', '/#/actions/tier-claim', '/#/flows/login', '/#/runs', '/#/audit', '/#/dashboard']) {
    await page.goto(`${server().baseURL}${route}`);
    await page.waitForLoadState('networkidle');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${route} is wider than the screen`).toBeLessThanOrEqual(0);
  }
  await shot(page, '11-narrow');
});

// ---- Admin console II: the guide's sections 5 and 6, then runs, audit and the dashboard ----

const TENANT = 'acme-corp';
const outsider = JSON.stringify({ user: { id: 'u9', email: 'eve@evil.test', app_metadata: {} }, request: {}, client: {}, connection: {} });
const insider = JSON.stringify({ user: { id: 'u1', email: 'ann@acme.com', app_metadata: { tier: 'gold' } }, request: {}, client: {}, connection: {} });

type CliRun = { run_id: string; decision: string; bindings: { action: string; version: string; logs: { message: string }[] }[] };

/** A sign-in at `slot`, as an auth backend makes it: the CLI's `action trigger` against the runner. */
function cliLogin(slot: string, event: string): CliRun {
  const { cli, runnerURL, runnerToken } = server();
  const file = join(mkdtempSync(join(tmpdir(), 'event-')), 'event.json');
  writeFileSync(file, event);
  const out = execFileSync(cli, ['trigger', slot, '--event', file, '--tenant', TENANT, '--server', runnerURL, '--token', runnerToken, '--json']);
  return JSON.parse(out.toString()) as CliRun;
}

/** Sign-ins until the runner runs `order` (changes reach it through its watch stream). */
async function cliLoginUntil(slot: string, event: string, order: string[]): Promise<CliRun> {
  let last: CliRun | undefined;
  await expect
    .poll(() => {
      last = cliLogin(slot, event);
      return last.bindings.map((b) => b.action);
    }, { timeout: 20_000 })
    .toEqual(order);
  return last!;
}

async function openLoginFlow(page: Page) {
  await page.getByRole('link', { name: 'Flows' }).click();
  await page.getByRole('button', { name: /Login/ }).click();
}

test('5. Save + publish: the Domain allowlist is published, and the publish is in the audit under its filter', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.getByRole('link', { name: 'Actions' }).click();
  await page.getByRole('button', { name: 'New action' }).click();
  await page.getByRole('button', { name: /Domain allowlist/ }).click();
  await page.getByLabel('Name', { exact: true }).fill('Domain allowlist');
  await expect(page.getByLabel('Slug', { exact: true })).toHaveValue('domain-allowlist');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Published 0.1.0');

  await page.getByRole('link', { name: 'Audit', exact: true }).click();
  await page.getByLabel('Kind').selectOption('flow.action_published');
  const events = page.getByRole('list', { name: /Audit events/ });
  await expect(events.getByRole('listitem', { name: 'flow.action_published domain-allowlist@0.1.0' })).toBeVisible();
  await expect(events.getByRole('listitem').filter({ hasNotText: 'flow.action_published' })).toHaveCount(0);
  await shot(page, '20-audit-published');
  // From the Action, its own audit.
  await page.goto(`${server().baseURL}/#/actions/domain-allowlist`);
  await page.getByRole('link', { name: 'Audit of this Action' }).click();
  await expect(page.getByRole('combobox', { name: 'Action' })).toHaveValue('domain-allowlist');
  await expect(events.getByRole('listitem', { name: 'action.created domain-allowlist' }).first()).toBeVisible();
  await expect(events.getByRole('listitem', { name: /tier-claim/ })).toHaveCount(0);
});

test('6. Attach to a flow: allowed domains through the generated form, errors at their field, the deny for an outsider', async ({ page }) => {
  await signIn(page, tenantToken);
  await openLoginFlow(page);
  const slot = page.getByRole('region', { name: 'login.pre-credential-check' });
  await slot.getByRole('button', { name: 'Add Action' }).click();
  await slot.getByRole('radio', { name: /Domain allowlist/ }).check();
  // Saved empty, the server's refusal is shown at the field it is about.
  await slot.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(slot.getByTestId('problem-allowed_domains')).toContainText('required');
  await slot.getByLabel(/allowed_domains \(required\)/).fill('acme.com\nacme.org');
  await shot(page, '21-generated-form');
  await slot.getByRole('button', { name: 'Save', exact: true }).click();
  const bindings = slot.getByRole('list', { name: /in the order they run/ });
  await expect(bindings).toContainText('domain-allowlist');
  await expect(bindings).toContainText('follows major 0');

  // The flow-builder test: a simulated sign-in of an outsider is denied.
  await slot.getByRole('button', { name: 'Test this slot' }).click();
  await slot.getByLabel(/Event — a synthetic user/).fill(outsider);
  await slot.getByRole('button', { name: 'Run the slot' }).click();
  await expect(slot.getByTestId('decision')).toHaveText('deny');
  await expect(slot.getByTestId('deny-reason')).toContainText('acme.com, acme.org');
  await expect(slot.getByRole('list', { name: 'Logs' })).toContainText('refused evil.test');
  await shot(page, '22-flow-test-deny');

  // A change not yet saved, tested first: with evil.test allowed the outsider gets in, and nothing is saved.
  await slot.getByRole('button', { name: 'Configure domain-allowlist' }).click();
  const form = slot.getByRole('form', { name: 'Configure domain-allowlist' });
  await form.getByLabel(/allowed_domains \(required\)/).fill('acme.com\nacme.org\nevil.test');
  await form.getByRole('button', { name: 'Test before saving' }).click();
  await form.getByLabel('Event for the unsaved change').fill(outsider);
  await form.getByRole('button', { name: 'Run the slot with this change' }).click();
  await expect(form.getByTestId('decision')).toHaveText('allow');
  await shot(page, '23-candidate-test');
  // Saved with another domain instead: the audit keeps the change as a diff.
  await form.getByLabel(/allowed_domains \(required\)/).fill('acme.com\nacme.org\nacme.net');
  await form.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(form).toHaveCount(0);
  await page.getByRole('link', { name: 'Audit', exact: true }).click();
  await page.getByLabel('Kind').selectOption('flow.binding_changed');
  const change = page.getByRole('group', { name: 'Config change' }).first();
  await expect(change.locator('.diff-line.removed')).toHaveText(['-     "acme.org"']);
  await expect(change.locator('.diff-line.added')).toHaveText(['+     "acme.org",', '+     "acme.net"']);
  await shot(page, '24-audit-config-diff');
});

test('reordering two bindings (keyboard and drag and drop) changes the order a CLI login runs them in', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.getByRole('button', { name: 'New action' }).click();
  await page.getByRole('button', { name: /Empty/ }).click();
  await page.getByLabel('Name', { exact: true }).fill('Second step');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Published 0.1.0');

  await openLoginFlow(page);
  const slot = page.getByRole('region', { name: 'login.post-login' });
  for (const name of [/Tier claim/, /Second step/]) {
    await slot.getByRole('button', { name: 'Add Action' }).click();
    await slot.getByRole('radio', { name }).check();
    await slot.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(slot.getByRole('form', { name: 'Add an Action to login.post-login' })).toHaveCount(0);
  }
  const bindings = slot.getByRole('list', { name: /in the order they run/ });
  await expect(bindings.getByRole('listitem').first()).toHaveAccessibleName('1. tier-claim');
  await cliLoginUntil('login.post-login', insider, ['tier-claim', 'second-step']);

  // Keyboard: Alt+↑ on the second moves it first.
  await bindings.getByRole('listitem', { name: '2. second-step' }).focus();
  await page.keyboard.press('Alt+ArrowUp');
  await expect(bindings.getByRole('listitem').first()).toHaveAccessibleName('1. second-step');
  await cliLoginUntil('login.post-login', insider, ['second-step', 'tier-claim']);
  await shot(page, '25-reordered');

  // A move tried in the flow test first: the test runs the new order, the slot keeps its own.
  await slot.getByRole('button', { name: 'Test this slot' }).click();
  await slot.getByRole('button', { name: 'Test tier-claim earlier' }).click();
  await expect(slot.getByRole('group', { name: 'Order to test (not saved)' })).toBeVisible();
  await slot.getByRole('button', { name: 'Run the slot' }).click();
  await expect(slot.getByTestId('binding-1')).toContainText('tier-claim');
  await expect(slot.getByTestId('binding-2')).toContainText('second-step');
  await expect(bindings.getByRole('listitem').first()).toHaveAccessibleName('1. second-step');
  await slot.getByRole('button', { name: 'Test this slot' }).click();

  // Drag and drop: tier-claim dropped on the first place.
  await bindings.getByRole('listitem', { name: '2. tier-claim' }).dragTo(bindings.getByRole('listitem', { name: '1. second-step' }));
  await expect(bindings.getByRole('listitem').first()).toHaveAccessibleName('1. tier-claim');
  await cliLoginUntil('login.post-login', insider, ['tier-claim', 'second-step']);
});

test('a run from the CLI appears live on the Runs page, and its detail shows its console output', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(page.getByRole('table', { name: /Flow runs/ })).toBeVisible();
  await page.getByLabel('Live').check();
  // The live stream starts from the moment it opens: a run before that is not "live".
  let run: CliRun | undefined;
  await expect
    .poll(async () => {
      run = cliLogin('login.post-login', insider);
      return page.locator(`a[href="#/runs/${run.run_id}"]`).waitFor({ timeout: 4_000 }).then(
        () => true,
        () => false,
      );
    }, { timeout: 30_000 })
    .toBe(true);
  await shot(page, '26-runs-live');
  await page.locator(`a[href="#/runs/${run!.run_id}"]`).click();
  await expect(page.getByRole('heading', { name: 'Flow run' })).toBeVisible();
  const ran = page.getByRole('table', { name: /Bindings, in the order they ran/ });
  await expect(ran.getByRole('row').nth(1)).toContainText('tier-claim');
  await expect(ran.getByRole('row').nth(1)).toContainText('0.1.0');
  await expect(ran.getByRole('row').nth(1)).toContainText('allowed');
  await expect(page.getByRole('list', { name: 'Logs of tier-claim' })).toContainText('tier is gold');
  await expect(page.getByRole('list', { name: 'Logs of tier-claim' }).locator('.log .level').first()).toHaveText('log');
  await expect(page.getByTestId('ID-token claims')).toContainText('gold');
  await shot(page, '27-run-detail');
  // From the run to the version that ran.
  await ran.getByRole('row').nth(1).getByRole('link', { name: '0.1.0' }).click();
  await expect(page.getByRole('heading', { name: 'Tier claim' })).toBeVisible();
  await expect(page.getByRole('row', { name: /^0\.1\.0 / })).toHaveAttribute('aria-current', 'true');

  // The filters: by Action and decision, from the Action's own link.
  await page.goto(`${server().baseURL}/#/actions/domain-allowlist`);
  await page.getByRole('link', { name: 'Runs of this Action' }).click();
  await expect(page.getByRole('combobox', { name: 'Action' })).toHaveValue('domain-allowlist');
  const denied = cliLogin('login.pre-credential-check', outsider);
  expect(denied.decision).toBe('deny');
  await page.getByLabel('Decision').selectOption({ label: 'deny' });
  await expect
    .poll(
      async () => {
        await page.getByRole('button', { name: 'Apply filters' }).click();
        return page.locator(`a[href="#/runs/${denied.run_id}"]`).count();
      },
      { timeout: 30_000 },
    )
    .toBe(1);
  const rows = page.getByRole('table', { name: /Flow runs/ }).getByRole('row');
  for (const row of await rows.all()) {
    if ((await row.getByRole('cell').count()) > 0) await expect(row).toContainText('deny');
  }
});

test('Replay runs a recorded run again from its record, and says it answers the same', async ({ page }) => {
  await signIn(page, tenantToken);
  const run = cliLogin('login.post-login', insider);
  expect(run.decision).toBe('allow');
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  // The runner sends its records on: the run is listed once the control plane has it.
  const link = page.locator(`a[href="#/runs/${run.run_id}"]`);
  await expect
    .poll(
      async () => {
        await page.getByRole('button', { name: 'Apply filters' }).click();
        return link.count();
      },
      { timeout: 30_000 },
    )
    .toBe(1);
  await link.click();
  await expect(page.getByRole('heading', { name: 'Flow run' })).toBeVisible();
  const replay = page.getByRole('button', { name: 'Replay', exact: true });
  await expect(replay).toBeEnabled();
  await replay.click();
  await expect(page.getByRole('status')).toHaveText(/^Replayed: identical — decision allow, same claims, metadata and (\d+ log lines?|no log lines)$/);
  await expect(page.getByRole('table', { name: /^Differences/ })).toHaveCount(0);
  await expect(replay).toBeEnabled();
  await shot(page, '27b-run-replayed');
});

test('the dashboard draws the runs just made', async ({ page }) => {
  await signIn(page, tenantToken);
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByTestId('runs-chart')).toBeVisible();
  await expect.poll(async () => Number(await page.getByTestId('total-runs').textContent())).toBeGreaterThanOrEqual(5);
  await expect(page.getByTestId('deny-rate')).not.toHaveText('0.0%');
  await expect(page.getByTestId('runs-chart').locator('rect.bar.runs').first()).toBeVisible();
  await expect(page.getByTestId('rates-chart').locator('circle.point').first()).toBeAttached();
  for (const slug of ['tier-claim', 'second-step', 'domain-allowlist']) {
    await expect(page.getByTestId('times-chart').locator(`g[data-action="${slug}"] rect.bar.p99`)).toBeAttached();
  }
  await shot(page, '28-dashboard');
});

// ---- Secrets (issue 18): declared in the editor, set in the Secrets tab, never shown ----

test('a secret: declared, publish refused until set, set in the Secrets tab, tested with a test value, redacted and never shown', async ({ page }) => {
  const stored = 'stored-s3cret-value'; // 19 characters
  const testValue = 'test-only-value'; // 15 characters
  await signIn(page, tenantToken);
  await page.getByRole('link', { name: 'Actions' }).click();
  await page.getByRole('button', { name: 'New action' }).click();
  await page.getByRole('button', { name: /Empty/ }).click();
  await page.getByLabel('Name', { exact: true }).fill('Secret reader');

  // Declared, with the server's rule for names checked as it is typed.
  await page.getByRole('button', { name: 'Add secret' }).click();
  const row = page.getByRole('group', { name: 'Secret 1' });
  await row.getByLabel('Secret name').fill('1KEY');
  await expect(page.getByRole('alert').filter({ hasText: 'may not start with a digit' })).toBeVisible();
  await row.getByLabel('Secret name').fill('API_KEY');
  const declared = page.getByRole('group', { name: 'Secret API_KEY' });
  await declared.getByLabel('What it is for').fill('The partner API key');
  await expect(page.getByRole('alert').filter({ hasText: 'may not start with a digit' })).toHaveCount(0);
  await setCode(
    page,
    'export async function execute(event, api) {\n  console.log(`key ${event.secrets.API_KEY} has ${event.secrets.API_KEY.length} characters`);\n  return api.access.allow();\n}\n',
  );
  // The {} picker knows it.
  await page.getByRole('button', { name: 'Insert event path' }).click();
  await page.getByLabel('Filter event paths').fill('secrets');
  await expect(page.getByRole('option', { name: /event\.secrets\.API_KEY/ })).toBeVisible();
  await page.getByLabel('Filter event paths').press('Escape');
  await shot(page, '29-secret-declared');

  // Save saves 0.1.0 but publishing is refused: API_KEY has no value.
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Saved 0.1.0, but publishing it was refused' })).toBeVisible();
  const refusal = page.getByRole('alert', { name: 'Secrets without a value' });
  await expect(refusal).toContainText('API_KEY');
  await shot(page, '30-publish-refused-unset-secret');
  await refusal.getByRole('button', { name: 'Open the Secrets tab' }).click();
  await expect(page.getByRole('tab', { name: 'Secrets' })).toHaveAttribute('aria-selected', 'true');
  const state = page.getByTestId('secret-state-API_KEY');
  await expect(state).toContainText('not set');
  await expect(state).toContainText('Publishing is refused until set');
  await expect(page.getByRole('row', { name: /API_KEY/ })).toContainText('The partner API key');

  // Set: the password field is cleared, and who set it shows, never the value.
  const value = page.getByLabel('Value of API_KEY', { exact: true });
  await expect(value).toHaveAttribute('type', 'password');
  await value.fill(stored);
  await page.getByRole('form', { name: 'Set API_KEY' }).getByRole('button', { name: 'Set' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'API_KEY set. Its value is not shown again.' })).toBeVisible();
  await expect(state).toContainText('set by console');
  await expect(page.getByLabel('New value of API_KEY', { exact: true })).toHaveValue('');
  await expect(refusal).toHaveCount(0);
  await shot(page, '31-secret-set');

  // Now 0.1.0 publishes.
  await page.getByRole('status', { name: 'Ready to publish' }).getByRole('button', { name: 'Open Versions' }).click();
  await page.getByRole('row', { name: /^0\.1\.0 / }).getByRole('button', { name: 'Publish 0.1.0' }).click();
  await expect(page.getByRole('row', { name: /^0\.1\.0 / })).toContainText('live');

  // Removing it is refused while the live version reads it.
  await page.getByRole('tab', { name: 'Secrets' }).click();
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Remove API_KEY' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'API_KEY not removed' })).toBeVisible();
  await expect(state).toContainText('set by console');
  await shot(page, '32-secret-removal-refused');

  // The Test tab: the stored value (19 characters) without a test value, the test value (15) with one; both redacted.
  await page.getByRole('tab', { name: 'Test' }).click();
  const logs = page.getByRole('list', { name: 'Logs' });
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(logs).toContainText('key [redacted] has 19 characters');
  const testInput = page.getByLabel('Test value of API_KEY');
  await expect(testInput).toHaveAttribute('type', 'password');
  await testInput.fill(testValue);
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(logs).toContainText('key [redacted] has 15 characters');
  await expect(page.getByRole('region', { name: 'Result' })).not.toContainText(testValue);
  await expect(page.getByRole('region', { name: 'Result' })).not.toContainText(stored);
  await shot(page, '33-secret-test-redacted');

  // Nowhere on the page, nor in any field, nor after a reload.
  const nowhere = async () => {
    expect(await page.content()).not.toContain(stored);
    const values = await page.locator('input, textarea').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    expect(values.join('\n')).not.toContain(stored);
  };
  await nowhere();
  await page.reload();
  await page.getByRole('tab', { name: 'Secrets' }).click();
  await expect(page.getByTestId('secret-state-API_KEY')).toContainText('set by console');
  await nowhere();
});
