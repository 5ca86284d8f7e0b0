"""The paper's statistics, distribution comparisons, claims and the report."""
