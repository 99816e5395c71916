// Mentor impact per quarter, with a CSV export built in the browser from the very
// figures on the page (the GraphQL answers), so the file and the screen agree.
import { all, request } from "../api";
import { bars, chart } from "../charts";
import { clear, count, h, notice, num, personName, table, value } from "../dom";
import { MentorImpactDocument, MentorsDocument, type MentorImpactQuery } from "../generated/graphql";
import type { Page } from "../page";

type Impact = MentorImpactQuery["mentorImpact"];
interface Line {
  mentorId: string;
  mentor: string;
  impact: Impact;
}

const QUARTER = /^\d{4}Q[1-4]$/;

export function currentQuarter(now = new Date()): string {
  return `${now.getUTCFullYear()}Q${Math.floor(now.getUTCMonth() / 3) + 1}`;
}

/** RFC 4180 CSV: fields quoted when they hold a comma, a quote or a line break. */
export function toCsv(rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

const HEADER = [
  "quarter",
  "mentor_id",
  "mentor",
  "mentees",
  "sessions_held",
  "sessions_expected",
  "milestones_achieved",
  "mean_rating",
  "ratings",
  "recognitions",
];

function csvRows(lines: Line[]): (string | number | null)[][] {
  return [
    HEADER,
    ...lines.map((l) => [
      l.impact.quarter,
      l.mentorId,
      l.mentor,
      l.impact.mentees.length,
      l.impact.sessionsHeld,
      l.impact.sessionsExpected,
      l.impact.milestonesAchieved,
      l.impact.meanRating,
      l.impact.ratings,
      l.impact.recognitions,
    ]),
  ];
}

/** Runs `work` over `items`, at most `width` at a time, keeping the order. */
async function pooled<T, R>(items: T[], width: number, work: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return out;
}

export const impactPage: Page = async (main, ctx) => {
  const asked = ctx.query.get("quarter") ?? currentQuarter();
  const quarter = QUARTER.test(asked) ? asked : currentQuarter();
  const input = h("input", {
    id: "quarter",
    name: "quarter",
    value: quarter,
    pattern: "\\d{4}Q[1-4]",
    required: true,
    "aria-describedby": "quarter-hint",
    size: 8,
  });
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        ctx.navigate(`impact?quarter=${encodeURIComponent(input.value.trim().toUpperCase())}`);
      },
    },
    h("div", {}, h("label", { for: "quarter" }, "Quarter"), input, h("span", { id: "quarter-hint", class: "hint" }, " e.g. 2026Q3")),
    h("button", { type: "submit" }, "Show"),
  );
  const mentors = await all(async (after) => {
    const { data } = await request(MentorsDocument, { after });
    const c = data.people;
    return { items: c.edges.map((e) => e.node), next: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null };
  });
  const failures: string[] = [];
  const lines = (
    await pooled(mentors, 4, async (m) => {
      try {
        const { data } = await request(MentorImpactDocument, { mentorId: m.id, quarter });
        return { mentorId: m.id, mentor: personName(m), impact: data.mentorImpact };
      } catch (err) {
        failures.push(`${personName(m)}: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      }
    })
  ).filter((l): l is Line => l !== null);
  lines.sort((a, b) => b.impact.sessionsHeld - a.impact.sessionsHeld || a.mentor.localeCompare(b.mentor));

  const active = lines.filter((l) => l.impact.sessionsExpected > 0 || l.impact.sessionsHeld > 0).slice(0, 15);
  const download = h(
    "button",
    {
      type: "button",
      "data-action": "export-csv",
      disabled: !lines.length,
      onclick: () => {
        const blob = new Blob([toCsv(csvRows(lines))], { type: "text/csv;charset=utf-8" });
        const link = h("a", { href: URL.createObjectURL(blob), download: `mentor-impact-${quarter}.csv` });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 0);
      },
    },
    `Export ${quarter} as CSV`,
  );

  clear(
    main,
    h("h1", {}, `Mentor impact, ${quarter}`),
    form,
    failures.length ? notice("error", `Some mentors could not be read: ${failures.slice(0, 3).join("; ")}`) : null,
    h("p", {}, download),
    h(
      "div",
      { class: "grid one" },
      chart({
        key: "mentor-sessions",
        title: "Sessions held vs expected (most active mentors)",
        summary: active.length
          ? `${active.map((l) => `${l.mentor}: ${l.impact.sessionsHeld} of ${l.impact.sessionsExpected}`).join("; ")}.`
          : `No sessions in ${quarter}.`,
        option: bars(
          active.map((l) => l.mentor),
          [
            { name: "Held", values: active.map((l) => l.impact.sessionsHeld) },
            { name: "Expected", values: active.map((l) => l.impact.sessionsExpected) },
          ],
          { horizontal: true },
        ),
        height: Math.max(180, 50 + 34 * active.length),
        data: h("p", {}, "The table below holds every figure."),
      }),
    ),
    table(
      `Mentor impact in ${quarter} (${lines.length} mentors)`,
      ["Mentor", "Mentees", "Sessions held", "Sessions expected", "Milestones achieved", "Mean rating", "Ratings", "Recognitions"],
      lines.map((l) => [
        l.mentor,
        value(l.impact.mentees.length, count(l.impact.mentees.length)),
        value(l.impact.sessionsHeld, count(l.impact.sessionsHeld)),
        value(l.impact.sessionsExpected, count(l.impact.sessionsExpected)),
        value(l.impact.milestonesAchieved, count(l.impact.milestonesAchieved)),
        value(l.impact.meanRating, num(l.impact.meanRating)),
        value(l.impact.ratings, count(l.impact.ratings)),
        value(l.impact.recognitions, count(l.impact.recognitions)),
      ]),
      { "data-table": "mentor-impact" },
    ),
  );
};
