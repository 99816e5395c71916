"""The profiles domain: people, competencies and cohorts. Imports no framework."""
