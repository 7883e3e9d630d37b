"""MQL4 strategy generation from model.json (not built yet: issue 7)."""
