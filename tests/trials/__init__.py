"""Tests of ivig_kit.trials (a package, so that test modules may share a name across folders)."""
