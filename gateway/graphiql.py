"""GraphiQL page with Tandem's example queries (development only).

Strawberry's GraphiQL page, opened with one tab per example (``EXAMPLES``). Where
the platform serves ``/dev/tokens`` (the embedded demo), the page asks it once for
the demo users' tokens and the demo's ids, so every tab runs as it opens (signed in
as the coordinator, or as the demo user the example names); elsewhere the tabs open
with a note on where to put a token and the ids.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    title: str
    query: str
    variables: tuple[str, ...] = ()  # what the query needs (names as in /dev/tokens)
    role: str = "coordinator"  # whose token the tab opens with (a demo user's role)


EXAMPLES: tuple[Example, ...] = (
    Example(
        "Programme overview",
        """# Tandem's GraphQL API. Run with the play button (Ctrl-Enter).
# Each tab is an example; the token goes in Headers:
#   {"Authorization": "Bearer <token>"}   (./tandem up prints the demo's tokens)
query ProgrammeOverview {
  cohorts(first: 10) {
    edges { node { id name programmeType capacity seatsTaken } }
  }
  programmeScorecard {
    menteeCount
    skillGrowth { meanChange goals goalsReached reassessed }
    behaviouralChange {
      milestones { set achieved completionRate onTimeRate }
      feedback { count mean trend }
    }
    businessImpact {
      participants { people promoted promotionRate retentionRate }
      comparison { people promotionRate }
      lift { promotionRate }
      comparisonNote
    }
  }
  programmeOperations { participation { eligible participants rate } }
  advisors(first: 10, status: APPROVED) {
    edges { node { name organisation status checks { name status } } }
  }
}
""",
    ),
    Example(
        "At-risk relationships",
        """# Relationships that need attention, with the reasons insights found
# (e.g. no_session_for_120_days, idle_for_120_days), most urgent first.
query AtRiskRelationships {
  earlyWarnings(first: 10) {
    edges {
      node {
        relationship { id }
        state
        reasons
        idle
        daysSinceSession
        mentee { givenName familyName businessUnit }
        mentor { givenName familyName }
      }
    }
  }
  atRisk: relationshipHealths(state: AT_RISK, first: 10) {
    edges { node { relationship { id } reasons } }
  }
}
""",
    ),
    Example(
        "Cohort scorecard",
        """# A cohort's balanced scorecard: skills, behaviour, business impact.
# $cohortId: a Cohort id (see the Programme overview tab).
query CohortScorecard($cohortId: ID!) {
  cohort(id: $cohortId) { name programmeType seatsTaken }
  cohortScorecard(cohortId: $cohortId) {
    menteeCount
    withdrawn
    skillGrowth { meanChange goals goalsReached }
    behaviouralChange {
      milestones { due achieved onTime completionRate }
      feedback { count mean trend }
      reflections
    }
    businessImpact {
      participants { people promoted promotionRate }
      lift { promotionRate }
      comparisonNote
    }
    members(first: 5) {
      edges {
        node {
          mentee { givenName familyName }
          skillGrowth { meanChange }
          behaviouralChange { milestones { achieved } }
        }
      }
    }
  }
}
""",
        ("cohortId",),
    ),
    Example(
        "Last year's cohort",
        """# A past cohort scored as it stood on a past day (asOf), and one mentor's
# impact in each of the last three quarters. In the demo: the cohort imported as a
# programme history (docs/history-import.md), as of its last day.
query LastYearsCohort(
  $pastCohortId: ID!, $pastEndsOn: Date, $mentorId: ID!,
  $quarter1: String!, $quarter2: String!, $quarter3: String!
) {
  cohort(id: $pastCohortId) { name }
  cohortScorecard(cohortId: $pastCohortId, asOf: $pastEndsOn) {
    asOf
    menteeCount
    behaviouralChange {
      milestones { set due achieved onTime missed completionRate }
      feedback { count mean }
    }
    businessImpact { participants { people promoted promotionRate } }
  }
  q1: mentorImpact(mentorId: $mentorId, quarter: $quarter1) {
    quarter sessionsHeld sessionsExpected milestonesAchieved meanRating
  }
  q2: mentorImpact(mentorId: $mentorId, quarter: $quarter2) {
    quarter sessionsHeld sessionsExpected milestonesAchieved meanRating
  }
  q3: mentorImpact(mentorId: $mentorId, quarter: $quarter3) {
    quarter sessionsHeld sessionsExpected milestonesAchieved meanRating
  }
}
""",
        (
            "pastCohortId",
            "pastEndsOn",
            "mentorId",
            "quarter1",
            "quarter2",
            "quarter3",
        ),
    ),
    Example(
        "Proposed pairs",
        """# A matching round's proposals awaiting the coordinator, each explained
# criterion by criterion. $roundId: a MatchingRound id.
query ProposedPairs($roundId: ID!) {
  node(id: $roundId) {
    ... on MatchingRound {
      status
      programmeType
      menteeCount
      mentorCount
      proposedCount
      proposedPairs(first: 10) {
        edges {
          node {
            id
            status
            score
            mentee { givenName familyName title }
            mentor { givenName familyName title }
            explanation { criterion contribution reason }
          }
        }
      }
    }
  }
}
""",
        ("roundId",),
    ),
    Example(
        "My notifications",
        """# The signed-in person's inbox, newest first, with how many are unread, and
# how they chose to be told. Opens as the demo mentee. Mark some read with
#   mutation { markNotificationsRead(input: {notificationIds: ["<id>"]}) {
#     ... on MarkNotificationsReadSuccess { marked } } }
# (omit notificationIds to mark them all).
query MyNotifications {
  myNotifications(first: 10) {
    unreadCount
    edges { node { id kind subjectId facts createdAt read readAt } }
  }
  myNotificationPreferences {
    channels
    quietHours { start end }
    dailyDigest
    locale
    timeZone
    requiredKinds
  }
}
""",
        role="mentee",
    ),
    Example(
        "Webhook deliveries",
        """# The organisation's webhook endpoints (admins and integration clients) and
# one endpoint's delivery log: each signed message, its status and every attempt.
# In the demo: the demo integrator the platform serves itself (one message was
# refused once, then delivered on its retry). Opens as the sponsor (an admin).
# $endpointId: a WebhookEndpoint id.
query WebhookDeliveries($endpointId: ID!) {
  webhookEndpoints { id url description eventTypes enabled failingSince }
  webhookDeliveries(endpoint: $endpointId, first: 20) {
    id
    eventType
    status
    attempts
    createdAt
    sentAt
    lastError
    log { at statusCode error durationMs }
  }
}
""",
        ("endpointId",),
        role="admin",
    ),
    Example(
        "Equity",
        """# Participation, matching and promotion by business unit; groups smaller
# than k are suppressed (their figures are null).
query Equity {
  equityReport(by: BUSINESS_UNIT) {
    k
    groups {
      group
      suppressed
      participants
      matchRate
      promotionRate
      matchRateFlagged
    }
    total { participants matchRate promotionRate }
  }
}
""",
    ),
)

BOOT = """
      const TANDEM_EXAMPLES = %s;
      async function tandemTabs() {
        let demo = null;
        try {
          const answer = await fetch(new URL("/dev/tokens", window.location.origin));
          if (answer.ok) demo = await answer.json();
        } catch (e) {}
        const userFor = (role) => demo && (demo.users.find((u) => u.roles.includes(role))
          || demo.users.find((u) => u.roles.includes("coordinator")) || demo.users[0]);
        return TANDEM_EXAMPLES.map((example) => {
          const tab = { query: example.query };
          const user = userFor(example.role);
          if (user) {
            tab.headers = JSON.stringify(
              { Authorization: "Bearer " + user.token }, null, 2);
          }
          if (example.variables.length) {
            const values = {};
            for (const name of example.variables) {
              values[name] = (demo && demo.variables && demo.variables[name])
                || "<" + name + ">";
            }
            tab.variables = JSON.stringify(values, null, 2);
          }
          return tab;
        });
      }
"""
RENDER = "root.render(React.createElement(GraphiQLWithExplorer));"


def _js(text: str) -> str:
    """``text`` as a JavaScript template literal's contents."""
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")


def ide_html(default: str) -> str:
    """The GraphiQL page to serve; ``default`` is Strawberry's own page.

    Falls back to ``default`` unchanged if Strawberry's page no longer has the
    places the examples are put in (a test guards against that)."""
    example_query = re.search(r"const EXAMPLE_QUERY = `.*?`;", default, re.S)
    anchors = ("fetcher: fetcher,", RENDER, "function GraphiQLWithExplorer()")
    if example_query is None or not all(a in default for a in anchors):
        return default
    page = (
        default[: example_query.start()]
        + f"const EXAMPLE_QUERY = `{_js(EXAMPLES[0].query)}`;"
        + default[example_query.end() :]
    )
    examples = [
        {
            "title": e.title,
            "query": e.query,
            "variables": list(e.variables),
            "role": e.role,
        }
        for e in EXAMPLES
    ]
    # "</" must not close the script element early.
    boot = BOOT % json.dumps(examples).replace("</", "<\\/")
    page = page.replace(
        "function GraphiQLWithExplorer()",
        boot + "\n      function GraphiQLWithExplorer({ tabs })",
        1,
    )
    page = page.replace(
        "fetcher: fetcher,", "fetcher: fetcher,\n          defaultTabs: tabs,", 1
    )
    page = page.replace(
        RENDER,
        "tandemTabs().then((tabs) => root.render("
        "React.createElement(GraphiQLWithExplorer, { tabs })));",
        1,
    )
    return page.replace(
        "<title>Strawberry GraphiQL</title>", "<title>Tandem GraphiQL</title>", 1
    )
