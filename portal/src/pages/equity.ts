// Equity along one dimension: each group's rates and adverse-impact ratios, with the
// evidence behind them (a Wilson interval, Fisher's exact test against the best group,
// a verdict). A ratio below 0.8 is flagged only when the difference is significant;
// otherwise it reads "too few to tell". A group below k is shown as "suppressed",
// never as zero, and is left out of the chart.
import { request } from "../api";
import { bars, chart } from "../charts";
import { clear, count, h, num, pct, suppressedBadge, value } from "../dom";
import {
  CohortsDocument,
  EquityDocument,
  type EquityDimension,
  type EquityQuery,
  type ImpactVerdict,
} from "../generated/graphql";
import type { Page } from "../page";

type Group = EquityQuery["equityReport"]["groups"][number];

const DIMENSIONS: [string, string][] = [
  ["business_unit", "Business unit"],
  ["level_band", "Level band"],
  ["tenure_band", "Tenure band"],
  ["geography", "Geography"],
];

/** The query's dimension (the page's address keeps the readable wire value). */
function enumOf(dimension: string): EquityDimension {
  const known = DIMENSIONS.find(([v]) => v === dimension)?.[0] ?? "business_unit";
  return known.toUpperCase() as EquityDimension;
}

function ratio(raw: number | null, flagged: boolean | null, p?: number | null): HTMLElement {
  const text = num(raw);
  const pText = p === null || p === undefined ? "" : ` (p = ${p < 0.001 ? "< 0.001" : p.toFixed(3)})`;
  return flagged
    ? h(
        "span",
        { class: "flag", "data-value": String(raw) },
        text,
        pText,
        " ⚠",
        h("span", { class: "visually-hidden" }, " below four-fifths and significant"),
      )
    : value(raw, text + pText);
}

function rateWithInterval(g: Group): HTMLElement {
  const i = g.matchRateInterval;
  return value(g.matchRate, i ? `${pct(g.matchRate)} (${pct(i.low)}–${pct(i.high)})` : pct(g.matchRate));
}

const FINDINGS: Record<ImpactVerdict, number> = {
  ADVERSE_IMPACT: 2,
  TOO_FEW_TO_TELL: 1,
  NO_ADVERSE_IMPACT: 0,
};

/** The stronger of the two verdicts, in words. */
function finding(g: Group): string {
  const verdicts = [g.matchRateVerdict, g.promotionRateVerdict].filter((v): v is ImpactVerdict => v != null);
  if (!verdicts.length) return "—";
  const worst = verdicts.reduce((a, b) => (FINDINGS[b] > FINDINGS[a] ? b : a));
  if (worst === "ADVERSE_IMPACT") return "adverse impact";
  if (worst === "TOO_FEW_TO_TELL") return "too few to tell";
  return "no adverse impact";
}

function row(g: Group, total = false): HTMLElement {
  const head = h("th", { scope: "row" }, total ? `All (${g.group})` : g.group);
  if (g.suppressed) {
    return h(
      "tr",
      { "data-group": g.group, "data-suppressed": "true" },
      head,
      h(
        "td",
        { colspan: 11 },
        suppressedBadge(),
        total
          ? " withheld, so that a suppressed group cannot be worked out from it"
          : " fewer people than the reporting threshold",
      ),
    );
  }
  return h(
    "tr",
    { "data-group": g.group },
    head,
    ...[
      value(g.registered, count(g.registered)),
      value(g.participants, count(g.participants)),
      value(g.participationRate, pct(g.participationRate)),
      value(g.matched, count(g.matched)),
      rateWithInterval(g),
      ratio(g.matchRateImpact, g.matchRateFlagged, g.matchRatePValue),
      value(g.medianDaysToMatch, num(g.medianDaysToMatch)),
      value(g.promoted, count(g.promoted)),
      value(g.promotionRate, pct(g.promotionRate)),
      ratio(g.promotionRateImpact, g.promotionRateFlagged, g.promotionRatePValue),
    ].map((c) => h("td", {}, c)),
    h("td", {}, total ? "—" : finding(g)),
  );
}

export const equityPage: Page = async (main, ctx) => {
  const dimension = ctx.query.get("dimension") ?? "business_unit";
  const cohortId = ctx.query.get("cohort") ?? "";
  const [{ data: cohortData }, { data }] = await Promise.all([
    request(CohortsDocument),
    request(EquityDocument, { by: enumOf(dimension), cohortId: cohortId || null }),
  ]);
  const report = data.equityReport;
  const dim = h(
    "select",
    { id: "dimension", name: "dimension" },
    DIMENSIONS.map(([v, label]) => h("option", { value: v, selected: v === dimension }, label)),
  );
  const cohort = h(
    "select",
    { id: "cohort", name: "cohort" },
    h("option", { value: "" }, "All cohorts"),
    cohortData.cohorts.edges.map((e) =>
      h("option", { value: e.node.id, selected: e.node.id === cohortId }, e.node.name),
    ),
  );
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const q = new URLSearchParams({ dimension: dim.value });
        if (cohort.value) q.set("cohort", cohort.value);
        ctx.navigate(`equity?${q}`);
      },
    },
    h("div", {}, h("label", { for: "dimension" }, "Dimension"), dim),
    h("div", {}, h("label", { for: "cohort" }, "Cohort"), cohort),
    h("button", { type: "submit" }, "Show"),
  );

  const shown = report.groups.filter((g) => !g.suppressed);
  const hidden = report.groups.filter((g) => g.suppressed);
  const figure = chart({
    key: "equity-rates",
    title: "Match and promotion rates by group",
    summary:
      shown.map((g) => `${g.group}: ${pct(g.matchRate)} matched, ${pct(g.promotionRate)} promoted`).join("; ") +
      (hidden.length ? `. Suppressed: ${hidden.map((g) => g.group).join(", ")}.` : "."),
    option: bars(
      shown.map((g) => g.group),
      [
        { name: "Match rate", values: shown.map((g) => g.matchRate) },
        { name: "Promotion rate", values: shown.map((g) => g.promotionRate) },
      ],
      { percent: true },
    ),
    data: h("p", {}, "The table below holds every figure."),
    height: 260,
  });

  clear(
    main,
    h("h1", {}, "Equity"),
    form,
    h(
      "p",
      { class: "hint" },
      `Groups with fewer than ${report.k} participants are suppressed. An impact ratio is a group's rate divided by the best shown group's. A ratio below 0.8 is flagged "adverse impact" only when Fisher's exact test against the best group finds the difference significant (p < ${report.significance}); otherwise it reads "too few to tell": these numbers cannot tell it from chance. Match rates show their 95% interval.`,
    ),
    h("div", { class: "grid one" }, figure),
    h(
      "table",
      { class: "equity", "data-table": "equity" },
      h("caption", {}, `Equity by ${DIMENSIONS.find(([v]) => v === dimension)?.[1] ?? dimension}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [
            "Group",
            "Registered",
            "Participants",
            "Participation",
            "Matched",
            "Match rate (95% interval)",
            "Match impact ratio",
            "Median days to match",
            "Promoted",
            "Promotion rate",
            "Promotion impact ratio",
            "Finding",
          ].map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h("tbody", {}, report.groups.map((g) => row(g))),
      h("tfoot", {}, row(report.total, true)),
    ),
  );
};
