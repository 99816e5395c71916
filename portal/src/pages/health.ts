// Relationship health: how many relationships are in each state (live, through the
// `relationshipHealthChanges` subscription), how many stood in each state week by
// week over the last 12 weeks, and the pairs that need attention, with the reasons
// that fired and a link to each pair's timeline.
import { all, request, subscribe } from "../api";
import { PALETTE, bars, chart, stackedAreas } from "../charts";
import { clear, code, count, h, notice, mentorName, personName, table, value, words } from "../dom";
import {
  EarlyWarningsDocument,
  HealthChangesDocument,
  HealthHistoryDocument,
  HealthStatesDocument,
  type HealthHistoryQuery,
} from "../generated/graphql";
import type { Page } from "../page";

/** States from healthy to worst; unknown states are appended as they come. */
const ORDER = ["on_track", "too_early", "needs_check_in", "at_risk", "concluded"];

function stateChart(states: Map<string, string>): HTMLElement {
  const counts = new Map<string, number>();
  for (const s of states.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
  const names = [...counts.keys()].sort(
    (a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  return chart({
    key: "health-states",
    title: "Relationships by health state",
    summary:
      names.map((n) => `${words(n)}: ${count(counts.get(n))}`).join(", ") ||
      "No relationships yet.",
    option: bars(names.map(words), [
      { name: "Relationships", values: names.map((n) => counts.get(n) ?? 0) },
    ]),
    data: table(
      "Relationships by state",
      ["State", "Relationships"],
      names.map((n) => [words(n), value(counts.get(n), count(counts.get(n)))]),
    ),
  });
}

/** The history's states, healthy first: (field of a point, state code, colour). */
const HISTORY_STATES = [
  ["onTrack", "on_track", PALETTE[2]],
  ["tooEarly", "too_early", PALETTE[0]],
  ["needsCheckIn", "needs_check_in", PALETTE[1]],
  ["atRisk", "at_risk", PALETTE[4]],
  ["concluded", "concluded", PALETTE[5]],
] as const;
const HISTORY_WEEKS = 12;

type HistoryPoint = HealthHistoryQuery["relationshipHealthHistory"][number];

const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

function historyChart(points: HistoryPoint[], from: string, to: string): HTMLElement {
  const [first, last] = [points[0], points.at(-1)];
  const summary = first && last
    ? `On ${last.date}, ${HISTORY_STATES.map(([field, code]) => `${words(code)}: ${count(last[field])}`).join(", ")} ` +
      `(${count(last.total)} started); ${points.length} weekly points from ${first.date}.`
    : "No relationships in this period.";
  // Live relationships stacked from the healthiest at the bottom to "at risk" at the
  // top of the stack, with their total drawn and named above them, so the top of the
  // stack reads as the total it is; concluded ones as a line of their own.
  const stacked = HISTORY_STATES.filter(([, code]) => code !== "concluded");
  const live = points.map((p) => stacked.reduce((sum, [field]) => sum + p[field], 0));
  const figure = chart({
    key: "health-history",
    title: "Relationships by health state over time",
    summary,
    height: 300,
    option: stackedAreas(
      points.map((p) => p.date),
      stacked.map(([field, code, color]) => ({
        name: words(code),
        values: points.map((p) => p[field]),
        color,
      })),
      [
        { name: "all live (total)", values: live, color: "#1f2933", dashed: true },
        { name: "concluded", values: points.map((p) => p.concluded), color: PALETTE[5] },
      ],
    ),
    data: table(
      "Relationships by health state at the end of each week",
      ["Week ending", ...HISTORY_STATES.map(([, code]) => words(code)), "Started"],
      points.map((p) => [
        p.date,
        ...HISTORY_STATES.map(([field]) => value(p[field], count(p[field]))),
        value(p.total, count(p.total)),
      ]),
    ),
  });
  figure.dataset.from = from;
  figure.dataset.to = to;
  figure.dataset.stack = stacked.map(([, code]) => code).join(",");
  figure.dataset.lines = "live_total,concluded";
  return figure;
}

export const healthPage: Page = async (main, ctx) => {
  const to = new Date();
  const range = {
    from: isoDay(new Date(to.getTime() - HISTORY_WEEKS * 7 * 86_400_000)),
    to: isoDay(to),
  };
  const [states, warnings, history] = await Promise.all([
    all(async (after) => {
      const { data } = await request(HealthStatesDocument, { after });
      const c = data.relationshipHealths;
      return {
        items: c.edges.map((e) => e.node),
        next: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null,
      };
    }),
    all(async (after) => {
      const { data } = await request(EarlyWarningsDocument, { after });
      const c = data.earlyWarnings;
      return {
        items: c.edges.map((e) => e.node),
        next: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null,
      };
    }),
    request(HealthHistoryDocument, { ...range, every: "WEEK" }),
  ]);
  const byId = new Map(
    states.filter((s) => s.relationship).map((s) => [s.relationship!.id, code(s.state)]),
  );
  const chartSlot = h("div", { class: "grid one" }, stateChart(byId));
  const live = h("p", { class: "live", "aria-live": "polite" }, "Live: waiting for changes…");

  const atRiskFirst = [...warnings].sort(
    (a, b) => Number(b.state === "AT_RISK") - Number(a.state === "AT_RISK"),
  );
  const list = h(
    "table",
    { class: "warnings", "data-table": "early-warnings" },
    h("caption", {}, `Relationships that need attention (${warnings.length})`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Pair", "State", "Reasons", "Days since a session", "Timeline"].map((c) =>
          h("th", { scope: "col" }, c),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      atRiskFirst.map((w) =>
        h(
          "tr",
          { "data-relationship": w.relationship?.id ?? "", "data-state": code(w.state) },
          h("th", { scope: "row" }, `${mentorName(w.mentorParty)} → ${personName(w.mentee)}`),
          h("td", {}, h("span", { class: `badge state-${code(w.state)}` }, words(w.state)), w.idle ? " (idle)" : ""),
          h(
            "td",
            {},
            w.reasons.length
              ? h("ul", { class: "reasons" }, w.reasons.map((r) => h("li", { "data-reason": r }, words(r))))
              : "—",
          ),
          h("td", {}, count(w.daysSinceSession)),
          h(
            "td",
            {},
            h(
              "a",
              { href: ctx.href(`relationships/${encodeURIComponent(w.relationship?.id ?? "")}`) },
              "Timeline",
              h("span", { class: "visually-hidden" }, ` of ${mentorName(w.mentorParty)} and ${personName(w.mentee)}`),
            ),
          ),
        ),
      ),
    ),
  );

  clear(
    main,
    h("h1", {}, "Relationship health"),
    chartSlot,
    live,
    h(
      "div",
      { class: "grid one" },
      historyChart(history.data.relationshipHealthHistory, range.from, range.to),
    ),
    h("section", { "aria-labelledby": "warnings-title" }, h("h2", { id: "warnings-title" }, "Early warnings"), warnings.length ? list : h("p", {}, "No relationship needs attention.")),
  );

  const sub = subscribe(HealthChangesDocument, {}, {
    next(data) {
      const change = data.relationshipHealthChanges;
      if (change.relationship) byId.set(change.relationship.id, code(change.toState));
      clear(chartSlot, stateChart(byId));
      live.textContent = `Live: a relationship moved to ${words(change.toState)}${
        change.reasons.length ? ` (${change.reasons.map(words).join(", ")})` : ""
      }.`;
    },
    error(err) {
      clear(live, notice("info", `Live updates are off: ${err.message}`));
    },
  });
  ctx.onLeave(() => sub.stop());
};
