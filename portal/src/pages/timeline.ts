// One pair's timeline: sessions, milestones, check-ins and notes in date order. A
// note the reader may not read (a coordinator's case) shows only that it exists.
import { request } from "../api";
import { takesPartOnly } from "../auth";
import { clear, code, h, globalId, isGlobalId, notice, mentorName, personName, words } from "../dom";
import { TimelineDocument, type TimelineQuery } from "../generated/graphql";
import type { Page } from "../page";

type Rel = Extract<NonNullable<TimelineQuery["node"]>, { __typename: "Relationship" }>;

interface Entry {
  at: string; // ISO date or date-time
  kind: "session" | "milestone" | "check-in" | "note";
  text: (string | HTMLElement)[];
}

const day = (iso: string | null | undefined): string => (iso ? iso.slice(0, 10) : "");

function entries(rel: Rel): Entry[] {
  const out: Entry[] = [];
  for (const { node: s } of rel.sessions.edges) {
    const detail = s.state === "CANCELLED" && s.reasonCode ? ` (${words(s.reasonCode)})` : "";
    out.push({
      at: s.heldAt ?? s.startsAt,
      kind: "session",
      text: [`${words(s.format)} session, ${s.minutes} min: ${words(s.state)}${detail}`],
    });
  }
  for (const { node: m } of rel.milestones.edges) {
    const when = m.achievedOn ?? m.dueOn;
    if (!when) continue;
    const progress = m.progress && m.state === "OPEN" ? `, ${words(m.progress)}` : "";
    const late = m.state === "ACHIEVED" && m.onTime === false ? " (late)" : "";
    out.push({
      at: when,
      kind: "milestone",
      text: [`Milestone “${m.label ?? "untitled"}”: ${words(m.state)}${progress}${late}`],
    });
  }
  for (const c of rel.checkIns) {
    if (!c.heldOn) continue;
    out.push({
      at: c.heldOn,
      kind: "check-in",
      text: [
        `${c.kind === "QUARTERLY" ? "Quarterly review" : "Monthly check-in"}, alignment ${c.alignment ?? "—"} of 5`,
        c.correction ? `: ${c.correction}` : "",
      ],
    });
  }
  for (const { node: n } of rel.notes.edges) {
    if (!n.createdAt) continue;
    out.push({
      at: n.createdAt,
      kind: "note",
      text: n.readable
        ? [`${words(n.kind)} (${words(n.visibility)}) by the ${n.authorRole ? words(n.authorRole) : "pair"}: ${n.body ?? ""}`]
        : [h("span", { class: "note-exists", "data-note": "exists" }, `A ${words(n.kind)} exists`), ` (${words(n.visibility)}, by the ${n.authorRole ? words(n.authorRole) : "pair"}; its text is not shown to you)`],
    });
  }
  return out.sort((a, b) => b.at.localeCompare(a.at));
}

/** The first and the last session held, by when they were held. */
function heldSpan(rel: Rel): string {
  const held = rel.sessions.edges
    .map((e) => e.node.heldAt)
    .filter((at): at is string => Boolean(at))
    .sort();
  if (!held.length) return "none yet";
  const [first, last] = [day(held[0]), day(held.at(-1))];
  return held.length === 1 ? `1, on ${first}` : `${held.length}, from ${first} to ${last}`;
}

export const timelinePage: Page = async (main, ctx) => {
  // The route names the relationship by its global id; an older link with the
  // service's own id still opens it.
  const param = ctx.params[0]!;
  const id = isGlobalId(param, "Relationship") ? param : globalId("Relationship", param);
  const { data, errors } = await request(TimelineDocument, { id });
  const rel = data.node?.__typename === "Relationship" ? (data.node as Rel) : null;
  if (!rel) {
    clear(main, h("h1", {}, "Relationship timeline"), notice("error", "No such relationship, or you may not see it."), h("a", { href: ctx.href("health") }, "Back to relationship health"));
    return;
  }
  const health = data.relationshipHealth;
  const pair = `${mentorName(rel.mentorParty)} and ${personName(rel.mentee)}`;
  const items = entries(rel);
  const contract = rel.contract;
  clear(
    main,
    takesPartOnly()
      ? h("p", { class: "crumbs" }, h("a", { href: ctx.href("me") }, "My mentoring"), " › timeline")
      : h("p", { class: "crumbs" }, h("a", { href: ctx.href("health") }, "Relationship health"), " › timeline"),
    h("h1", {}, `Timeline of ${pair}`),
    errors.length ? notice("error", `Some parts are missing: ${errors[0]!.message}`) : null,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"),
      h("dd", {}, words(rel.status)),
      h("dt", {}, "Kind"),
      h("dd", {}, words(rel.kind)),
      // The relationship's own dates (its effective start, set by the coordinator
      // or brought over with its history), not when it was recorded.
      h("dt", {}, "Started"),
      h("dd", { "data-starts-on": rel.startsOn ?? "" }, rel.startsOn ?? "—"),
      h("dt", {}, rel.status === "CONCLUDED" ? "Was planned to end" : "Planned to end"),
      h("dd", { "data-planned-end-on": rel.plannedEndOn ?? "" }, rel.plannedEndOn ?? "—"),
      h("dt", {}, "Sessions held"),
      h("dd", {}, heldSpan(rel)),
      h("dt", {}, "Contract"),
      h(
        "dd",
        {},
        contract
          ? `version ${contract.version}, ${contract.inForce ? "in force" : "not signed by both"}${
              contract.cadence ? `, every ${contract.cadence.everyDays} days for ${contract.cadence.minutes} min` : ""
            }`
          : "none yet",
      ),
      h("dt", {}, "Health"),
      h(
        "dd",
        { "data-health": health ? code(health.state) : "" },
        health ? h("span", { class: `badge state-${code(health.state)}` }, words(health.state)) : "unknown",
        health?.reasons.length ? ` — ${health.reasons.map(words).join(", ")}` : "",
      ),
    ),
    h("h2", {}, "What happened"),
    items.length
      ? h(
          "ol",
          { class: "timeline", reversed: true },
          items.map((e) =>
            h(
              "li",
              { "data-kind": e.kind },
              h("time", { datetime: e.at }, day(e.at)),
              h("span", { class: `kind kind-${e.kind}` }, e.kind),
              h("span", { class: "what" }, ...e.text),
            ),
          ),
        )
      : h("p", {}, "Nothing recorded yet."),
  );
};
