"""Tests of ivig_kit.score (a package, so that test modules may share a name across folders)."""
