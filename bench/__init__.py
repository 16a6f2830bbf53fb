"""The benchmark: a filled estate with years of history, and the timing of its busiest pages."""
