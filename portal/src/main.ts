// The dashboard shell: header, navigation, one <main>, and a small history router
// under the base path (/dashboard/). The gateway answers index.html for every client
// route, so a reload or a shared link lands on the same page.
import "./styles.css";
import { ApiError } from "./api";
import { home, managesWebhooks, session, signOut, takesPart, takesPartOnly } from "./auth";
import { disposeCharts } from "./charts";
import { clear, h, notice } from "./dom";
import { equityPage } from "./pages/equity";
import { healthPage } from "./pages/health";
import { impactPage } from "./pages/impact";
import { minePage } from "./pages/mine";
import { notificationsPage } from "./pages/notifications";
import { overviewPage } from "./pages/overview";
import { roundPage, roundsPage } from "./pages/round";
import { scorecardPage } from "./pages/scorecard";
import { signInPage } from "./pages/signin";
import { timelinePage } from "./pages/timeline";
import { webhooksPage } from "./pages/webhooks";
import type { Page, PageContext } from "./page";

const BASE = import.meta.env.BASE_URL; // "/dashboard/"

interface Route {
  pattern: RegExp;
  page: Page;
  nav?: string;
  title: string;
  open?: boolean; // reachable without signing in
  team?: boolean; // the programme team's page (coordinators, sponsors, admins)
  webhooks?: boolean; // admins' and integration clients' page
}

const ROUTES: Route[] = [
  { pattern: /^signin$/, page: signInPage, title: "Sign in", open: true },
  { pattern: /^(overview)?$/, page: overviewPage, nav: "overview", title: "Programme overview", team: true },
  { pattern: /^me$/, page: minePage, nav: "me", title: "My mentoring" },
  { pattern: /^health$/, page: healthPage, nav: "health", title: "Relationship health", team: true },
  { pattern: /^relationships\/([^/]+)$/, page: timelinePage, title: "Relationship timeline" },
  { pattern: /^scorecard$/, page: scorecardPage, nav: "scorecard", title: "Cohort scorecard", team: true },
  { pattern: /^equity$/, page: equityPage, nav: "equity", title: "Equity", team: true },
  { pattern: /^rounds$/, page: roundsPage, nav: "rounds", title: "Matching rounds", team: true },
  { pattern: /^rounds\/([^/]+)$/, page: roundPage, title: "Matching round", team: true },
  { pattern: /^impact$/, page: impactPage, nav: "impact", title: "Mentor impact", team: true },
  { pattern: /^notifications$/, page: notificationsPage, nav: "notifications", title: "Notifications" },
  { pattern: /^webhooks$/, page: webhooksPage, nav: "webhooks", title: "Webhooks", webhooks: true },
];

// Who is offered a page: the programme team, a mentee or mentor, everyone signed in,
// or those who manage the organisation's webhooks (admins, integration clients).
type Audience = "team" | "own" | "everyone" | "webhooks";

// [path, label, audience]
const NAV: [string, string, Audience][] = [
  ["overview", "Overview", "team"],
  ["me", "My mentoring", "own"],
  ["health", "Relationship health", "team"],
  ["scorecard", "Scorecard", "team"],
  ["equity", "Equity", "team"],
  ["rounds", "Matching rounds", "team"],
  ["impact", "Mentor impact", "team"],
  ["notifications", "Notifications", "everyone"],
  ["webhooks", "Webhooks", "webhooks"],
];

function offered(audience: Audience): boolean {
  if (audience === "team") return !takesPartOnly();
  if (audience === "own") return takesPart();
  if (audience === "webhooks") return managesWebhooks();
  return true;
}

const app = document.getElementById("app")!;
const main = h("main", { id: "main", tabindex: "-1" });
const nav = h("nav", { "aria-label": "Dashboard sections" });
const who = h("div", { class: "who" });
app.append(
  h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: BASE }, "Tandem", h("span", {}, " programme dashboard")),
    nav,
    who,
  ),
  main,
);

let leaving: (() => void)[] = [];
let visits = 0;

export function href(path: string): string {
  return BASE + path.replace(/^\//, "");
}

export function navigate(path: string, replace = false): void {
  const url = href(path);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  void render();
}

function currentPath(): string {
  const path = window.location.pathname;
  return path.startsWith(BASE) ? path.slice(BASE.length).replace(/\/$/, "") : "";
}

function renderChrome(active: string | undefined): void {
  const s = session();
  clear(
    nav,
    s
      ? h(
          "ul",
          {},
          NAV.filter(([, , audience]) => offered(audience)).map(([path, label]) =>
            h(
              "li",
              {},
              h(
                "a",
                { href: href(path), "aria-current": path === active ? "page" : null },
                label,
              ),
            ),
          ),
        )
      : null,
  );
  clear(
    who,
    s
      ? [
          h("span", { class: "who-name" }, `Signed in as ${s.who}`),
          h(
            "button",
            {
              type: "button",
              class: "link",
              onclick: () => {
                signOut();
                navigate("signin");
              },
            },
            "Sign out",
          ),
        ]
      : null,
  );
}

async function render(): Promise<void> {
  for (const stop of leaving) stop();
  leaving = [];
  disposeCharts();
  const path = currentPath();
  const route = ROUTES.find((r) => r.pattern.test(path));
  if (!route) {
    renderChrome(undefined);
    clear(main, h("h1", {}, "Not found"), h("p", {}, "There is no such page. "), h("a", { href: BASE }, "Go to the overview"));
    return;
  }
  if (!route.open && !session()) {
    navigate("signin", true);
    return;
  }
  // A mentee or mentor lands on their own page, not on the team's (which the API
  // would refuse them: "requires one of the roles").
  if ((route.team && takesPartOnly()) || (route.webhooks && !managesWebhooks())) {
    navigate(home(), true);
    return;
  }
  renderChrome(route.nav);
  document.title = `${route.title} · Tandem`;
  const params = path.match(route.pattern)!.slice(1).map((p) => decodeURIComponent(p ?? ""));
  // Each visit renders into its own element: a slow page that finishes after the
  // reader has moved on writes into a detached element, never over the new page.
  const visit = ++visits;
  const root = h("div", { class: "page" });
  const ctx: PageContext = {
    params,
    query: new URLSearchParams(window.location.search),
    navigate,
    href,
    onLeave: (stop) => (visit === visits ? leaving.push(stop) : stop()),
  };
  clear(root, h("h1", {}, route.title), h("p", { class: "loading", role: "status" }, "Loading…"));
  clear(main, root);
  main.setAttribute("aria-busy", "true");
  try {
    await route.page(root, ctx);
  } catch (err) {
    if (visit !== visits) return;
    if (err instanceof ApiError && err.code === "Unauthenticated") {
      signOut();
      navigate("signin", true);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    clear(root, h("h1", {}, route.title), notice("error", `This page could not be loaded: ${message}`));
  } finally {
    if (visit === visits) main.removeAttribute("aria-busy");
  }
  if (visit === visits) main.focus({ preventScroll: true });
}

// Same-origin links inside the dashboard are handled here, not by a page load.
document.addEventListener("click", (event) => {
  const link = (event.target as Element | null)?.closest?.("a");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith(BASE)) return;
  event.preventDefault();
  history.pushState(null, "", url.pathname + url.search);
  void render();
});
window.addEventListener("popstate", () => void render());

void render();
