// What the browser scenarios share: Debian's chromium driven by playwright-core, the
// platform under test, the GraphQL documents the dashboard itself sends, and the
// demo organisation's facts.
//
// Environment:
//   TANDEM_BASE_URL   the platform, e.g. http://127.0.0.1:8000 (required)
//   TANDEM_ARTIFACTS  where screenshots go (default ../test-artifacts/portal)
//   TANDEM_DEMO_JSON  the demo's facts (DIR/demo.json of `launcher up --data DIR`)
//   TANDEM_TOKEN      a bearer token, when the platform has no /dev/tokens
//   CHROMIUM          the browser (default /usr/bin/chromium)
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const portal = resolve(here, "..");

export const BASE = (process.env.TANDEM_BASE_URL ?? "").replace(/\/$/, "");
if (!BASE) throw new Error("set TANDEM_BASE_URL to the platform's URL");
export const DASHBOARD = `${BASE}/dashboard/`;
export const ARTIFACTS = resolve(process.env.TANDEM_ARTIFACTS ?? join(portal, "..", "test-artifacts", "portal"));
mkdirSync(ARTIFACTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh browser (its own --user-data-dir) at laptop size. */
export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: run deploy/bootstrap.sh (installs Debian's chromium)`);
  }
  const profile = await mkdtemp(join(tmpdir(), "tandem-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1366, height: 768 },
    acceptDownloads: true,
  });
  context.setDefaultTimeout(30_000);
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The document the dashboard sends for operation `name` (from its generated module). */
export function documentOf(name) {
  const source = readFileSync(join(portal, "src", "generated", "graphql.ts"), "utf8");
  const match = source.match(new RegExp(`export const ${name}Document = ("(?:[^"\\\\]|\\\\.)*") as`));
  if (!match) throw new Error(`no operation ${name} in src/generated/graphql.ts`);
  return JSON.parse(match[1]);
}

/** Runs a document against the platform's /graphql, as an API client would. */
export async function graphql(token, query, variables = {}) {
  const resp = await fetch(`${BASE}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await resp.json();
  if (!body.data) throw new Error(`GraphQL failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The demo's facts (demo.json), or {} when none was given. */
export function demoFacts() {
  const path = process.env.TANDEM_DEMO_JSON;
  return path && existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
}

/** The demo users from /dev/tokens (null when the platform has none). */
export async function demoUsers() {
  const resp = await fetch(`${BASE}/dev/tokens`);
  if (!resp.ok) return null;
  return (await resp.json()).users ?? null;
}

/** A demo user holding `role` and none of the programme team's roles, or null. */
export async function participant(role) {
  const users = await demoUsers();
  const team = ["coordinator", "sponsor", "admin"];
  const user = users?.find((u) => u.roles.includes(role) && !u.roles.some((r) => team.includes(r)));
  return user ? { name: user.name, token: user.token, personId: user.personId ?? user.person_id, demo: true } : null;
}

/**
 * Pairs of axis labels of a chart that overlap on screen: the SVG texts that name
 * one of the chart's categories (`categories`, else the first column of its data
 * table; a label cut short ends in "..."), compared by their bounding boxes; with
 * how many categories there are and how many labels are shown.
 */
export async function overlappingLabels(page, key, categories = null) {
  return page.locator(`figure[data-chart="${key}"]`).evaluate((figure, given) => {
    const names = given ?? [...figure.querySelectorAll("table tbody tr")].map((r) => r.children[0].textContent.trim());
    const isName = (t) => names.some((n) => n === t || (t.endsWith("...") && n.startsWith(t.slice(0, -3))));
    const boxes = [...figure.querySelectorAll(".chart-canvas svg text")]
      .filter((t) => isName(t.textContent.trim()) && t.getAttribute("display") !== "none")
      .map((t) => ({ text: t.textContent.trim(), box: t.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0);
    const out = [];
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i].box, boxes[j].box];
        const apart = a.right <= b.left + 1 || b.right <= a.left + 1 || a.bottom <= b.top + 1 || b.bottom <= a.top + 1;
        if (!apart) out.push([boxes[i].text, boxes[j].text]);
      }
    }
    return { names: names.length, shown: boxes.length, overlapping: out };
  }, categories);
}

/** A coordinator: { name, token } from the demo users, else TANDEM_TOKEN. */
export async function coordinator() {
  const users = await demoUsers();
  const user = users?.find((u) => u.roles.includes("coordinator"));
  if (user) return { name: user.name, token: user.token, demo: true };
  if (process.env.TANDEM_TOKEN) return { name: null, token: process.env.TANDEM_TOKEN, demo: false };
  throw new Error("no coordinator: the platform has no /dev/tokens and TANDEM_TOKEN is unset");
}

/**
 * A new tab signed in through the sign-in page, as a person would: a click on the
 * demo user, or the token pasted. Page errors and console errors are collected.
 */
export async function signedIn(context, who, landing = "Programme overview") {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    // Without a seeded demo, /dev/tokens answers 404: expected, not a fault.
    if (msg.type() === "error" && !msg.location().url.endsWith("/dev/tokens")) {
      problems.push(`console: ${msg.text()} (${msg.location().url})`);
    }
  });
  await page.goto(`${DASHBOARD}signin`);
  if (who.demo) {
    await page.getByRole("button", { name: new RegExp(`^${escape(who.name)}`) }).click();
  } else {
    await page.getByLabel(/^Token/).fill(who.token);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await page.getByRole("heading", { level: 1, name: landing }).waitFor();
  return { page, problems };
}

/** The Relay global id of a service's own id. */
export const globalId = (type, local) => Buffer.from(`${type}:${local}`).toString("base64");

export const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Raw numbers of a chart's data table, by row label (`data-value` of column n). */
export async function chartValues(page, key, column = 1) {
  return page.locator(`figure[data-chart="${key}"] table tbody tr`).evaluateAll(
    (rows, col) =>
      Object.fromEntries(
        rows.map((r) => {
          const cell = r.children[col]?.querySelector("[data-value]");
          const raw = cell?.getAttribute("data-value");
          return [r.children[0].textContent.trim(), raw === null || raw === undefined || raw === "" ? null : Number(raw)];
        }),
      ),
    column,
  );
}
