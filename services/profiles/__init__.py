"""The profiles service: the source of truth for everyone in a programme. It owns people
(their details, programme roles, mentor profiles, intake, consent, demographics, sealed
with each person's key), competencies and cohorts (seats, waiting lists, stages), the
HRIS import and SCIM provisioning that keep people in step with the organisation, and
erasure: it is where ``PersonErased`` comes from."""
