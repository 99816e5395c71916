// Matching rounds: start one and follow it live (`roundProgress`), then act on its
// proposed pairs — approve, forbid (with a reason) or pin and re-run — each pair with
// its score explained criterion by criterion.
import { all, mutationError, request, subscribe } from "../api";
import { clear, code, count, globalId, h, isGlobalId, mentorName, notice, num, personName, words } from "../dom";
import {
  ApprovePairingDocument,
  CohortsDocument,
  ForbidPairDocument,
  OpenProposalsDocument,
  RerunRoundDocument,
  RoundDocument,
  RoundPairsDocument,
  RoundProgressDocument,
  StartRoundDocument,
  type PinInput,
  type RoundPairsQuery,
  type RoundQuery,
  type MatchingMode,
} from "../generated/graphql";
import type { Page, PageContext } from "../page";

type Round = Extract<NonNullable<RoundQuery["node"]>, { __typename: "MatchingRound" }>;
type Pair = RoundPairsQuery["pairings"]["edges"][number]["node"];
type Circle = Round["circles"][number];

/** The mentor as a person (pins and forbidden pairs name people), or null for an
 * external advisor. */
const personMentor = (p: Pair) => (p.mentorParty?.__typename === "Person" ? p.mentorParty : null);

/** Why the pair was declined, withdrawn or ended, when the caller may read it. */
const reasonOf = (p: Pair) => p.declineReason ?? p.withdrawalReason ?? p.endReason;

interface Loaded {
  round: Round;
  pairs: Pair[];
}

export const roundsPage: Page = async (main, ctx) => {
  const [proposals, { data: cohortData }] = await Promise.all([
    all(async (after) => {
      const { data } = await request(OpenProposalsDocument, { after });
      const c = data.pairings;
      return {
        items: c.edges.map((e) => e.node),
        next: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null,
      };
    }),
    request(CohortsDocument),
  ]);
  const rounds = new Map<string, { name: string; status: string; open: number }>();
  for (const p of proposals) {
    if (!p.round) continue;
    const r = rounds.get(p.round.id) ?? {
      name: p.round.cohort?.name ?? "cohort",
      status: p.round.status,
      open: 0,
    };
    r.open += 1;
    rounds.set(p.round.id, r);
  }
  const status = h("div", { "aria-live": "polite" });
  const cohort = h(
    "select",
    { id: "round-cohort", name: "cohort", required: true },
    cohortData.cohorts.edges.map((e) => h("option", { value: e.node.id }, e.node.name)),
  );
  const mode = h(
    "select",
    { id: "round-mode", name: "mode" },
    h("option", { value: "QUALITY" }, "Quality (best total score)"),
    h("option", { value: "COVERAGE" }, "Coverage (match as many as possible)"),
  );
  const start = h(
    "form",
    {
      class: "filters",
      "aria-labelledby": "start-title",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        clear(status, h("p", { role: "status" }, "Starting…"));
        const { data } = await request(StartRoundDocument, {
          input: { cohortId: cohort.value, mode: mode.value as MatchingMode, wait: false },
        });
        const r = data.startMatchingRound;
        if (r.__typename === "MatchingRoundSuccess") ctx.navigate(`rounds/${encodeURIComponent(r.round.id)}`);
        else clear(status, notice("error", mutationError(r) ?? "The round was refused."));
      },
    },
    h("div", {}, h("label", { for: "round-cohort" }, "Cohort"), cohort),
    h("div", {}, h("label", { for: "round-mode" }, "Mode"), mode),
    h("button", { type: "submit" }, "Start a round"),
  );
  clear(
    main,
    h("h1", {}, "Matching rounds"),
    h(
      "section",
      { "aria-labelledby": "open-title" },
      h("h2", { id: "open-title" }, "Rounds with proposals awaiting a decision"),
      rounds.size
        ? h(
            "ul",
            { class: "round-list" },
            [...rounds].map(([id, r]) =>
              h(
                "li",
                {},
                h("a", { href: ctx.href(`rounds/${encodeURIComponent(id)}`), "data-round": id }, `${r.name} round`),
                ` — ${words(r.status)}, ${count(r.open)} proposed pairs`,
              ),
            ),
          )
        : h("p", {}, "No proposals await a decision."),
    ),
    h("section", {}, h("h2", { id: "start-title" }, "Start a round"), start, status),
  );
};

function explanation(p: Pair): HTMLElement {
  return h(
    "details",
    { class: "explain" },
    h("summary", {}, "Why this score"),
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, `Score of ${personName(p.mentee)} with ${mentorName(p.mentorParty)}`),
      h("thead", {}, h("tr", {}, ["Criterion", "Weight", "Value", "Contribution", "Reason"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        p.explanation.map((part) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, words(part.criterion)),
            h("td", {}, num(part.weight)),
            h("td", {}, num(part.value)),
            h("td", {}, num(part.contribution)),
            h("td", {}, part.reason),
          ),
        ),
      ),
    ),
  );
}

async function loadRound(id: string): Promise<Loaded | null> {
  const [{ data }, pairs] = await Promise.all([
    request(RoundDocument, { id }),
    all(async (after) => {
      const { data: page } = await request(RoundPairsDocument, { roundId: id, after });
      const c = page.pairings;
      return {
        items: c.edges.map((e) => e.node),
        next: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null,
      };
    }),
  ]);
  const round = data.node?.__typename === "MatchingRound" ? (data.node as Round) : null;
  return round ? { round, pairs } : null;
}

/** A group round's circles: one mentor, the mentees who meet with them and the goals
 * they share (most shared first, as the service orders them). */
function circlesTable(circles: Circle[]): HTMLElement {
  return h(
    "table",
    { class: "pairs", "data-table": "circles" },
    h("caption", {}, `Circles (${circles.length})`),
    h("thead", {}, h("tr", {}, ["Mentor", "Members", "Mentees", "Shared goals"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      circles.map((c) =>
        h(
          "tr",
          { "data-circle": c.mentorParty?.id ?? "" },
          h("th", { scope: "row" }, mentorName(c.mentorParty)),
          h("td", {}, count(c.size)),
          h("td", { class: "circle-mentees" }, c.mentees.map(personName).join(", ")),
          h("td", { class: "circle-goals" }, sharedGoals(c.sharedGoals)),
        ),
      ),
    ),
  );
}

function sharedGoals(goals: Circle["sharedGoals"]): string {
  if (!goals?.length) return "—";
  return goals.map((g) => `${g.name} (${g.members})`).join(", ");
}

function progressView(r: { status: string; phase: string; done: number; total: number }): HTMLElement {
  const finished = r.status !== "RUNNING";
  return h(
    "div",
    { class: "progress", "data-status": code(r.status) },
    h("label", { for: "round-progress" }, `${words(r.status)}: ${words(r.phase)} (${r.done} of ${r.total})`),
    h("progress", { id: "round-progress", max: Math.max(r.total, 1), value: finished ? Math.max(r.total, 1) : r.done }),
  );
}

export const roundPage: Page = async (main, ctx: PageContext) => {
  // The route names the round by its global id; an older link with the service's
  // own id still opens it.
  const param = ctx.params[0]!;
  const id = isGlobalId(param, "MatchingRound") ? param : globalId("MatchingRound", param);
  const status = h("div", { class: "status-line", "aria-live": "polite" });
  const progress = h("div", {});
  const body = h("div", {});
  const pins: PinInput[] = [];
  let loaded = await loadRound(id);
  if (!loaded) {
    clear(main, h("h1", {}, "Matching round"), notice("error", "No such round, or you may not see it."));
    return;
  }

  const say = (text: string, kind: "info" | "error" = "info") => clear(status, notice(kind, text));

  const act = async (what: string, run: () => Promise<string | null>) => {
    say(`${what}…`);
    const error = await run();
    if (error) {
      say(`${what} failed: ${error}`, "error");
      return;
    }
    loaded = (await loadRound(id)) ?? loaded;
    draw();
    say(`${what}: done.`);
  };

  const approve = (p: Pair) =>
    act(`Approving ${personName(p.mentee)} with ${mentorName(p.mentorParty)}`, async () => {
      const r = (await request(ApprovePairingDocument, { pairingId: p.id })).data.approvePairing;
      return r.__typename === "PairingSuccess" ? null : mutationError(r);
    });

  const forbid = (p: Pair, reason: string) =>
    act(`Forbidding ${personName(p.mentee)} with ${mentorName(p.mentorParty)}`, async () => {
      const mentor = personMentor(p);
      if (!mentor || !p.mentee) return "the pair's people are not visible";
      const r = (
        await request(ForbidPairDocument, {
          input: { mentorId: mentor.id, menteeId: p.mentee.id, reason, cohortId: loaded!.round.cohort?.id ?? null },
        })
      ).data.forbidPair;
      return r.__typename === "ForbidPairSuccess" ? null : mutationError(r);
    });

  const rerun = async () => {
    say("Re-running the round with its pins…");
    const { data } = await request(RerunRoundDocument, { input: { roundId: id, pins } });
    const r = data.rerunRound;
    if (r.__typename === "MatchingRoundSuccess") ctx.navigate(`rounds/${encodeURIComponent(r.round.id)}`);
    else say(`The re-run failed: ${mutationError(r)}`, "error");
  };

  function pairRow(p: Pair): HTMLElement {
    const who = `${personName(p.mentee)} with ${mentorName(p.mentorParty)}`;
    const mentor = personMentor(p);
    const why = reasonOf(p);
    const reason = h("input", { type: "text", id: `reason-${p.id}`, name: "reason", required: true, minlength: 3 });
    const forbidForm = h(
      "form",
      {
        class: "inline",
        hidden: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void forbid(p, reason.value.trim());
        },
      },
      h("label", { for: `reason-${p.id}` }, "Reason"),
      reason,
      h("button", { type: "submit" }, "Forbid this pair"),
    );
    const pinned = pins.some((x) => x.menteeId === p.mentee?.id && x.mentorId === mentor?.id);
    const open = p.status === "PROPOSED";
    return h(
      "tr",
      { "data-pairing": p.id, "data-status": code(p.status) },
      h("th", { scope: "row" }, personName(p.mentee)),
      h("td", { class: "pair-mentor" }, mentorName(p.mentorParty)),
      h("td", { "data-value": String(p.score) }, num(p.score), explanation(p)),
      h(
        "td",
        { class: "pair-status" },
        h("span", { class: `badge status-${code(p.status)}` }, words(p.status)),
        why
          ? h(
              "p",
              { class: "pair-reason", "data-reason": why.code ?? "" },
              `Reason: ${why.text}${why.code ? ` (${words(why.code)})` : ""}`,
            )
          : null,
      ),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", disabled: !open, "aria-label": `Approve ${who}`, onclick: () => void approve(p) }, "Approve"),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            disabled: !open || !mentor,
            "aria-label": `Forbid ${who}`,
            "aria-expanded": "false",
            onclick: (e: Event) => {
              forbidForm.hidden = !forbidForm.hidden;
              (e.currentTarget as HTMLElement).setAttribute("aria-expanded", String(!forbidForm.hidden));
              if (!forbidForm.hidden) reason.focus();
            },
          },
          "Forbid…",
        ),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-pressed": String(pinned),
            "aria-label": `Pin ${who}`,
            disabled: !p.mentee || !mentor,
            onclick: () => {
              const at = pins.findIndex((x) => x.menteeId === p.mentee!.id && x.mentorId === mentor!.id);
              if (at >= 0) pins.splice(at, 1);
              else pins.push({ menteeId: p.mentee!.id, mentorId: mentor!.id });
              draw();
            },
          },
          "Pin",
        ),
        forbidForm,
      ),
    );
  }

  function draw(): void {
    const r = loaded!.round;
    const pairs = loaded!.pairs;
    clear(progress, progressView({ status: r.status, ...r.progress }));
    clear(
      body,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Mode"),
        h("dd", {}, words(r.mode)),
        h("dt", {}, "Mentees / mentors"),
        h("dd", {}, `${count(r.menteeCount)} / ${count(r.mentorCount)}`),
        h("dt", {}, "Proposed pairs"),
        h("dd", {}, count(r.proposedCount)),
        h("dt", {}, "Total score"),
        h("dd", {}, num(r.totalScore)),
        h("dt", {}, "Pinned in this round"),
        h("dd", {}, r.pinned.length ? r.pinned.map((p) => `${personName(p.mentee)} → ${personName(p.mentor)}`).join("; ") : "none"),
        h("dt", {}, "Unmatched"),
        h("dd", {}, r.unmatched.length ? r.unmatched.map(personName).join(", ") : "none"),
      ),
      r.error ? notice("error", `The round failed: ${r.error}`) : null,
      r.circles.length ? circlesTable(r.circles) : null,
      pins.length
        ? h(
            "p",
            { class: "pins" },
            `${pins.length} pair(s) pinned. `,
            h("button", { type: "button", onclick: () => void rerun() }, `Re-run the round keeping ${pins.length} pin(s)`),
          )
        : null,
      pairs.length
        ? h(
            "table",
            { class: "pairs", "data-table": "proposed-pairs" },
            h("caption", {}, `Proposed pairs (${pairs.length})`),
            h("thead", {}, h("tr", {}, ["Mentee", "Mentor", "Score", "Status", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, pairs.map(pairRow)),
          )
        : h("p", {}, r.status === "RUNNING" ? "Pairs appear when the round completes." : "This round proposed no pairs."),
    );
  }

  clear(
    main,
    h("p", { class: "crumbs" }, h("a", { href: ctx.href("rounds") }, "Matching rounds"), " › this round"),
    h("h1", {}, `Matching round: ${loaded.round.cohort?.name ?? "cohort"}`),
    progress,
    status,
    body,
  );
  draw();

  if (loaded.round.status === "RUNNING") {
    const sub = subscribe(RoundProgressDocument, { roundId: id }, {
      next(data) {
        const u = data.roundProgress;
        clear(progress, progressView(u));
        if (u.status !== "RUNNING") {
          void loadRound(id).then((r) => {
            if (r) loaded = r;
            draw();
            say(`The round ${words(u.status)}.`);
          });
        }
      },
      error(err) {
        say(`Live progress is off: ${err.message}`, "error");
      },
    });
    ctx.onLeave(() => sub.stop());
  }
};
