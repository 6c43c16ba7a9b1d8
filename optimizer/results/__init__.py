"""Extract, verify and write plan tables."""
