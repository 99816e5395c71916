"""The advisors service: external advisors under due diligence, contracts and councils."""
