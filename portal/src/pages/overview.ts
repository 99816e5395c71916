// Programme overview: participation, matched / waiting, time to match, mentor
// utilisation, advisor hours vs contracts and cohort fill — one query, as charts.
import { all, request } from "../api";
import { bars, chart } from "../charts";
import {
  clear,
  count,
  h,
  localId,
  notice,
  num,
  pct,
  suppressedBadge,
  table,
  value,
} from "../dom";
import {
  ConfirmedPairingsDocument,
  OverviewDocument,
  type OverviewQuery,
} from "../generated/graphql";
import type { Page } from "../page";

interface CohortFill {
  cohort_id: string;
  admitted: number;
  capacity: number | null;
  fill_rate: number | null;
}
interface Waiting {
  length: number;
  mean_age_days: number | null;
  oldest_age_days: number | null;
}
interface Utilisation {
  mentors: number;
  capacity: number;
  active_pairings: number;
  rate: number | null;
  over_capacity: number;
}
interface Hours {
  agreement_id: string;
  advisor_id: string;
  hours_logged: number;
  hours_contracted: number;
  usage: number | null;
}

const asList = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const asObject = <T>(v: unknown): Partial<T> =>
  v && typeof v === "object" ? (v as Partial<T>) : {};

function participation(ops: OverviewQuery["programmeOperations"]): HTMLElement {
  const p = ops.participation;
  return chart({
    key: "participation",
    title: "Participation vs eligible population",
    summary: `${count(p.participants)} of ${count(p.eligible)} eligible people take part (${pct(p.rate)}).`,
    option: bars(["Eligible", "Participants"], [{ name: "People", values: [p.eligible, p.participants] }]),
    data: table("Participation", ["Measure", "People"], [
      ["Eligible", value(p.eligible, count(p.eligible))],
      ["Participants", value(p.participants, count(p.participants))],
      ["Participation rate", value(p.rate, pct(p.rate))],
    ]),
  });
}

function matching(participants: number, matched: number, waiting: Partial<Waiting>): HTMLElement {
  const queued = waiting.length ?? 0;
  const awaiting = Math.max(participants - matched, 0);
  return chart({
    key: "matching",
    title: "Matched and waiting",
    summary: `${count(matched)} participants are matched, ${count(awaiting)} await a match and ${count(queued)} are on a cohort waiting list.`,
    option: {
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [
        {
          type: "pie",
          radius: ["38%", "62%"],
          center: ["50%", "45%"],
          label: { formatter: "{c}" },
          data: [
            { name: "Matched", value: matched },
            { name: "Awaiting a match", value: awaiting },
            { name: "On a waiting list", value: queued },
          ],
        },
      ],
    },
    data: table("Matched and waiting", ["Measure", "People"], [
      ["Matched", value(matched, count(matched))],
      ["Awaiting a match", value(awaiting, count(awaiting))],
      ["On a waiting list", value(queued, count(queued))],
      ["Mean days on the waiting list", value(waiting.mean_age_days, num(waiting.mean_age_days))],
    ]),
  });
}

function timeToMatch(data: OverviewQuery): HTMLElement {
  const eq = data.equityReport;
  const shown = eq.groups.filter((g) => !g.suppressed && g.medianDaysToMatch !== null);
  const median = eq.total.suppressed ? null : eq.total.medianDaysToMatch;
  // Always in days: a programme's wait is read in days, and a wait under a day is
  // a fraction of one (the figures are from joining to the first confirmation).
  const inDays = (days: number | null) =>
    days === null ? "—" : `${num(Math.round(days * 10) / 10)} ${days === 1 ? "day" : "days"}`;
  return chart({
    key: "time-to-match",
    title: "Time to match (median days, by business unit)",
    summary:
      median === null
        ? `The programme-wide median is suppressed; ${shown.length} business units are shown.`
        : `Participants wait ${inDays(median)} for their first confirmed match (median).`,
    option: bars(
      shown.map((g) => g.group),
      [{ name: "Median days", values: shown.map((g) => g.medianDaysToMatch ?? 0) }],
      { horizontal: true, decimals: 1 },
    ),
    height: Math.max(160, 40 + 28 * shown.length),
    data: table("Median time to match (raw values in days)", ["Business unit", "Median"], [
      ["All participants", eq.total.suppressed ? suppressedBadge() : value(median, inDays(median))],
      ...eq.groups.map((g) => [
        g.group,
        g.suppressed ? suppressedBadge() : value(g.medianDaysToMatch, inDays(g.medianDaysToMatch)),
      ]),
    ]),
  });
}

function utilisation(u: Partial<Utilisation>): HTMLElement {
  const rate = u.rate ?? null;
  return chart({
    key: "utilisation",
    title: "Mentor utilisation",
    summary: `${count(u.active_pairings)} active pairings use ${count(u.capacity)} declared mentor seats (${pct(rate)}); ${count(u.over_capacity)} mentors are over capacity.`,
    option: {
      series: [
        {
          type: "gauge",
          min: 0,
          max: 100,
          progress: { show: true, width: 14 },
          axisLine: { lineStyle: { width: 14 } },
          axisLabel: { distance: 18 },
          title: { show: false },
          detail: { formatter: "{value}%", fontSize: 22, offsetCenter: [0, "70%"] },
          data: [{ value: rate === null ? 0 : Math.round(rate * 1000) / 10, name: "seats used" }],
        },
      ],
    },
    data: table("Mentor utilisation", ["Measure", "Value"], [
      ["Mentors with a capacity", value(u.mentors, count(u.mentors))],
      ["Seats declared", value(u.capacity, count(u.capacity))],
      ["Active pairings", value(u.active_pairings, count(u.active_pairings))],
      ["Utilisation", value(rate, pct(rate))],
      ["Mentors over capacity", value(u.over_capacity, count(u.over_capacity))],
    ]),
  });
}

function advisorHours(data: OverviewQuery, hours: Hours[]): HTMLElement {
  const names = new Map(
    data.advisorAgreements.edges.map((e) => [localId(e.node.id), e.node.advisor?.name ?? "advisor"]),
  );
  const label = (row: Hours) => names.get(row.agreement_id) ?? row.agreement_id.slice(0, 8);
  const logged = hours.reduce((s, r) => s + r.hours_logged, 0);
  const contracted = hours.reduce((s, r) => s + r.hours_contracted, 0);
  return chart({
    key: "advisor-hours",
    title: "Advisor hours vs contracts",
    summary: hours.length
      ? `${num(logged)} hours logged against ${count(contracted)} contracted across ${hours.length} agreements.`
      : "No advisor agreements yet.",
    // Horizontal: one row per agreement, so names never run into each other.
    option: bars(
      hours.map(label),
      [
        { name: "Hours logged", values: hours.map((r) => r.hours_logged) },
        { name: "Hours contracted", values: hours.map((r) => r.hours_contracted) },
      ],
      { horizontal: true },
    ),
    height: Math.max(180, 60 + 44 * hours.length),
    data: table(
      "Advisor hours",
      ["Agreement", "Hours logged", "Hours contracted", "Usage"],
      hours.map((r) => [
        label(r),
        value(r.hours_logged, num(r.hours_logged)),
        value(r.hours_contracted, count(r.hours_contracted)),
        value(r.usage, pct(r.usage)),
      ]),
    ),
  });
}

function cohortFill(data: OverviewQuery, cohorts: CohortFill[]): HTMLElement {
  const names = new Map(data.cohorts.edges.map((e) => [localId(e.node.id), e.node.name]));
  const label = (c: CohortFill) => names.get(c.cohort_id) ?? c.cohort_id.slice(0, 8);
  return chart({
    key: "cohort-fill",
    title: "Cohort seats filled",
    summary: cohorts
      .map((c) => `${label(c)}: ${count(c.admitted)} of ${count(c.capacity)} seats`)
      .join("; ") || "No cohorts yet.",
    // Horizontal: one row per cohort, so long names never run into each other.
    option: bars(
      cohorts.map(label),
      [
        { name: "Admitted", values: cohorts.map((c) => c.admitted) },
        { name: "Seats", values: cohorts.map((c) => c.capacity) },
      ],
      { horizontal: true },
    ),
    height: Math.max(180, 60 + 44 * cohorts.length),
    data: table(
      "Cohort seats",
      ["Cohort", "Admitted", "Seats", "Filled"],
      cohorts.map((c) => [
        label(c),
        value(c.admitted, count(c.admitted)),
        value(c.capacity, count(c.capacity)),
        value(c.fill_rate, pct(c.fill_rate)),
      ]),
    ),
  });
}

export const overviewPage: Page = async (main) => {
  const [{ data, errors }, confirmed] = await Promise.all([
    request(OverviewDocument),
    all(async (after) => {
      const { data: page } = await request(ConfirmedPairingsDocument, { after });
      const c = page.pairings;
      return {
        items: c.edges.map((e) => e.node.mentee?.id ?? null),
        next: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null,
      };
    }),
  ]);
  const matched = new Set(confirmed.filter((id): id is string => id !== null)).size;
  const ops = data.programmeOperations;
  const waiting = asObject<Waiting>(ops.waitingList);
  clear(
    main,
    h("h1", {}, "Programme overview"),
    h("p", { class: "as-of" }, `As of ${ops.asOf}. `, `Groups smaller than ${data.equityReport.k} are suppressed.`),
    errors.length ? notice("error", `Some figures are missing: ${errors[0]!.message}`) : null,
    h(
      "div",
      { class: "grid" },
      participation(ops),
      matching(ops.participation.participants, matched, waiting),
      timeToMatch(data),
      utilisation(asObject<Utilisation>(ops.mentorUtilisation)),
      advisorHours(data, asList<Hours>(ops.advisorHours)),
      cohortFill(data, asList<CohortFill>(ops.participation.cohorts)),
    ),
  );
};
