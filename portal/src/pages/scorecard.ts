// A cohort's balanced scorecard, as of a chosen date: skill growth, behavioural
// change and business impact.
import { request } from "../api";
import { bars, chart } from "../charts";
import { clear, count, h, notice, num, pct, table, value } from "../dom";
import {
  CohortScorecardDocument,
  CohortsDocument,
  type CohortScorecardQuery,
} from "../generated/graphql";
import type { Page } from "../page";

type Card = CohortScorecardQuery["cohortScorecard"];

function skills(card: Card): HTMLElement {
  const s = card.skillGrowth;
  return chart({
    key: "skill-growth",
    title: "Skill growth",
    summary: `${count(s.goalsReached)} of ${count(s.goals)} goals at target; mean level change ${num(s.meanChange)}; ${count(s.reassessed)} mentees reassessed.`,
    option: bars(["Goals set", "Goals reached", "Reassessed"], [
      { name: "Count", values: [s.goals, s.goalsReached, s.reassessed] },
    ]),
    data: table("Skill growth", ["Measure", "Value"], [
      ["Goals set", value(s.goals, count(s.goals))],
      ["Goals at target", value(s.goalsReached, count(s.goalsReached))],
      ["Mean level change", value(s.meanChange, num(s.meanChange))],
      ["Mentees reassessed", value(s.reassessed, count(s.reassessed))],
    ]),
  });
}

function behaviour(card: Card): HTMLElement {
  const b = card.behaviouralChange;
  const m = b.milestones;
  return chart({
    key: "behavioural-change",
    title: "Behavioural change",
    summary: `${count(m.achieved)} of ${count(m.due)} due milestones achieved (${pct(m.completionRate)}), ${count(m.onTime)} on time; feedback ${num(b.feedback.mean)} over ${count(b.feedback.count)} ratings.`,
    option: bars(["Set", "Due", "Achieved", "On time", "Missed"], [
      { name: "Milestones", values: [m.set, m.due, m.achieved, m.onTime, m.missed] },
    ]),
    data: table("Behavioural change", ["Measure", "Value"], [
      ["Milestones set", value(m.set, count(m.set))],
      ["Milestones due", value(m.due, count(m.due))],
      ["Achieved", value(m.achieved, count(m.achieved))],
      ["Achieved on time", value(m.onTime, count(m.onTime))],
      ["Missed", value(m.missed, count(m.missed))],
      ["Completion rate", value(m.completionRate, pct(m.completionRate))],
      ["On-time rate", value(m.onTimeRate, pct(m.onTimeRate))],
      ["Feedback ratings", value(b.feedback.count, count(b.feedback.count))],
      ["Mean rating", value(b.feedback.mean, num(b.feedback.mean))],
      ["Rating trend", value(b.feedback.trend, num(b.feedback.trend))],
      ["Reflections", value(b.reflections, count(b.reflections))],
      ["Rotations completed", value(b.rotations, count(b.rotations))],
      ["Debriefs", value(b.debriefs, count(b.debriefs))],
    ]),
  });
}

function impact(card: Card): HTMLElement {
  const i = card.businessImpact;
  const p = i.participants;
  const c = i.comparison;
  const labels = ["Promotion", "Role expansion", "Retention"];
  const rates = (r: typeof p | null) =>
    r ? [r.promotionRate, r.roleExpansionRate, r.retentionRate] : [null, null, null];
  const series = [{ name: "Participants", values: rates(p) }];
  if (c) series.push({ name: "Comparison group", values: rates(c) });
  const option = bars(labels, series, { percent: true });
  return chart({
    key: "business-impact",
    title: "Business impact",
    summary: `Of ${count(p.people)} participants, ${count(p.promoted)} ${p.promoted === 1 ? "was" : "were"} promoted (${pct(p.promotionRate)}), ${count(p.roleExpanded)} expanded their role and retention is ${pct(p.retentionRate)}${
      c ? `; the comparison group: ${pct(c.promotionRate)} promoted` : ""
    }.`,
    option,
    data: table(
      "Business impact",
      ["Measure", "Participants", "Comparison", "Lift"],
      [
        ["People", value(p.people, count(p.people)), value(c?.people, count(c?.people)), "—"],
        [
          "Promotion rate",
          value(p.promotionRate, pct(p.promotionRate)),
          value(c?.promotionRate, pct(c?.promotionRate)),
          value(i.lift?.promotionRate, num(i.lift?.promotionRate)),
        ],
        [
          "Role expansion rate",
          value(p.roleExpansionRate, pct(p.roleExpansionRate)),
          value(c?.roleExpansionRate, pct(c?.roleExpansionRate)),
          value(i.lift?.roleExpansionRate, num(i.lift?.roleExpansionRate)),
        ],
        [
          "Retention rate",
          value(p.retentionRate, pct(p.retentionRate)),
          value(c?.retentionRate, pct(c?.retentionRate)),
          value(i.lift?.retentionRate, num(i.lift?.retentionRate)),
        ],
      ],
    ),
  });
}

export const scorecardPage: Page = async (main, ctx) => {
  const { data } = await request(CohortsDocument);
  const cohorts = data.cohorts.edges.map((e) => e.node);
  if (!cohorts.length) {
    clear(main, h("h1", {}, "Cohort scorecard"), h("p", {}, "No cohorts yet."));
    return;
  }
  const chosen = ctx.query.get("cohort") ?? cohorts[0]!.id;
  const asOf = ctx.query.get("asOf") ?? "";
  const select = h(
    "select",
    { id: "cohort", name: "cohort" },
    cohorts.map((c) => h("option", { value: c.id, selected: c.id === chosen }, c.name)),
  );
  const date = h("input", { id: "as-of", name: "asOf", type: "date", value: asOf });
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const q = new URLSearchParams({ cohort: select.value });
        if (date.value) q.set("asOf", date.value);
        ctx.navigate(`scorecard?${q}`);
      },
    },
    h("div", {}, h("label", { for: "cohort" }, "Cohort"), select),
    h("div", {}, h("label", { for: "as-of" }, "As of (end of day; empty: now)"), date),
    h("button", { type: "submit" }, "Show"),
  );
  const body = h("div", { "aria-live": "polite" });
  clear(main, h("h1", {}, "Cohort scorecard"), form, body);

  let card: Card;
  try {
    card = (await request(CohortScorecardDocument, { cohortId: chosen, asOf: asOf || null })).data
      .cohortScorecard;
  } catch (err) {
    clear(body, notice("error", err instanceof Error ? err.message : String(err)));
    return;
  }
  const name = cohorts.find((c) => c.id === chosen)?.name ?? "this cohort";
  clear(
    body,
    h(
      "p",
      { class: "as-of", "data-as-of": card.asOf },
      `${name}: ${count(card.menteeCount)} mentees (${count(card.withdrawn)} withdrawn), as of ${card.asOf.slice(0, 10)}.`,
    ),
    h("div", { class: "grid three" }, skills(card), behaviour(card), impact(card)),
    card.businessImpact.comparisonNote ? h("p", { class: "hint" }, card.businessImpact.comparisonNote) : null,
  );
};
