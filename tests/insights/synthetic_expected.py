"""What the synthetic organisation's scorecards must say, worked out by hand.

Keys are (scope, id, as_of date); values map a dotted path in the scorecard to its
expected value. See ``synthetic.py`` for the plan each figure follows from.
"""

from __future__ import annotations

from typing import Any

END = "2025-12-31"
MID = "2025-06-30"
LEVEL5_COMPARISON = {
    "people": 6,
    "promoted": 1,
    "role_expanded": 0,
    "departed": 1,
    "promotion_rate": 0.1667,
    "role_expansion_rate": 0.0,
    "retention_rate": 0.8333,
}


def _lift(rates: dict, comparison: dict) -> dict:
    return {
        k: round(rates[k] - comparison[k], 4)
        for k in ("promotion_rate", "role_expansion_rate", "retention_rate")
    }


def expected() -> dict[str, Any]:
    """Every figure below was worked out by hand from the plan above."""
    promoted_rates = {
        "promotion_rate": 1.0,
        "role_expansion_rate": 0.0,
        "retention_rate": 1.0,
    }
    alpha_rates = {
        "promotion_rate": 0.5,
        "role_expansion_rate": 0.0,
        "retention_rate": 1.0,
    }
    programme_rates = {
        "promotion_rate": 0.2,
        "role_expansion_rate": 0.2,
        "retention_rate": 0.8,
    }
    programme_comparison = {
        "people": 8,
        "promoted": 1,
        "role_expanded": 0,
        "departed": 1,
        "promotion_rate": 0.125,
        "role_expansion_rate": 0.0,
        "retention_rate": 0.875,
    }
    return {
        ("mentee", "mentee-promoted", END): {
            "skill_growth.mean_change": 1.0,
            "skill_growth.goals_reached": 1,
            "skill_growth.reassessed": True,
            "skill_growth.goals": [
                {
                    "competency_id": "influence",
                    "baseline": 3,
                    "latest": 3,
                    "target": 4,
                    "change": 0,
                    "reached": False,
                },
                {
                    "competency_id": "strategy",
                    "baseline": 2,
                    "latest": 4,
                    "target": 4,
                    "change": 2,
                    "reached": True,
                },
            ],
            "behaviour.milestones": {
                "set": 3,
                "due": 3,
                "achieved": 2,
                "on_time": 1,
                "missed": 1,
                "completion_rate": 0.6667,
                "on_time_rate": 0.5,
            },
            "behaviour.feedback": {"count": 3, "mean": 4.0, "trend": 1.0},
            "behaviour.reflections": 2,
            "behaviour.rotations": 1,
            "behaviour.debriefs": 1,
            "impact.promoted": 1,
            **{f"impact.{k}": v for k, v in promoted_rates.items()},
            "impact.comparison": LEVEL5_COMPARISON,
            "impact.lift": _lift(promoted_rates, LEVEL5_COMPARISON),
        },
        ("mentee", "mentee-promoted", MID): {
            "skill_growth.mean_change": 0.0,
            "skill_growth.reassessed": False,
            "behaviour.milestones": {
                "set": 3,
                "due": 2,
                "achieved": 2,
                "on_time": 1,
                "missed": 0,
                "completion_rate": 1.0,
                "on_time_rate": 0.5,
            },
            "impact.promoted": 0,
            "impact.comparison.promotion_rate": 0.0,
            "impact.comparison.retention_rate": 1.0,
        },
        ("relationship", "rel-stalled", END): {
            "mentee_id": "mentee-stalled",
            "skill_growth.mean_change": 0.0,
            "skill_growth.goals_reached": 0,
            "behaviour.milestones": {
                "set": 2,
                "due": 2,
                "achieved": 0,
                "on_time": 0,
                "missed": 2,
                "completion_rate": 0.0,
                "on_time_rate": None,
            },
            "behaviour.feedback": {"count": 3, "mean": 3.0, "trend": -1.0},
            "behaviour.reflections": 0,
            "behaviour.debriefs": 0,
            "impact.promoted": 0,
            "impact.retention_rate": 1.0,
            "impact.comparison": LEVEL5_COMPARISON,
        },
        ("cohort", "cohort-alpha", END): {
            "mentees": 2,
            "skill_growth": {
                "mean_change": 0.5,
                "goals": 3,
                "goals_reached": 1,
                "reassessed": 2,
            },
            "behaviour.milestones": {
                "set": 5,
                "due": 5,
                "achieved": 2,
                "on_time": 1,
                "missed": 3,
                "completion_rate": 0.4,
                "on_time_rate": 0.5,
            },
            "behaviour.feedback": {"count": 6, "mean": 3.5, "trend": 0.0},
            **{f"impact.{k}": v for k, v in alpha_rates.items()},
            "impact.comparison": LEVEL5_COMPARISON,
            "impact.lift": _lift(alpha_rates, LEVEL5_COMPARISON),
        },
        ("cohort", "cohort-circle", END): {
            "mentees": 3,
            "skill_growth": {
                "mean_change": 1.0,
                "goals": 3,
                "goals_reached": 2,
                "reassessed": 3,
            },
            "behaviour.milestones": {
                "set": 3,
                "due": 3,
                "achieved": 2,
                "on_time": 1,
                "missed": 1,
                "completion_rate": 0.6667,
                "on_time_rate": 0.5,
            },
            "behaviour.feedback": {"count": 2, "mean": 4.5, "trend": 1.0},
            "impact.people": 3,
            "impact.promotion_rate": 0.0,
            "impact.role_expansion_rate": 0.3333,
            "impact.retention_rate": 0.6667,
            "impact.comparison": None,
            "impact.lift": None,
        },
        ("programme", None, END): {
            "mentees": 5,
            "cohorts": 2,
            "skill_growth": {
                "mean_change": 0.8,
                "goals": 6,
                "goals_reached": 3,
                "reassessed": 5,
            },
            "behaviour.milestones": {
                "set": 8,
                "due": 8,
                "achieved": 4,
                "on_time": 2,
                "missed": 4,
                "completion_rate": 0.5,
                "on_time_rate": 0.5,
            },
            "behaviour.feedback": {"count": 8, "mean": 3.75, "trend": 0.3333},
            "behaviour.reflections": 2,
            **{f"impact.{k}": v for k, v in programme_rates.items()},
            "impact.comparison": programme_comparison,
            "impact.lift": _lift(programme_rates, programme_comparison),
        },
    }
