// Anyone signed in: their own notifications, newest first, with how many are unread
// (mark one or all read, show only the unread), and how they chose to be told:
// channels, quiet hours, a daily digest, the language. Everyone reads only their own
// inbox; the notifications service answers for nobody else.
import { mutationError, request } from "../api";
import { clear, code, count, globalId, h, notice, words } from "../dom";
import {
  MarkNotificationsReadDocument,
  MyNotificationPreferencesDocument,
  MyNotificationsDocument,
  SetNotificationPreferencesDocument,
  type MyNotificationPreferencesQuery,
  type MyNotificationsQuery,
  type NotificationChannel,
  type NotificationLocale,
  type SetNotificationPreferencesInput,
} from "../generated/graphql";
import type { Page, PageContext } from "../page";

type Item = MyNotificationsQuery["myNotifications"]["edges"][number]["node"];
type Facts = Record<string, string | undefined>;
type Preferences = MyNotificationPreferencesQuery["myNotificationPreferences"];

const PAGE = 20;
const LOCALES: [NotificationLocale, string][] = [
  ["EN", "English"],
  ["FR", "Français"],
  ["DE", "Deutsch"],
];
const CHANNELS: [NotificationChannel, string][] = [
  ["EMAIL", "Email"],
  ["SLACK", "Slack"],
  ["TEAMS", "Microsoft Teams"],
];

const when = (iso: string | undefined): string => {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
};

/** What a notification tells, in words, from its kind and facts (ids and moments). */
function describe(n: Item): string {
  const f = (n.facts ?? {}) as Facts;
  switch (n.kind) {
    case "PAIRING_PROPOSED":
      return `A mentoring pair was proposed to you${f.expires_at ? `; answer by ${when(f.expires_at)}` : ""}.`;
    case "PAIRING_APPROVED":
      return `The coordinator approved your pairing${f.starts_on ? `, starting ${f.starts_on}` : ""}.`;
    case "PAIRING_CONFIRMED":
      return `Your mentoring relationship has started${f.starts_on ? ` (${f.starts_on})` : ""}.`;
    case "SESSION_SCHEDULED":
      return `A session was scheduled for ${when(f.starts_at)}${f.minutes ? `, ${f.minutes} min` : ""}.`;
    case "SESSION_TOMORROW":
      return `A session starts ${when(f.starts_at)}.`;
    case "EARLY_WARNING":
      return "Your relationship shows signs of going quiet: plan your next session.";
    case "MILESTONE_DUE":
      return `A milestone is due${f.due_on ? ` on ${f.due_on}` : " soon"}.`;
    case "CADENCE_MISSED":
      return "No session for the rhythm you agreed.";
    case "MATCH_PULSE":
      return "How is your mentoring going? A short survey.";
    case "INACTIVITY_WARNING":
      return "No sign of life for a while: answer to keep the relationship open.";
    case "RELATIONSHIP_CLOSED":
      return "The relationship was closed after the notice period.";
    case "WARNING_PERSISTS":
      return "An early warning is still raised.";
    case "WEBHOOK_DISABLED":
      return `An integrator's webhook endpoint kept failing and was disabled${f.url ? ` (${f.url})` : ""}.`;
  }
  return words(n.kind);
}

/** The relationship a notification is about, when there is one to open. */
function relationshipOf(n: Item): string | null {
  const f = (n.facts ?? {}) as Facts;
  if (f.relationship_id) return globalId("Relationship", f.relationship_id);
  if (n.kind === "PAIRING_CONFIRMED" && f.pairing_id) return globalId("Relationship", f.pairing_id);
  return null;
}

function inbox(ctx: PageContext): { section: HTMLElement; load(reset: boolean): Promise<void> } {
  const unread = h("p", { class: "unread", role: "status", "aria-live": "polite" });
  const status = h("div", { "aria-live": "polite" });
  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show older");
  const only = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, "Only unread");
  const all = h("button", { type: "button" }, "Mark all read");
  let after: string | null = null;
  let shown = 0;

  const setUnread = (n: number) => {
    unread.setAttribute("data-unread", String(n));
    unread.textContent = n === 0 ? "Nothing unread." : `${count(n)} unread.`;
    all.toggleAttribute("disabled", n === 0);
  };

  const row = (n: Item): HTMLElement => {
    const rel = relationshipOf(n);
    const mark = h("button", { type: "button", class: "secondary" }, "Mark read");
    const tr = h(
      "tr",
      { "data-notification": n.id, "data-kind": code(n.kind), "data-read": String(n.read), class: n.read ? "read" : "unread" },
      h("th", { scope: "row" }, h("span", { class: "kind" }, words(n.kind)), h("br", {}), describe(n)),
      h("td", {}, h("time", { datetime: n.createdAt }, when(n.createdAt))),
      h(
        "td",
        { class: "state" },
        n.read ? `read ${when(n.readAt ?? undefined)}` : h("span", { class: "badge unread-badge" }, "unread"),
      ),
      h(
        "td",
        { class: "actions" },
        rel ? h("a", { href: ctx.href(`relationships/${encodeURIComponent(rel)}`) }, "Open") : null,
        n.read ? null : mark,
      ),
    );
    mark.addEventListener("click", async () => {
      mark.setAttribute("disabled", "");
      const { data } = await request(MarkNotificationsReadDocument, { ids: [n.id] });
      const r = data.markNotificationsRead;
      const error = mutationError(r);
      if (error) {
        clear(status, notice("error", error));
        mark.removeAttribute("disabled");
        return;
      }
      await load(true);
    });
    return tr;
  };

  async function load(reset: boolean): Promise<void> {
    if (reset) {
      after = null;
      shown = 0;
    }
    const { data } = await request(MyNotificationsDocument, {
      first: reset ? Math.max(PAGE, shown) : PAGE,
      after,
      unreadOnly: only.getAttribute("aria-pressed") === "true",
    });
    const c = data.myNotifications;
    const items = c.edges.map((e) => e.node);
    if (reset) clear(body);
    body.append(...items.map(row));
    shown = body.children.length;
    after = c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null;
    more.hidden = after === null;
    setUnread(c.unreadCount);
    if (shown === 0) {
      body.append(h("tr", { "data-empty": "true" }, h("td", { colspan: "4" }, "No notifications.")));
    }
  }

  more.addEventListener("click", () => void load(false));
  only.addEventListener("click", () => {
    only.setAttribute("aria-pressed", only.getAttribute("aria-pressed") === "true" ? "false" : "true");
    void load(true);
  });
  all.addEventListener("click", async () => {
    all.setAttribute("disabled", "");
    const { data } = await request(MarkNotificationsReadDocument, { ids: null });
    const error = mutationError(data.markNotificationsRead);
    clear(status, error ? notice("error", error) : null);
    await load(true);
  });

  const section = h(
    "section",
    { "aria-labelledby": "inbox-title", class: "inbox" },
    h("h2", { id: "inbox-title" }, "Inbox"),
    unread,
    h("div", { class: "toolbar" }, only, all),
    status,
    h(
      "table",
      { "data-table": "inbox" },
      h("caption", {}, "Your notifications, newest first"),
      h("thead", {}, h("tr", {}, ["What", "When", "State", ""].map((c) => h("th", { scope: "col" }, c)))),
      body,
    ),
    more,
  );
  return { section, load };
}

function checkbox(id: string, label: string, checked: boolean, attrs: Record<string, string | boolean> = {}): HTMLElement {
  return h(
    "div",
    { class: "check" },
    h("input", { type: "checkbox", id, checked, ...attrs }),
    h("label", { for: id }, label),
  );
}

function field(id: string, label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint" }, hint) : null);
}

function preferences(p: Preferences): HTMLElement {
  const status = h("div", { "aria-live": "polite" });
  const has = (c: NotificationChannel) => p.channels.includes(c);
  const email = h("input", { id: "pref-email", type: "email", value: p.email ?? "", size: 32, autocomplete: "email" });
  const slack = h("input", { id: "pref-slack", type: "url", value: "", size: 48, placeholder: "https://hooks.slack.com/services/…" });
  const teams = h("input", { id: "pref-teams", type: "url", value: "", size: 48, placeholder: "https://….webhook.office.com/…" });
  const locale = h(
    "select",
    { id: "pref-locale" },
    LOCALES.map(([value, label]) => h("option", { value, selected: value === p.locale }, label)),
  );
  const start = h("input", { id: "pref-quiet-start", type: "time", value: (p.quietHours?.start ?? "22:00").slice(0, 5) });
  const end = h("input", { id: "pref-quiet-end", type: "time", value: (p.quietHours?.end ?? "07:00").slice(0, 5) });
  const connected = (yes: boolean) =>
    yes ? "Connected. Leave it empty to keep it; enter another address to replace it." : "Not connected.";
  // A connected address is never shown back: an empty field keeps it, and only this
  // box disconnects it.
  const disconnect = (id: string, label: string, yes: boolean) => (yes ? checkbox(id, label, false) : null);

  const form = h(
    "form",
    { class: "preferences", "data-form": "preferences" },
    h(
      "fieldset",
      {},
      h("legend", {}, "Channels"),
      checkbox("pref-channel-in_app", "In the app (always on)", true, { disabled: true }),
      CHANNELS.map(([c, label]) => checkbox(`pref-channel-${code(c)}`, label, has(c), { "data-channel": c })),
    ),
    field("pref-email", "Email address", email),
    field("pref-slack", "Slack incoming webhook", slack, connected(p.slackConnected)),
    disconnect("pref-slack-disconnect", "Disconnect Slack", p.slackConnected),
    field("pref-teams", "Teams incoming webhook", teams, connected(p.teamsConnected)),
    disconnect("pref-teams-disconnect", "Disconnect Teams", p.teamsConnected),
    h(
      "fieldset",
      {},
      h("legend", {}, "When"),
      checkbox("pref-quiet", "Quiet hours (only what the programme requires is sent)", p.quietHours !== null),
      h("div", { class: "inline-fields" }, field("pref-quiet-start", "From", start), field("pref-quiet-end", "Until", end)),
      checkbox("pref-digest", "A daily digest (at 08:00) of what is not required", p.dailyDigest),
      checkbox("pref-unsubscribed", "Only what the programme requires", p.unsubscribed),
      h(
        "p",
        { class: "hint" },
        `Always sent: ${p.requiredKinds.map(words).join(", ")}. Times are in your time zone, ${p.timeZone}.`,
      ),
    ),
    field("pref-locale", "Language", locale),
    h("button", { type: "submit" }, "Save preferences"),
    status,
  );

  const checked = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement | null)?.checked ?? false;
  // An address typed replaces the connected one; none keeps it (omitted); the
  // disconnect box clears it (null).
  const address = (input: HTMLInputElement, disconnectId: string): { value?: string | null } => {
    const typed = input.value.trim();
    if (typed) return { value: typed };
    return checked(disconnectId) ? { value: null } : {};
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const channels: NotificationChannel[] = [
      "IN_APP",
      ...CHANNELS.map(([c]) => c).filter((c) => checked(`pref-channel-${code(c)}`)),
    ];
    const input: SetNotificationPreferencesInput = {
      channels,
      unsubscribed: checked("pref-unsubscribed"),
      quietHours: checked("pref-quiet") ? { start: start.value, end: end.value } : null,
      dailyDigest: checked("pref-digest"),
      locale: locale.value as NotificationLocale,
      email: email.value.trim() || null,
    };
    const slackAddress = address(slack as HTMLInputElement, "pref-slack-disconnect");
    if ("value" in slackAddress) input.slackWebhook = slackAddress.value;
    const teamsAddress = address(teams as HTMLInputElement, "pref-teams-disconnect");
    if ("value" in teamsAddress) input.teamsWebhook = teamsAddress.value;
    const button = form.querySelector("button[type=submit]") as HTMLButtonElement;
    button.disabled = true;
    try {
      const { data } = await request(SetNotificationPreferencesDocument, { input });
      const r = data.setNotificationPreferences;
      if (r.__typename === "NotificationPreferencesSuccess") {
        clear(status, notice("info", "Saved."));
        status.setAttribute("data-saved", r.preferences.locale);
      } else {
        const fields = "fields" in r && r.fields ? r.fields.map((f) => `${f.path}: ${f.message}`) : [];
        clear(status, notice("error", [mutationError(r) ?? "Not saved.", ...fields].join(" ")));
      }
    } catch (err) {
      clear(status, notice("error", err instanceof Error ? err.message : String(err)));
    } finally {
      button.disabled = false;
    }
  });

  return h(
    "section",
    { "aria-labelledby": "preferences-title" },
    h("h2", { id: "preferences-title" }, "How you are told"),
    form,
  );
}

export const notificationsPage: Page = async (main, ctx) => {
  const box = inbox(ctx);
  const [{ data: prefs }] = await Promise.all([request(MyNotificationPreferencesDocument), box.load(true)]);
  clear(main, h("h1", {}, "Notifications"), box.section, preferences(prefs.myNotificationPreferences));
};
