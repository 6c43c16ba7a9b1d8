"""Instance stage: schema, reading, cross-record checks and derived index sets (no Pyomo)."""
