// The dashboard in a real browser against the demo organisation. Every number the
// page shows is compared with the same GraphQL document run directly against the API
// (the dashboard has no second source of truth). Screenshots of each page go to
// TANDEM_ARTIFACTS. Run: TANDEM_BASE_URL=http://127.0.0.1:8000 npm run e2e
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import {
  DASHBOARD,
  chartValues,
  coordinator,
  demoFacts,
  demoUsers,
  documentOf,
  globalId,
  graphql,
  launch,
  overlappingLabels,
  participant,
  screenshot,
  signedIn,
} from "./harness.mjs";

const PAGE_CHARTS = 'figure[data-chart] .chart-canvas';

/** Waits until every chart on the page has drawn (ECharts' `finished`). */
async function chartsDrawn(page) {
  const canvases = page.locator(PAGE_CHARTS);
  await canvases.first().waitFor();
  const n = await canvases.count();
  for (let i = 0; i < n; i++) {
    const figure = page.locator("figure[data-chart]").filter({ has: page.locator(".chart-canvas") }).nth(i);
    await figure.and(page.locator('[data-rendered="true"]')).waitFor();
    assert.ok((await figure.locator("svg path").count()) > 0, "the chart drew nothing");
  }
  return n;
}

async function allPages(token, name, field, variables = {}) {
  const doc = documentOf(name);
  const out = [];
  let after = null;
  do {
    const data = await graphql(token, doc, { ...variables, after });
    out.push(...data[field].edges.map((e) => e.node));
    after = data[field].pageInfo.hasNextPage ? data[field].pageInfo.endCursor : null;
  } while (after);
  return out;
}

describe("programme dashboard", () => {
  let browser;
  let who;
  const facts = demoFacts();

  before(async () => {
    who = await coordinator();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test("sign-in offers the demo users and keeps the token in the tab only", async () => {
    const page = await browser.context.newPage();
    await page.goto(DASHBOARD);
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    if (who.demo) {
      assert.ok((await page.locator("[data-user]").count()) > 0, "no demo users listed");
    }
    await screenshot(page, "01-sign-in");
    await page.close();
    const { page: signed, problems } = await signedIn(browser.context, who);
    const kept = await signed.evaluate(() => [sessionStorage.getItem("tandem.token"), localStorage.length]);
    // /dev/tokens mints a fresh token per call: the same person, not the same string.
    const subject = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString()).sub;
    assert.ok(kept[0], "no token kept in sessionStorage");
    assert.equal(subject(kept[0]), subject(who.token));
    assert.equal(kept[1], 0, "nothing is kept beyond the tab");
    assert.deepEqual(problems, []);
    await signed.close();
  });

  test("the overview renders its charts with the API's numbers", async () => {
    const { page, problems } = await signedIn(browser.context, who);
    const drawn = await chartsDrawn(page);
    assert.ok(drawn >= 5, `only ${drawn} charts drawn`);
    const api = await graphql(who.token, documentOf("Overview"));
    const ops = api.programmeOperations;

    const participation = await chartValues(page, "participation");
    assert.equal(participation["Eligible"], ops.participation.eligible);
    assert.equal(participation["Participants"], ops.participation.participants);
    assert.equal(participation["Participation rate"], ops.participation.rate);

    const utilisation = await chartValues(page, "utilisation");
    assert.equal(utilisation["Seats declared"], ops.mentorUtilisation.capacity);
    assert.equal(utilisation["Active pairings"], ops.mentorUtilisation.active_pairings);
    assert.equal(utilisation["Utilisation"], ops.mentorUtilisation.rate);

    const confirmed = await allPages(who.token, "ConfirmedPairings", "pairings");
    const matched = new Set(confirmed.map((p) => p.mentee?.id).filter(Boolean)).size;
    const matching = await chartValues(page, "matching");
    assert.equal(matching["Matched"], matched);
    assert.equal(matching["Awaiting a match"], ops.participation.participants - matched);
    assert.equal(matching["On a waiting list"], ops.waitingList.length);
    const total = api.equityReport.total;
    const ttm = await chartValues(page, "time-to-match");
    assert.equal(ttm["All participants"], total.suppressed ? null : total.medianDaysToMatch);
    for (const g of api.equityReport.groups) {
      assert.equal(ttm[g.group], g.suppressed ? null : g.medianDaysToMatch, g.group);
    }

    const hours = await chartValues(page, "advisor-hours", 1);
    assert.deepEqual(
      Object.values(hours).sort(),
      ops.advisorHours.map((h) => h.hours_logged).sort(),
    );
    const fill = await chartValues(page, "cohort-fill");
    assert.deepEqual(
      Object.values(fill).sort(),
      ops.participation.cohorts.map((c) => c.admitted).sort(),
    );
    // Time to match reads in days, whatever its size.
    const ttmTitle = await page.locator('figure[data-chart="time-to-match"] figcaption').textContent();
    assert.match(ttmTitle, /median days/);
    const ttmCells = await page
      .locator('figure[data-chart="time-to-match"] table tbody td [data-value]')
      .allTextContents();
    for (const cell of ttmCells) assert.match(cell, /^(—|[\d.,]+ days?)$/, cell);

    // Every category label of the overview's bar charts is shown, none on another.
    for (const [key, categories] of [
      ["participation", ["Eligible", "Participants"]],
      ["advisor-hours", null],
      ["cohort-fill", null],
    ]) {
      const { names, shown, overlapping } = await overlappingLabels(page, key, categories);
      assert.deepEqual(overlapping, [], `${key}: labels overlap`);
      assert.equal(shown, names, `${key}: ${names - shown} labels are not shown`);
    }
    await screenshot(page, "02-overview");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("an at-risk pair is listed with the reasons that fired, and its timeline opens", async () => {
    const warnings = await allPages(who.token, "EarlyWarnings", "earlyWarnings");
    const stalled = facts.stalled_relationship_id;
    const target = stalled
      ? warnings.find((w) => w.relationship?.id === globalId("Relationship", stalled))
      : warnings.find((w) => w.state === "AT_RISK");
    assert.ok(target, "the API reports no at-risk relationship");
    assert.equal(target.state, "AT_RISK");
    assert.ok(target.reasons.length > 0);

    const { page, problems } = await signedIn(browser.context, who);
    await page.getByRole("navigation").getByRole("link", { name: "Relationship health" }).click();
    const row = page.locator(`tr[data-relationship="${target.relationship.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-state"), "at_risk");
    const reasons = await row.locator("[data-reason]").evaluateAll((els) => els.map((e) => e.getAttribute("data-reason")));
    assert.deepEqual(reasons, target.reasons);
    await chartsDrawn(page);

    // The history chart: every week's counts, and so its last point (today), are the
    // API's answer for the range the page asked for; today counts the at-risk pair.
    const figure = page.locator('figure[data-chart="health-history"]');
    const range = {
      from: await figure.getAttribute("data-from"),
      to: await figure.getAttribute("data-to"),
      every: "WEEK",
    };
    const history = (await graphql(who.token, documentOf("HealthHistory"), range)).relationshipHealthHistory;
    const today = history.at(-1);
    assert.equal(today.date, range.to);
    assert.ok(today.atRisk >= 1, "the at-risk pair is missing from today's count");
    const columns = ["onTrack", "tooEarly", "needsCheckIn", "atRisk", "concluded", "total"];
    for (const [n, field] of columns.entries()) {
      const shown = await chartValues(page, "health-history", n + 1);
      assert.deepEqual(shown, Object.fromEntries(history.map((p) => [p.date, p[field]])), field);
      assert.equal(shown[today.date], today[field], `${field} today`);
    }
    // The stack: healthiest at the bottom, "at risk" the top band, and the total
    // drawn and named above it (never read as "at risk").
    assert.equal(await figure.getAttribute("data-stack"), "on_track,too_early,needs_check_in,at_risk");
    assert.equal(await figure.getAttribute("data-lines"), "live_total,concluded");
    // The demo has a past: relationships stood in their states twelve weeks ago too.
    assert.ok(history[0].total > 0, `nothing had started by ${history[0].date}`);
    await screenshot(page, "03-relationship-health");

    await row.getByRole("link", { name: /Timeline/ }).click();
    await page.getByRole("heading", { level: 1, name: /^Timeline of/ }).waitFor();
    assert.equal(await page.locator("[data-health]").getAttribute("data-health"), "at_risk");
    // The header dates the relationship by its own start: no session held before it.
    const { node: rel } = await graphql(who.token, documentOf("Timeline"), { id: target.relationship.id });
    assert.equal(await page.locator("[data-starts-on]").getAttribute("data-starts-on"), rel.startsOn);
    const heldDays = rel.sessions.edges.map((e) => e.node.heldAt).filter(Boolean).map((at) => at.slice(0, 10));
    for (const held of heldDays) assert.ok(held >= rel.startsOn, `a session held on ${held}, before ${rel.startsOn}`);
    await screenshot(page, "04-relationship-timeline");

    // A pair that keeps a journal: the coordinator sees that each note exists, and
    // nothing of what it says.
    const states = await allPages(who.token, "HealthStates", "relationshipHealths");
    // A live one: last year's cohort (imported history, concluded) kept no journal.
    const other = states.find(
      (s) => s.relationship && s.relationship.id !== target.relationship.id && s.state !== "CONCLUDED",
    );
    assert.ok(other, "the demo has one relationship only");
    await page.goto(`${DASHBOARD}relationships/${encodeURIComponent(other.relationship.id)}`);
    await page.getByRole("heading", { level: 1, name: /^Timeline of/ }).waitFor();
    const notes = page.locator('li[data-kind="note"]');
    assert.ok((await notes.count()) > 0, "no note in the timeline");
    assert.equal(await notes.locator('[data-note="exists"]').count(), await notes.count(), "a coordinator sees a note's text");
    assert.match(await notes.first().textContent(), /its text is not shown to you/);
    await screenshot(page, "04b-relationship-timeline-notes");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a coordinator approves a proposed pair and the page updates", async () => {
    const proposals = await allPages(who.token, "OpenProposals", "pairings");
    // The demo leaves its reverse-mentoring round proposed (facts hold local ids).
    const planted = facts.rounds?.reverse;
    const roundId = planted ? globalId("MatchingRound", planted) : proposals.find((p) => p.round)?.round.id;
    assert.ok(roundId, "no round with proposed pairs");

    const { page, problems } = await signedIn(browser.context, who);
    await page.getByRole("navigation").getByRole("link", { name: "Matching rounds" }).click();
    await page.locator(`a[data-round="${roundId}"]`).click();
    const proposed = page.locator('tr[data-pairing][data-status="proposed"]').first();
    await proposed.waitFor();
    const pairingId = await proposed.getAttribute("data-pairing");
    await proposed.locator("details.explain summary").click();
    assert.ok((await proposed.locator("details.explain tbody tr").count()) > 0, "the score is not explained");
    await screenshot(page, "05-matching-round");

    await proposed.getByRole("button", { name: /^Approve / }).click();
    const updated = page.locator(`tr[data-pairing="${pairingId}"]`);
    await updated.and(page.locator('[data-status="approved"]')).waitFor();
    assert.equal((await updated.locator(".pair-status").textContent()).trim(), "approved");
    assert.ok(await updated.getByRole("button", { name: /^Approve / }).isDisabled());
    const data = await graphql(who.token, "query($id: ID!) { node(id: $id) { ... on Pairing { status } } }", {
      id: pairingId,
    });
    assert.equal(data.node.status, "APPROVED");
    await screenshot(page, "06-matching-round-approved");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("advisor mentors, group circles and decline reasons show on their rounds", async () => {
    // The demo leaves an external round (one director declined, with a reason) and a
    // group round proposed.
    assert.ok(facts.rounds?.external && facts.rounds?.group, "the demo has no external and group rounds");
    const external = globalId("MatchingRound", facts.rounds.external);
    const group = globalId("MatchingRound", facts.rounds.group);
    const pairs = await allPages(who.token, "RoundPairs", "pairings", { roundId: external });
    const advised = pairs.filter((p) => p.mentorParty?.__typename === "Advisor");
    assert.ok(advised.length >= 2, "no pairs with an external advisor");
    const declined = pairs.find((p) => p.declineReason);
    assert.ok(declined, "no declined pair with its reason");

    const { page, problems } = await signedIn(browser.context, who);
    await page.goto(`${DASHBOARD}rounds/${encodeURIComponent(external)}`);
    await page.locator('table[data-table="proposed-pairs"]').waitFor();
    for (const p of advised) {
      const mentor = await page.locator(`tr[data-pairing="${p.id}"] td.pair-mentor`).textContent();
      assert.equal(mentor.trim(), `${p.mentorParty.name} (external advisor)`);
    }
    assert.equal(await page.getByText("(unknown)").count(), 0, "a mentor is shown as unknown");
    const row = page.locator(`tr[data-pairing="${declined.id}"]`);
    assert.equal(await row.getAttribute("data-status"), "declined");
    const reason = await row.locator(".pair-reason").textContent();
    assert.ok(reason.includes(declined.declineReason.text), reason);
    await screenshot(page, "12-external-round-advisors");

    const { node: round } = await graphql(who.token, documentOf("Round"), { id: group });
    assert.equal(round.programmeType, "GROUP");
    assert.ok(round.circles.length > 0, "the group round has no circle");
    await page.goto(`${DASHBOARD}rounds/${encodeURIComponent(group)}`);
    const rows = page.locator('table[data-table="circles"] tbody tr[data-circle]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), round.circles.length);
    for (const [n, c] of round.circles.entries()) {
      const shown = rows.nth(n);
      const name = [c.mentorParty.givenName, c.mentorParty.familyName].filter(Boolean).join(" ");
      assert.equal((await shown.locator("th").textContent()).trim(), name);
      assert.equal((await shown.locator("td").first().textContent()).trim(), String(c.size));
      const mentees = c.mentees.map((m) => [m.givenName, m.familyName].filter(Boolean).join(" ")).join(", ");
      assert.equal((await shown.locator(".circle-mentees").textContent()).trim(), mentees);
      const goals = (c.sharedGoals ?? []).map((g) => `${g.name} (${g.members})`).join(", ") || "—";
      assert.equal((await shown.locator(".circle-goals").textContent()).trim(), goals);
    }
    assert.ok(
      round.circles.some((c) => c.sharedGoals?.length),
      "no circle of the group round shows a shared goal",
    );
    await screenshot(page, "13-group-round-circles");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a suppressed equity group shows as suppressed, never as zero", async () => {
    const given = facts.suppressedGroup ?? facts.suppressed_group;
    let dimension = given?.dimension ?? "business_unit";
    let group = given?.value ?? given?.group ?? null;
    if (!group) {
      for (const d of ["business_unit", "level_band", "tenure_band", "geography"]) {
        const r = await graphql(who.token, documentOf("Equity"), { dimension: d });
        const hidden = r.equityReport.groups.find((g) => g.suppressed);
        if (hidden) {
          dimension = d;
          group = hidden.group;
          break;
        }
      }
    }
    assert.ok(group, "the API reports no suppressed group");

    const { page, problems } = await signedIn(browser.context, who);
    await page.getByRole("navigation").getByRole("link", { name: "Equity" }).click();
    await page.getByLabel("Dimension").selectOption(dimension);
    await page.getByRole("button", { name: "Show" }).click();
    const row = page.locator(`table[data-table="equity"] tbody tr[data-group="${group}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-suppressed"), "true");
    const text = (await row.locator("td").allTextContents()).join(" ");
    assert.match(text, /suppressed/);
    assert.doesNotMatch(text, /\d/, "a suppressed group shows a number");
    await chartsDrawn(page);
    assert.match(await page.locator('figure[data-chart="equity-rates"] .chart-summary').textContent(), new RegExp(`Suppressed: .*${group}`));
    await screenshot(page, "07-equity");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("the cohort scorecard shows its three perspectives as of a chosen date", async () => {
    const cohorts = (await graphql(who.token, documentOf("Cohorts"))).cohorts.edges.map((e) => e.node);
    assert.ok(cohorts.length > 0, "no cohorts");
    const cohort = cohorts[0];
    const asOf = new Date().toISOString().slice(0, 10);
    const api = (await graphql(who.token, documentOf("CohortScorecard"), { cohortId: cohort.id, asOf })).cohortScorecard;

    const { page, problems } = await signedIn(browser.context, who);
    await page.getByRole("navigation").getByRole("link", { name: "Scorecard" }).click();
    await page.getByLabel("Cohort").selectOption(cohort.id);
    await page.getByLabel(/^As of/).fill(asOf);
    await page.getByRole("button", { name: "Show" }).click();
    await page.locator(`[data-as-of="${api.asOf}"]`).waitFor();
    for (const key of ["skill-growth", "behavioural-change", "business-impact"]) {
      await page.locator(`figure[data-chart="${key}"]`).waitFor();
    }
    await chartsDrawn(page);
    const skills = await chartValues(page, "skill-growth");
    assert.equal(skills["Goals set"], api.skillGrowth.goals);
    assert.equal(skills["Goals at target"], api.skillGrowth.goalsReached);
    const behaviour = await chartValues(page, "behavioural-change");
    assert.equal(behaviour["Achieved"], api.behaviouralChange.milestones.achieved);
    const impact = await chartValues(page, "business-impact");
    assert.equal(impact["People"], api.businessImpact.participants.people);
    await screenshot(page, "08-cohort-scorecard");

    // The demo's past: the leadership cohort as of 60 days ago has mentees and
    // figures (its relationships started months before, whenever recorded).
    const leadership = facts.cohorts?.leadership ? globalId("Cohort", facts.cohorts.leadership) : cohort.id;
    const past = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
    const then = (await graphql(who.token, documentOf("CohortScorecard"), { cohortId: leadership, asOf: past }))
      .cohortScorecard;
    assert.ok(then.menteeCount > 0, `no mentees as of ${past}`);
    await page.getByLabel("Cohort").selectOption(leadership);
    await page.getByLabel(/^As of/).fill(past);
    await page.getByRole("button", { name: "Show" }).click();
    await page.locator(`[data-as-of="${then.asOf}"]`).waitFor();
    await chartsDrawn(page);
    const pastBehaviour = await chartValues(page, "behavioural-change");
    assert.equal(pastBehaviour["Achieved"], then.behaviouralChange.milestones.achieved);
    await screenshot(page, "08b-cohort-scorecard-past");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("mentor impact per quarter exports the figures on screen as CSV", async () => {
    const quarter = facts.quarter ?? `${new Date().getUTCFullYear()}Q${Math.floor(new Date().getUTCMonth() / 3) + 1}`;
    const { page, problems } = await signedIn(browser.context, who);
    await page.goto(`${DASHBOARD}impact?quarter=${quarter}`);
    const rows = page.locator('table[data-table="mentor-impact"] tbody tr');
    await page.locator('table[data-table="mentor-impact"]').waitFor();
    const shown = await rows.count();
    assert.ok(shown > 0, "no mentors listed");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: `Export ${quarter} as CSV` }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `mentor-impact-${quarter}.csv`);
    const csv = (await readFile(await download.path(), "utf8")).trim().split("\r\n");
    assert.equal(csv[0], "quarter,mentor_id,mentor,mentees,sessions_held,sessions_expected,milestones_achieved,mean_rating,ratings,recognitions");
    assert.equal(csv.length - 1, shown);
    const first = csv[1].split(",");
    const api = (await graphql(who.token, documentOf("MentorImpact"), { mentorId: first[1], quarter })).mentorImpact;
    assert.equal(Number(first[4]), api.sessionsHeld);
    assert.equal(Number(first[5]), api.sessionsExpected);
    await screenshot(page, "09-mentor-impact");

    // The last quarter, with the sessions held in it (dated when they were held).
    const now = new Date();
    const q = Math.floor(now.getUTCMonth() / 3);
    const previous = q === 0 ? `${now.getUTCFullYear() - 1}Q4` : `${now.getUTCFullYear()}Q${q}`;
    await page.goto(`${DASHBOARD}impact?quarter=${previous}`);
    await page.locator('table[data-table="mentor-impact"]').waitFor();
    const held = await page
      .locator('table[data-table="mentor-impact"] tbody tr')
      .evaluateAll((rows) => rows.map((r) => Number(r.children[2]?.querySelector("[data-value]")?.getAttribute("data-value") ?? 0)));
    assert.ok(held.some((n) => n > 0), `no session held in ${previous}`);
    await screenshot(page, "09b-mentor-impact-last-quarter");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("pin a pair and re-run, forbid a pair, then a new round followed live", async () => {
    const planted = facts.rounds?.reverse;
    const proposals = await allPages(who.token, "OpenProposals", "pairings");
    const roundId = planted ? globalId("MatchingRound", planted) : proposals.find((p) => p.round)?.round.id;
    assert.ok(roundId, "no round with proposed pairs");
    const { page, problems } = await signedIn(browser.context, who);
    await page.goto(`${DASHBOARD}rounds/${encodeURIComponent(roundId)}`);
    const cells = async (row) => ({
      mentee: (await row.locator(":scope > th").textContent()).trim(),
      mentor: (await row.locator(":scope > td").first().textContent()).trim(),
    });

    // Pin: the re-run (a new round) keeps the pinned pair.
    const first = page.locator('tr[data-pairing][data-status="proposed"]').first();
    await first.waitFor();
    const pinned = await cells(first);
    await first.getByRole("button", { name: /^Pin / }).click();
    await page.getByRole("button", { name: /^Re-run the round keeping 1 pin/ }).click();
    await page.waitForURL((url) => !url.pathname.endsWith(encodeURIComponent(roundId)));
    await page.locator('.progress[data-status="completed"]').waitFor({ timeout: 60_000 });
    await page.getByText(`${pinned.mentee} → ${pinned.mentor}`).waitFor();
    await screenshot(page, "10-round-rerun-with-pin");

    // Forbid: the pair's proposal is withdrawn.
    const row = page.locator('tr[data-pairing][data-status="proposed"]').last();
    await row.waitFor();
    const pairingId = await row.getAttribute("data-pairing");
    const forbidden = await cells(row);
    await row.getByRole("button", { name: /^Forbid / }).click();
    await row.getByLabel("Reason").fill("Same reporting line");
    await row.getByRole("button", { name: "Forbid this pair" }).click();
    await page.locator(`tr[data-pairing="${pairingId}"][data-status="withdrawn"]`).waitFor();

    // A new round for the cohort, followed through the roundProgress subscription:
    // the mentee whose pair was forbidden is never proposed that mentor again.
    await page.getByRole("link", { name: "Matching rounds" }).first().click();
    if (facts.cohorts?.reverse) {
      await page.getByLabel("Cohort").selectOption(globalId("Cohort", facts.cohorts.reverse));
    }
    await page.getByRole("button", { name: "Start a round" }).click();
    await page.getByRole("heading", { level: 1, name: /^Matching round:/ }).waitFor();
    await page.locator('.progress[data-status="completed"]').waitFor({ timeout: 60_000 });
    const again = page
      .locator("tr[data-pairing]")
      .filter({ has: page.getByRole("rowheader", { name: forbidden.mentee, exact: true }) });
    for (const r of await again.all()) {
      assert.notEqual((await cells(r)).mentor, forbidden.mentor, "a forbidden pair was proposed");
    }
    await screenshot(page, "11-round-completed");
    assert.deepEqual(problems, []);
    await page.close();
  });
  test("a mentee and a mentor signing in see their own page", async () => {
    for (const [role, shot] of [
      ["mentee", "14-my-mentoring-mentee"],
      ["mentor", "15-my-mentoring-mentor"],
    ]) {
      const person = await participant(role);
      assert.ok(person, `the demo has no ${role} user`);
      const { page, problems } = await signedIn(browser.context, person, "My mentoring");
      const me = (await graphql(person.token, documentOf("Me"))).me;
      const rels = (await graphql(person.token, documentOf("MyRelationships"), { personId: me.id })).relationships.edges.map(
        (e) => e.node,
      );
      assert.ok(rels.length > 0, `the demo ${role} has no relationship`);
      // The team's pages are not offered, and the overview sends them home.
      const nav = await page.getByRole("navigation").locator("a").allTextContents();
      assert.deepEqual(nav, ["My mentoring", "Notifications"]);
      for (const rel of rels) {
        const section = page.locator(`section[data-relationship="${rel.id}"]`);
        await section.waitFor();
        assert.equal(await section.locator("[data-starts-on]").getAttribute("data-starts-on"), rel.startsOn);
        assert.equal(await section.locator("tr[data-milestone]").count(), rel.milestones.edges.length);
        const next = rel.upcoming.edges.filter((e) => e.node.state === "SCHEDULED");
        assert.equal(await section.locator("li[data-session]").count(), next.length);
        assert.notEqual(await section.locator("[data-health]").getAttribute("data-health"), "");
      }
      const drawn = await chartsDrawn(page);
      assert.ok(drawn >= 1, "no scorecard drawn");
      if (role === "mentee") {
        const card = (await graphql(person.token, documentOf("MyMenteeScorecard"), { menteeId: me.id })).menteeScorecard;
        const shown = await chartValues(page, "my-scorecard");
        assert.equal(shown["Achieved"], card.behaviouralChange.milestones.achieved);
        assert.equal(shown["Milestones due"], card.behaviouralChange.milestones.due);
        assert.equal(shown["Goals at target"], card.skillGrowth.goalsReached);
      }
      await page.getByRole("button", { name: "Get my calendar feed address" }).click();
      const feed = page.locator('a[data-feed="link"]');
      await feed.waitFor();
      assert.match(await feed.getAttribute("href"), /\/calendar\/.+\.ics\?token=/);
      const ics = await fetch(await feed.getAttribute("href"));
      assert.equal(ics.status, 200);
      assert.match(await ics.text(), /BEGIN:VCALENDAR/);
      await screenshot(page, shot);

      await page.goto(DASHBOARD);
      await page.getByRole("heading", { level: 1, name: "My mentoring" }).waitFor();
      assert.ok(!page.url().endsWith("/overview"));
      assert.deepEqual(problems, []);
      await page.close();
    }
  });
  test("a person's notification inbox and an admin's webhook deliveries", async () => {
    // The demo mentee: some notifications read, the newest unread (the seeding).
    const person = await participant("mentee");
    assert.ok(person, "the demo has no mentee user");
    const { page, problems } = await signedIn(browser.context, person, "My mentoring");
    await page.getByRole("navigation").getByRole("link", { name: "Notifications" }).click();
    await page.getByRole("heading", { level: 1, name: "Notifications" }).waitFor();
    const inbox = async () =>
      (await graphql(person.token, documentOf("MyNotifications"), { first: 20, after: null, unreadOnly: false })).myNotifications;
    const mine = await inbox();
    const items = mine.edges.map((e) => e.node);
    assert.ok(items.some((n) => n.read) && items.some((n) => !n.read), "the demo inbox has no read and unread mix");
    const unread = page.locator("[data-unread]");
    await unread.waitFor();
    assert.equal(Number(await unread.getAttribute("data-unread")), mine.unreadCount);
    const rows = page.locator("tr[data-notification]");
    assert.equal(await rows.count(), items.length);
    for (const [i, n] of items.entries()) {
      assert.equal(await rows.nth(i).getAttribute("data-notification"), n.id);
      assert.equal(await rows.nth(i).getAttribute("data-read"), String(n.read));
    }
    await screenshot(page, "16-notifications-inbox");

    // Mark one read: the row and the count follow the API.
    const first = page.locator('tr[data-notification][data-read="false"]').first();
    const id = await first.getAttribute("data-notification");
    await first.getByRole("button", { name: "Mark read" }).click();
    await page.locator(`tr[data-notification="${id}"][data-read="true"]`).waitFor();
    const after = await inbox();
    assert.equal(after.unreadCount, mine.unreadCount - 1);
    assert.equal(Number(await unread.getAttribute("data-unread")), after.unreadCount);

    // Preferences: a language and quiet hours, saved and read back from the API.
    await page.getByLabel("Language").selectOption("FR");
    await page.getByLabel(/^Quiet hours/).check();
    await page.getByLabel("From").fill("21:30");
    await page.getByLabel("Until").fill("07:15");
    await page.getByLabel(/^A daily digest/).check();
    await page.getByRole("button", { name: "Save preferences" }).click();
    await page.locator('[data-saved="FR"]').waitFor();
    const prefs = (await graphql(person.token, documentOf("MyNotificationPreferences"))).myNotificationPreferences;
    assert.equal(prefs.locale, "FR");
    assert.equal(prefs.dailyDigest, true);
    assert.deepEqual([prefs.quietHours.start.slice(0, 5), prefs.quietHours.end.slice(0, 5)], ["21:30", "07:15"]);
    assert.deepEqual(problems, []);
    await page.close();

    // An admin (the demo sponsor): the demo integrator's endpoint and its deliveries.
    const users = await demoUsers();
    const admin = users?.find((u) => u.roles.includes("admin"));
    assert.ok(admin, "the demo has no admin user");
    const signed = await signedIn(browser.context, { name: admin.name, token: admin.token, demo: true });
    const hooks = signed.page;
    await hooks.getByRole("navigation").getByRole("link", { name: "Webhooks" }).click();
    await hooks.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
    const [endpoint] = (await graphql(admin.token, documentOf("WebhookEndpoints"))).webhookEndpoints;
    assert.ok(endpoint, "the demo has no webhook endpoint");
    if (facts.webhook_endpoint_id) assert.equal(endpoint.id, globalId("WebhookEndpoint", facts.webhook_endpoint_id));
    const log = (await graphql(admin.token, documentOf("WebhookDeliveries"), { endpoint: endpoint.id, first: 50 }))
      .webhookDeliveries;
    assert.ok(log.some((d) => d.status === "SENT"), "no delivery went out");
    assert.ok(log.some((d) => d.log.length > 1 && d.log[0].statusCode === 503), "no delivery was retried");
    const section = hooks.locator(`section[data-endpoint="${endpoint.id}"]`);
    await section.waitFor();
    await chartsDrawn(hooks);
    const shown = await chartValues(hooks, "webhook-deliveries-1");
    assert.equal(shown["Delivered"], log.filter((d) => d.status === "SENT").length);
    assert.equal(shown["Pending"], log.filter((d) => d.status === "PENDING").length);
    assert.equal(shown["Dead"], log.filter((d) => d.status === "DEAD").length);
    assert.equal(shown["Retried"], log.filter((d) => d.log.length > 1).length);
    assert.equal(await section.locator("tr[data-delivery]").count(), log.length);
    const retried = log.find((d) => d.log.length > 1);
    const row = section.locator(`tr[data-delivery="${retried.id}"]`);
    assert.equal(await row.locator("li[data-status-code]").count(), retried.log.length);
    await screenshot(hooks, "17-webhook-deliveries");

    // Replay the retried message: it goes out again, one more attempt in its log.
    await row.getByRole("button", { name: "Replay" }).click();
    await hooks.getByText(/queued again/).waitFor();
    const again = section.locator(`tr[data-delivery="${retried.id}"]`);
    for (let n = 0; n < 30; n++) {
      if ((await again.getAttribute("data-status")) === "sent" && (await again.locator("li[data-status-code]").count()) > retried.log.length) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
      await section.getByRole("button", { name: "Refresh" }).click();
    }
    assert.equal(await again.getAttribute("data-status"), "sent");
    assert.equal(await again.locator("li[data-status-code]").count(), retried.log.length + 1);
    assert.deepEqual(signed.problems, []);
    await hooks.close();
  });
});
