"""The advisors service owns the programme's external advisors: their proposal, due
diligence (the tenant's checklist, conflicts of interest, restricted organisations),
approval, suspension when a check lapses, and erasure by crypto-shredding; their
agreements, hours and one-off engagements; the advisory councils, their meetings and
recommendations; and the programme's risk register. An advisor's personal data is
sealed with their own key in events and tables alike; matching learns of approved
advisors from its topic, and an advisor linked to an erased person is erased too."""
