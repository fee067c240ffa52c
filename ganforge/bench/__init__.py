"""Reproducible benchmark suites: ``ganforge bench SUITE.yaml`` trains every (recipe, seed),
evaluates it, and gathers ``results.json``, ``report.html`` and ``summary.md``."""

from ganforge.bench.suite import LoadedSuite, Suite, load_suite

__all__ = ["LoadedSuite", "Suite", "load_suite"]
