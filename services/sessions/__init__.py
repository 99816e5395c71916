"""The sessions service: the mentoring relationship from contract to debrief."""
