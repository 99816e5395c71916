"""The advisors domain: advisors, due diligence, agreements, councils, risks. No framework."""
