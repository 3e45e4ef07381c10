"""Tests of ivig_kit.teaching (a package, so that test modules may share a name across folders)."""
