/**
 * The web console end to end, in Debian's Chromium (playwright-core) against a
 * real server listening on a port (embedded mode): a user signs up, signs in,
 * enrols TOTP by scanning the QR code on screen (zbarimg) and computing codes
 * with oathtool, signs out and in with MFA, creates and revokes an API key,
 * signs another session out, exports their data and deletes the account; an
 * admin finds a user, unlocks them, changes a role, filters the users (a
 * linkable URL), reads those audit entries
 * with a passing chain, sees usage charts drawn, replays a dead-lettered
 * webhook and reads the key status. Along the way: every console answer carries the CSP and the page
 * reports no CSP violation, the refresh token is an HttpOnly cookie and never
 * in storage, user-supplied text renders as text, axe-core finds no serious or
 * critical violation on any screen, and the main screens fit a phone.
 *
 * With CONSOLE_SCREENSHOTS=1 the screens are written to docs/images/console-*.png.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { oathtoolCode } from "../helpers/identity.js";
import { ROOT } from "../helpers/process.js";
import { ensureConsoleBuilt } from "./build.js";

// Functions passed to page.evaluate run in the browser; the test's own types have no DOM.
declare const window: any, document: any, localStorage: any, sessionStorage: any;

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
const SHOTS = process.env.CONSOLE_SCREENSHOTS === "1";
const AXE = readFileSync(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");
const ADMIN = { email: `admin.${Date.now()}@example.com`, password: "console admin passphrase 2024" };
const USER = { email: `ada.${Date.now()}@example.com`, password: "analytical engine notes 1843" };
const VICTIM = { email: `bob.${Date.now()}@example.com`, password: "bob keeps a long passphrase" };
const XSS_NAME = `<img src=x onerror="window.__xss=1">Ada`;
const HOOK_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
process.env.RAMPART_SECRET_CONSOLE_HOOK = HOOK_SECRET;

describe("web console in Chromium (embedded)", () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let userCtx: BrowserContext;
  let page: Page;
  let tmp: string;
  let totpSecret = "";
  let backupCodes: string[] = [];
  let hookFailures = 1;
  const hookSeen: string[] = [];
  const cspViolations: string[] = [];
  const badCsp: string[] = [];

  beforeAll(async () => {
    await ensureConsoleBuilt();
    tmp = mkdtempSync(join(tmpdir(), "rampart-console-e2e-"));
    t = await createTestApp("embedded", {
      env: {
        RAMPART_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
        RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        WEBHOOK_ENDPOINTS: "billing=standard:console-hook",
        WEBHOOK_MAX_ATTEMPTS: "1",
        WEBHOOK_POLL_INTERVAL_MS: "50",
        QUOTA_PERSIST_INTERVAL_MS: "200",
      },
      configure: (app) =>
        void app.webhooks.on("billing", async (e) => {
          hookSeen.push(e.eventId);
          if (hookFailures-- > 0) throw new Error("billing system unreachable");
        }),
    });
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    userCtx = await newContext();
    page = await userCtx.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function newContext(viewport = { width: 1280, height: 860 }): Promise<BrowserContext> {
    const ctx = await browser.newContext({ viewport, acceptDownloads: true, locale: "en-GB", timezoneId: "UTC" });
    ctx.on("response", (res) => {
      if (res.url().startsWith(`${base}/console`) && res.headers()["content-security-policy"] !== CSP) badCsp.push(res.url());
    });
    ctx.on("console", (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) cspViolations.push(msg.text());
    });
    return ctx;
  }

  const url = (path: string) => `${base}/console${path}`;
  const shot = async (p: Page, name: string) => {
    if (SHOTS) await p.screenshot({ path: join(ROOT, `docs/images/console-${name}.png`), fullPage: true });
  };
  /** axe-core in the page (evaluated through the DevTools protocol, which the page's CSP does not govern). */
  async function axe(p: Page, screen: string): Promise<void> {
    await p.evaluate(AXE);
    const violations = await p.evaluate(async () => {
      const result = await (window as any).axe.run(document, { resultTypes: ["violations"] });
      return result.violations.filter((v: any) => v.impact === "serious" || v.impact === "critical").map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(" ")).join(", ")}`);
    });
    expect(violations, `axe on ${screen}`).toEqual([]);
  }
  const heading = (p: Page, name: string) => p.getByRole("heading", { name, exact: true }).waitFor();
  const alertText = async (p: Page) => (await p.getByRole("alert").first().textContent()) ?? "";

  async function signIn(p: Page, creds: { email: string; password: string }): Promise<void> {
    await p.goto(url("/sign-in"));
    await p.getByLabel("Email").fill(creds.email);
    await p.getByLabel("Password").fill(creds.password);
    await p.getByRole("button", { name: "Sign in" }).click();
  }

  it("signs a new user up and in; the refresh token is an HttpOnly cookie on the refresh path, never in storage", async () => {
    await page.goto(url("/"));
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await heading(page, "Sign in to Rampart");
    await axe(page, "sign-in");
    await shot(page, "sign-in");
    await page.getByRole("link", { name: "Create an account" }).click();
    await heading(page, "Create an account");
    await page.getByLabel("Email").fill(USER.email);
    await page.getByLabel("Password").fill(USER.password);
    await axe(page, "register");
    await shot(page, "register");
    await page.getByRole("button", { name: "Create account" }).click();
    await heading(page, "Check your email");

    await page.getByRole("link", { name: "Go to sign-in" }).click();
    await page.getByLabel("Email").fill(USER.email);
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await alertText(page)).toContain("The email or password is incorrect");

    await signIn(page, USER);
    await heading(page, "Profile");
    expect(await page.getByText(USER.email).first().isVisible()).toBe(true);

    const cookies = await userCtx.cookies(`${base}/v1/auth/refresh`);
    const refresh = cookies.find((c) => c.name === "rampart_refresh");
    expect(refresh).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/v1/auth/refresh" });
    const exposed = await page.evaluate(() => ({ cookie: document.cookie, local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage) }));
    expect(exposed.cookie).not.toContain("rampart_refresh");
    expect(exposed.local).toBe("{}");
    expect(exposed.session).toBe("{}");

    // A reload keeps the session through the cookie alone (the access token was in memory).
    await page.reload();
    await heading(page, "Profile");
  });

  it("renders a name holding HTML as text", async () => {
    await page.getByLabel("Display name").fill(XSS_NAME);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor();
    expect(await page.getByTestId("profile-name").textContent()).toBe(XSS_NAME);
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await axe(page, "profile");
    await shot(page, "profile");
  });

  it("enrols TOTP from the QR code on screen (zbarimg, oathtool) and shows the backup codes once, with a download", async () => {
    await page.getByRole("link", { name: "Password & MFA" }).click();
    await page.getByRole("button", { name: "Set up two-step verification" }).click();
    const qr = page.getByTestId("totp-qr");
    await qr.waitFor();
    const png = join(tmp, "qr.png");
    await qr.screenshot({ path: png });
    const scanned = execFileSync("zbarimg", ["--raw", "-q", png], { encoding: "utf8" }).trim();
    expect(scanned).toMatch(/^otpauth:\/\/totp\//);
    totpSecret = new URL(scanned).searchParams.get("secret")!;
    expect(await page.locator("code.secret").textContent()).toBe(totpSecret);
    await axe(page, "mfa enrolment");
    await shot(page, "mfa-enrol");
    await page.getByLabel("Code from the app").fill(oathtoolCode(totpSecret, Date.now()));
    await page.getByRole("button", { name: "Turn on" }).click();
    const codes = page.getByTestId("backup-codes").locator("code");
    await codes.first().waitFor();
    backupCodes = await codes.allTextContents();
    expect(backupCodes).toHaveLength(10);
    const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download backup codes" }).click()]);
    const saved = readFileSync((await file.path())!, "utf8");
    for (const c of backupCodes) expect(saved).toContain(c);
    await shot(page, "mfa-backup-codes");
    // Shown once: a new visit of the screen no longer has them.
    await page.reload();
    await page.getByText("Signing in asks for a code").waitFor();
    expect(await page.getByTestId("backup-codes").count()).toBe(0);
    await axe(page, "security");
    await shot(page, "security");
  });

  it("signs out, and in again with the second factor", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You have signed out.").waitFor();
    expect((await userCtx.cookies(`${base}/v1/auth/refresh`)).find((c) => c.name === "rampart_refresh")).toBeUndefined();
    await signIn(page, USER);
    await heading(page, "Two-step verification");
    await page.getByLabel("Verification code").fill("000000");
    await page.getByRole("button", { name: "Verify" }).click();
    expect(await alertText(page)).toContain("That code is not valid");
    await axe(page, "mfa step");
    await shot(page, "mfa-step");
    // The next time step's code: accepted within the one-step drift, and unused so far.
    await page.getByLabel("Verification code").fill(oathtoolCode(totpSecret, Date.now() + 30_000));
    await page.getByRole("button", { name: "Verify" }).click();
    await heading(page, "Profile");
  });

  it("creates an API key shown once, sees it used, and revokes it", async () => {
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Name").fill("reporting job");
    await page.getByLabel("Expires on (optional)").fill("2099-12-31");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.getByTestId("new-api-key").textContent())!;
    expect(key).toMatch(/^rp_/);
    const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    await page.getByRole("button", { name: "I have stored it" }).click();
    await page.reload();
    const row = page.getByTestId("api-key-row").filter({ hasText: "reporting job" });
    await row.waitFor();
    expect(await row.textContent()).not.toContain("never used");
    expect(await page.getByText(key).count()).toBe(0);
    await axe(page, "api keys");
    await shot(page, "api-keys");
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await page.getByText("No API keys.").waitFor();
    expect((await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });

  it("signs another session out", async () => {
    // A second session, from a script (the backup code is the second factor).
    const login: any = await (await fetch(`${base}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json", "user-agent": "nightly-sync/1.0" }, body: JSON.stringify(USER) })).json();
    const second: any = await (await fetch(`${base}/v1/auth/mfa/verify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mfaToken: login.data.mfaToken, code: backupCodes.shift() }) })).json();
    expect(second.data.refreshToken).toEqual(expect.any(String));
    await page.getByRole("link", { name: "Sessions" }).click();
    const other = page.getByTestId("session-row").filter({ hasText: "nightly-sync/1.0" });
    await other.waitFor();
    expect(await page.getByTestId("session-row").count()).toBe(2);
    await axe(page, "sessions");
    await shot(page, "sessions");
    await other.getByRole("button", { name: "Sign out this one" }).click();
    await page.getByText("1 session(s) signed out.").waitFor();
    expect(await page.getByTestId("session-row").count()).toBe(1);
    const refresh = await fetch(`${base}/v1/auth/refresh`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: second.data.refreshToken }) });
    expect(refresh.status).toBe(401);
  });

  it("shows usage against the plan", async () => {
    await page.getByRole("link", { name: "Usage" }).click();
    expect(await page.getByTestId("plan").textContent()).toBe("free");
    await page.getByText(/api\.requests this day/).waitFor();
    await axe(page, "usage");
    await shot(page, "usage");
  });

  it("exports the user's data as JSON and as a zip, and records a consent", async () => {
    await page.getByRole("link", { name: "Privacy & data" }).click();
    const marketing = page.getByRole("checkbox", { name: "marketing" });
    await marketing.check();
    await page.getByText(/changed .* \(policy 1\)/).waitFor();
    const [json] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download JSON" }).click()]);
    expect(json.suggestedFilename()).toMatch(/^rampart-export-.+\.json$/);
    const doc = JSON.parse(readFileSync((await json.path())!, "utf8"));
    expect(JSON.stringify(doc)).toContain(USER.email);
    const [zip] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download zip (with files)" }).click()]);
    expect(readFileSync((await zip.path())!).subarray(0, 2).toString()).toBe("PK");
    await axe(page, "privacy");
    await shot(page, "privacy");
  });

  it("shows the trace id of a failing request in the error boundary (the 500 is mocked in the browser: the server has no route that fails on demand)", async () => {
    await page.route("**/v1/me/usage", (route) => route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ success: false, code: "INTERNAL_ERROR", message: "An unexpected error occurred.", traceId: "4bf92f3577b34da6a3ce929d0e0e4736" }) }));
    // A fresh load: nothing cached, so the screen depends on the failing request.
    await page.goto(url("/usage"));
    const trace = page.getByTestId("trace-id");
    await trace.waitFor({ timeout: 15_000 });
    expect(await trace.textContent()).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    await shot(page, "error-boundary");
    await page.unroute("**/v1/me/usage");
  });

  it("shows a banner while offline", async () => {
    await userCtx.setOffline(true);
    await page.getByText("You are offline").waitFor();
    await userCtx.setOffline(false);
    await page.getByText("You are offline").waitFor({ state: "detached" });
  });

  it("refuses the refresh cookie from another origin or without the console header (403)", async () => {
    const cookie = (await userCtx.cookies(`${base}/v1/auth/refresh`)).find((c) => c.name === "rampart_refresh")!;
    const attempt = (headers: Record<string, string>) => fetch(`${base}/v1/auth/refresh`, { method: "POST", headers: { "content-type": "application/json", cookie: `rampart_refresh=${cookie.value}`, ...headers }, body: "{}" });
    const foreign = await attempt({ origin: "https://attacker.example", "x-rampart-console": "1" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as any).code).toBe("FORBIDDEN");
    expect((await attempt({ origin: base })).status).toBe(403);
    // The console itself still refreshes with it.
    await page.reload();
    await heading(page, "Usage");
  });

  describe("as an admin", () => {
    let adminCtx: BrowserContext;
    let admin: Page;
    let victimId = "";
    beforeAll(async () => {
      adminCtx = await newContext();
      admin = await adminCtx.newPage();
      const headers = { "content-type": "application/json" };
      await fetch(`${base}/v1/auth/register`, { method: "POST", headers, body: JSON.stringify(VICTIM) });
      victimId = ((await (await fetch(`${base}/v1/auth/login`, { method: "POST", headers, body: JSON.stringify(VICTIM) })).json()) as any).data.user.id;
      // Five wrong passwords lock the account.
      for (let i = 0; i < 5; i++) await fetch(`${base}/v1/auth/login`, { method: "POST", headers, body: JSON.stringify({ email: VICTIM.email, password: "wrong guess number one" }) });
      // A dead letter: the handler fails its only attempt.
      const payload = JSON.stringify({ type: "invoice.paid", data: { id: "in_1" } });
      const id = `msg_${randomBytes(6).toString("hex")}`;
      const now = new Date();
      const res = await fetch(`${base}/v1/webhooks/billing`, { method: "POST", headers: { ...headers, "webhook-id": id, "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": new Webhook(HOOK_SECRET).sign(id, now, payload) }, body: payload });
      expect(res.status).toBeLessThan(300);
    });
    afterAll(() => adminCtx?.close());

    it("finds the locked user and unlocks them, changes a role, each confirmed", async () => {
      await signIn(admin, ADMIN);
      await heading(admin, "Profile");
      await admin.getByRole("link", { name: "Users" }).click();
      await admin.getByTestId("user-row").first().waitFor();
      // The XSS name is text in the admin list too.
      expect(await admin.getByText(XSS_NAME).count()).toBe(1);
      expect(await admin.evaluate(() => (window as any).__xss)).toBeUndefined();
      await axe(admin, "users");
      await shot(admin, "admin-users");
      await admin.getByLabel("Email (exact match)").fill(VICTIM.email);
      await admin.getByRole("button", { name: "Search" }).click();
      await admin.getByTestId("user-row").filter({ hasText: VICTIM.email }).getByRole("button", { name: `Manage ${VICTIM.email}` }).click();
      const detail = admin.getByTestId("user-detail");
      await detail.waitFor();
      expect(await detail.getByTestId("detail-status").textContent()).toContain("locked");
      await detail.getByRole("button", { name: "Unlock" }).click();
      await admin.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await admin.getByText("Unlocked.").waitFor();
      await admin.waitForFunction(() => !document.querySelector('[data-testid="detail-status"]')?.textContent?.includes("locked"));
      await detail.getByRole("button", { name: "Change roles" }).click();
      await admin.getByLabel("Roles (comma-separated)").fill("user, admin");
      await axe(admin, "confirm dialog");
      await shot(admin, "admin-confirm");
      await admin.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await admin.getByText("Roles are now user, admin").waitFor();
      await admin.waitForFunction(() => /admin/.test(document.querySelector('[data-testid="detail-roles"]')?.textContent ?? ""));
      await shot(admin, "admin-user-detail");
      const unlocked = await fetch(`${base}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(VICTIM) });
      expect(unlocked.status).toBe(200);
    });

    it("filters users by role, MFA and status, in a URL that can be linked", async () => {
      await admin.getByRole("link", { name: "Users" }).click();
      await admin.getByTestId("user-row").first().waitFor();
      const form = admin.getByRole("search", { name: "Find users" });
      const rows = admin.getByTestId("user-row");
      await form.getByLabel("Role", { exact: true }).fill("admin");
      await form.getByRole("button", { name: "Search" }).click();
      await admin.waitForURL(/[?&]role=admin(&|$)/);
      // Not a plain user (the unfiltered page stays on screen until the filtered one arrives); the admin, and the user made admin above.
      await rows.filter({ hasText: USER.email }).waitFor({ state: "detached" });
      await rows.filter({ hasText: VICTIM.email }).waitFor();
      await rows.filter({ hasText: ADMIN.email }).waitFor();
      for (const text of await rows.allTextContents()) expect(text).toContain("admin");
      await axe(admin, "users filtered by role");

      // The URL is the filtered view.
      const linked = await adminCtx.newPage();
      await linked.goto(admin.url());
      await linked.getByTestId("user-row").filter({ hasText: ADMIN.email }).waitFor();
      expect(await linked.getByTestId("user-row").filter({ hasText: USER.email }).count()).toBe(0);
      expect(await linked.getByRole("search", { name: "Find users" }).getByLabel("Role", { exact: true }).inputValue()).toBe("admin");
      await linked.close();

      // From the keyboard: the MFA select, then Enter in a field submits.
      await form.getByLabel("Role", { exact: true }).fill("");
      await form.getByLabel("MFA", { exact: true }).focus();
      await admin.keyboard.press("ArrowDown");
      expect(await form.getByLabel("MFA", { exact: true }).inputValue()).toBe("true");
      await form.getByLabel("Plan", { exact: true }).press("Enter");
      await admin.waitForURL(/[?&]mfa=true(&|$)/);
      expect(admin.url()).not.toMatch(/role=/);
      // Only the user who enrolled TOTP above.
      await rows.filter({ hasText: ADMIN.email }).waitFor({ state: "detached" });
      await rows.filter({ hasText: USER.email }).waitFor();
      expect(await rows.filter({ hasText: VICTIM.email }).count()).toBe(0);
      for (const text of await rows.allTextContents()) expect(text).toContain("MFA");

      // Nobody with MFA is disabled; active keeps that user.
      await form.getByLabel("Status", { exact: true }).selectOption("disabled");
      await form.getByRole("button", { name: "Search" }).click();
      await admin.getByText("No user matches.").waitFor();
      await axe(admin, "users filtered to nothing");
      await form.getByLabel("Status", { exact: true }).selectOption("active");
      await form.getByRole("button", { name: "Search" }).click();
      await admin.waitForURL(/status=active/);
      await rows.filter({ hasText: USER.email }).waitFor();
      await form.getByRole("button", { name: "Show all" }).click();
      await admin.waitForURL((u) => u.search === "");
      await rows.filter({ hasText: ADMIN.email }).waitFor();
    });

    it("shows those audit entries and a passing chain", async () => {
      await admin.getByRole("link", { name: "Audit log" }).click();
      await admin.getByTestId("chain-status").getByText("chain intact").waitFor();
      await admin.getByLabel("Target").fill(`user:${victimId}`);
      await admin.getByRole("button", { name: "Filter" }).click();
      await admin.getByTestId("audit-row").filter({ hasText: "user.roles.changed" }).waitFor();
      await admin.getByTestId("audit-row").filter({ hasText: "auth.unlocked" }).waitFor();
      await axe(admin, "audit");
      await shot(admin, "admin-audit");
    });

    it("draws the usage charts with uPlot", async () => {
      // Usage is persisted every QUOTA_PERSIST_INTERVAL_MS (200 ms here).
      await new Promise((r) => setTimeout(r, 400));
      await admin.getByRole("link", { name: "Usage dashboard" }).click();
      const chart = admin.getByTestId("chart").first();
      await chart.locator("canvas").waitFor();
      const painted = await chart.locator("canvas").evaluate((c: any) => {
        const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      });
      expect(painted).toBeGreaterThan(100);
      await axe(admin, "usage dashboard");
      await shot(admin, "admin-usage");
    });

    it("replays a dead-lettered webhook", async () => {
      await admin.getByRole("link", { name: "Webhooks" }).click();
      const row = admin.getByTestId("webhook-row").filter({ hasText: "billing" });
      await row.waitFor();
      expect(await row.textContent()).toContain("billing system unreachable");
      await axe(admin, "webhooks");
      await shot(admin, "admin-webhooks");
      await row.getByRole("button", { name: "Replay" }).click();
      await admin.getByRole("dialog").getByRole("button", { name: "Replay" }).click();
      await admin.getByText(/Queued for a new dispatch/).waitFor();
      await admin.getByLabel("State").selectOption("processed");
      await admin.getByTestId("webhook-row").filter({ hasText: "billing" }).waitFor({ timeout: 10_000 });
      expect(hookSeen).toHaveLength(2);
    });

    it("lists the KEK versions and the signing keys, the published ones as the JWKS has them, read-only", async () => {
      await admin.getByRole("link", { name: "Keys", exact: true }).click();
      await heading(admin, "Keys");
      await admin.getByTestId("kek-row").first().waitFor();
      // What `rampart keys status` reads, and the public JWKS: neither goes through the screen's route.
      const status = await t.runtime.crypto.keysStatus();
      const rows = await admin.getByTestId("kek-row").allTextContents();
      expect(rows).toHaveLength(status.versions.length);
      for (const v of status.versions) expect(rows.some((r) => r.includes(`${v.ref.provider}/${v.ref.keyId}#v${v.ref.version}`))).toBe(true);
      expect(await admin.getByTestId("kek-provider").textContent()).toBe(status.provider);
      const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.length).toBeGreaterThan(0);
      const keys = admin.getByTestId("signing-key-row");
      for (const { kid } of jwks.keys) expect(await keys.filter({ hasText: kid }).getByText("in JWKS").count()).toBe(1);
      expect(await keys.getByText("signing", { exact: true }).count()).toBe(1);
      expect(await admin.getByRole("main").getByRole("button").count()).toBe(0);
      await axe(admin, "keys");
      await shot(admin, "admin-keys");
    });
  });

  it("fits a phone: the main screens without horizontal scrolling, the menu behind a button", async () => {
    const phone = await newContext({ width: 390, height: 844 });
    const p = await phone.newPage();
    try {
      await p.goto(url("/sign-in"));
      await heading(p, "Sign in to Rampart");
      await shot(p, "phone-sign-in");
      await signIn(p, ADMIN);
      await heading(p, "Profile");
      expect(await p.getByRole("navigation").isVisible()).toBe(false);
      for (const [link, name, ready] of [["Sessions", "sessions", "session-row"], ["Users", "users", "user-row"], ["Audit log", "audit", "audit-row"]] as const) {
        await p.getByRole("button", { name: "Menu" }).click();
        await p.getByRole("link", { name: link }).click();
        await p.getByTestId(ready).first().waitFor();
        // What sticks out past the right edge, named for the failure message.
        const wide = await p.evaluate(() =>
          ([...document.querySelectorAll("body *")] as any[])
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.parentElement?.closest(".table-wrap"))
            .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
        );
        expect(wide, link).toEqual([]);
        expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), link).toBeLessThanOrEqual(0);
        await axe(p, `phone ${name}`);
        await shot(p, `phone-${name}`);
      }
    } finally {
      await phone.close();
    }
  });

  it("deletes the account after re-authentication", async () => {
    await page.getByRole("link", { name: "Privacy & data" }).click();
    await page.getByRole("button", { name: "Delete my account…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Password").fill(USER.password);
    await dialog.getByLabel("Verification code").fill(backupCodes.shift()!);
    await shot(page, "delete-account");
    await dialog.getByRole("button", { name: "Delete my account" }).click();
    await page.getByText("Your account and its data have been deleted.").waitFor();
    const login = await fetch(`${base}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(USER) });
    expect(login.status).toBe(401);
  });

  it("sent the console CSP on every console answer, and the page reported no CSP violation", () => {
    expect(badCsp).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
