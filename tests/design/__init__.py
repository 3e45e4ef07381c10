"""Tests of ivig_kit.design (a package, so that test modules may share a name across folders)."""
