"""Tests of ivig_kit.inference (a package, so that test modules may share a name across folders)."""
