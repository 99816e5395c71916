// A mentee's or mentor's own page: their relationships (with the other side, the
// dates they run, the agreed rhythm and their health), the next sessions, the
// milestones, their scorecard, and the address of their calendar feed. The same
// GraphQL the programme team's pages use; the services decide what they may read.
import { request, mutationError } from "../api";
import { roles } from "../auth";
import { bars, chart } from "../charts";
import { clear, code, count, h, mentorName, notice, num, pct, personName, table, value, words } from "../dom";
import {
  MeDocument,
  MyCalendarFeedDocument,
  MyMenteeScorecardDocument,
  MyRelationshipHealthDocument,
  MyRelationshipScorecardDocument,
  MyRelationshipsDocument,
  type MyMenteeScorecardQuery,
  type MyRelationshipsQuery,
} from "../generated/graphql";
import type { Page } from "../page";

type Rel = MyRelationshipsQuery["relationships"]["edges"][number]["node"];
type Card = NonNullable<MyMenteeScorecardQuery["menteeScorecard"]>;

const when = (iso: string): string => {
  const d = new Date(iso);
  return `${iso.slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
};

function sessions(rel: Rel): HTMLElement {
  const next = rel.upcoming.edges.map((e) => e.node).filter((s) => s.state === "SCHEDULED");
  if (!next.length) return h("p", { class: "none", "data-sessions": "none" }, "No session planned yet.");
  return h(
    "ul",
    { class: "next-sessions" },
    next.map((s) =>
      h(
        "li",
        { "data-session": s.id },
        h("time", { datetime: s.startsAt }, when(s.startsAt)),
        ` — ${words(s.format)}, ${s.minutes} min`,
      ),
    ),
  );
}

function milestones(rel: Rel): HTMLElement {
  const all = rel.milestones.edges.map((e) => e.node);
  if (!all.length) return h("p", { class: "none" }, "No milestones set yet.");
  const rows = [...all].sort((a, b) => (a.dueOn ?? "").localeCompare(b.dueOn ?? ""));
  return h(
    "table",
    { "data-table": "my-milestones" },
    h("caption", {}, "Milestones"),
    h("thead", {}, h("tr", {}, ["Milestone", "Due", "State", "Achieved"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      rows.map((m) =>
        h(
          "tr",
          { "data-milestone": m.id, "data-state": code(m.state) },
          h("th", { scope: "row" }, m.label ?? "untitled"),
          h("td", {}, m.dueOn ?? "—"),
          h("td", {}, words(m.state), m.progress && m.state === "OPEN" ? `, ${words(m.progress)}` : ""),
          h("td", {}, m.achievedOn ? `${m.achievedOn}${m.onTime === false ? " (late)" : ""}` : "—"),
        ),
      ),
    ),
  );
}

async function relationship(rel: Rel, mine: string, href: (p: string) => string): Promise<HTMLElement> {
  const iMentor = rel.mentee?.id !== mine;
  const other = iMentor ? personName(rel.mentee) : mentorName(rel.mentorParty);
  const { data } = await request(MyRelationshipHealthDocument, { relationshipId: rel.id }).catch(() => ({
    data: { relationshipHealth: null },
  }));
  const health = data.relationshipHealth;
  const cadence = rel.contract?.cadence;
  return h(
    "section",
    { class: "my-relationship", "data-relationship": rel.id, "aria-label": `With ${other}` },
    h("h2", {}, `${iMentor ? "Mentoring" : "Mentored by"} ${other}`),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"),
      h("dd", {}, words(rel.status)),
      h("dt", {}, "Started"),
      h("dd", { "data-starts-on": rel.startsOn ?? "" }, rel.startsOn ?? "—"),
      h("dt", {}, "Planned to end"),
      h("dd", {}, rel.plannedEndOn ?? "—"),
      h("dt", {}, "Rhythm"),
      h(
        "dd",
        {},
        cadence
          ? `every ${cadence.everyDays} days for ${cadence.minutes} min${rel.contract?.inForce ? "" : " (contract not yet signed by both)"}`
          : "no learning contract yet",
      ),
      h("dt", {}, "Health"),
      h(
        "dd",
        { "data-health": health ? code(health.state) : "" },
        health ? h("span", { class: `badge state-${code(health.state)}` }, words(health.state)) : "unknown",
        health?.reasons.length ? ` — ${health.reasons.map(words).join(", ")}` : "",
      ),
    ),
    h("h3", {}, "Next sessions"),
    sessions(rel),
    h("h3", {}, "Milestones"),
    milestones(rel),
    h("p", {}, h("a", { href: href(`relationships/${encodeURIComponent(rel.id)}`) }, "The whole timeline")),
  );
}

function scorecard(card: Card, key: string, title: string): HTMLElement {
  const m = card.behaviouralChange.milestones;
  const s = card.skillGrowth;
  const goals = s.goals.length
    ? table(
        "Goals",
        ["Competency", "Baseline", "Latest", "Target", "Reached"],
        s.goals.map((g) => [
          words(g.competencyId),
          value(g.baseline, count(g.baseline)),
          value(g.latest, count(g.latest)),
          value(g.target, count(g.target)),
          g.reached ? "yes" : "not yet",
        ]),
      )
    : h("p", { class: "none" }, "No goals assessed yet.");
  goals.setAttribute("data-table", `${key}-goals`);
  return h(
    "div",
    { class: "my-scorecard", "data-scorecard": key, "data-as-of": card.asOf },
    chart({
      key,
      title,
      summary:
        `${count(m.achieved)} of ${count(m.due)} due milestones achieved (${pct(m.completionRate)}), ` +
        `${count(m.missed)} missed; ${count(s.goalsReached)} of ${count(s.goals.length)} goals at target; ` +
        `feedback ${num(card.behaviouralChange.feedback.mean)} over ${count(card.behaviouralChange.feedback.count)} ratings.`,
      option: bars(["Set", "Due", "Achieved", "On time", "Missed"], [
        { name: "Milestones", values: [m.set, m.due, m.achieved, m.onTime, m.missed] },
      ]),
      data: table(title, ["Measure", "Value"], [
        ["Milestones set", value(m.set, count(m.set))],
        ["Milestones due", value(m.due, count(m.due))],
        ["Achieved", value(m.achieved, count(m.achieved))],
        ["Achieved on time", value(m.onTime, count(m.onTime))],
        ["Missed", value(m.missed, count(m.missed))],
        ["Goals at target", value(s.goalsReached, count(s.goalsReached))],
        ["Mean level change", value(s.meanChange, num(s.meanChange))],
        ["Feedback ratings", value(card.behaviouralChange.feedback.count, count(card.behaviouralChange.feedback.count))],
        ["Mean rating", value(card.behaviouralChange.feedback.mean, num(card.behaviouralChange.feedback.mean))],
        ["Reflections", value(card.behaviouralChange.reflections, count(card.behaviouralChange.reflections))],
      ]),
    }),
    goals,
  );
}

function calendar(): HTMLElement {
  const out = h("div", { "aria-live": "polite" });
  const button = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        button.setAttribute("disabled", "");
        try {
          const { data } = await request(MyCalendarFeedDocument);
          const r = data.createCalendarFeed;
          if (r.__typename === "CalendarFeedSuccess") {
            const field = h("input", { id: "feed-url", type: "text", readonly: true, value: r.url, size: 60 });
            clear(
              out,
              h("label", { for: "feed-url" }, "Your calendar feed address (keep it private)"),
              field,
              h("p", {}, h("a", { href: r.url, "data-feed": "link" }, "Open the feed"), " — subscribe to it from your calendar application."),
            );
          } else {
            clear(out, notice("error", mutationError(r) ?? "The feed could not be made."));
          }
        } catch (err) {
          clear(out, notice("error", err instanceof Error ? err.message : String(err)));
        } finally {
          button.removeAttribute("disabled");
        }
      },
    },
    "Get my calendar feed address",
  );
  return h(
    "section",
    { "aria-labelledby": "calendar-title" },
    h("h2", { id: "calendar-title" }, "Calendar"),
    h("p", {}, "Your sessions as a calendar feed. A new address replaces the one you had before."),
    button,
    out,
  );
}

export const minePage: Page = async (main, ctx) => {
  const { data: me } = await request(MeDocument);
  const person = me.me;
  if (!person) {
    clear(main, h("h1", {}, "My mentoring"), notice("info", "You are signed in without a person of the organisation: there is no page of your own."));
    return;
  }
  const held = roles();
  const { data } = await request(MyRelationshipsDocument, { personId: person.id });
  const rels = data.relationships.edges.map((e) => e.node);
  const live = rels.filter((r) => r.status !== "CONCLUDED");
  const shown = [...live, ...rels.filter((r) => r.status === "CONCLUDED")];
  const sections = await Promise.all(shown.map((r) => relationship(r, person.id, ctx.href)));

  const cards: HTMLElement[] = [];
  if (held.includes("mentee") && rels.some((r) => r.mentee?.id === person.id)) {
    const { data: card } = await request(MyMenteeScorecardDocument, { menteeId: person.id });
    if (card.menteeScorecard) cards.push(scorecard(card.menteeScorecard, "my-scorecard", "My scorecard"));
  }
  for (const [n, r] of rels.filter((r) => r.mentee?.id !== person.id).entries()) {
    const { data: card } = await request(MyRelationshipScorecardDocument, { relationshipId: r.id });
    if (card.relationshipScorecard) {
      cards.push(scorecard(card.relationshipScorecard, `relationship-scorecard-${n + 1}`, `Scorecard with ${personName(r.mentee)}`));
    }
  }

  clear(
    main,
    h("h1", {}, "My mentoring"),
    h("p", { class: "as-of" }, `${personName(person)} — ${person.roles.map(words).join(", ") || "no programme role"}.`),
    rels.length ? sections : h("p", { "data-relationships": "none" }, "You have no mentoring relationship yet."),
    h(
      "section",
      { "aria-labelledby": "scorecard-title" },
      h("h2", { id: "scorecard-title" }, "Scorecard"),
      cards.length ? h("div", { class: "grid" }, cards) : h("p", {}, "No scorecard yet."),
    ),
    calendar(),
  );
};
