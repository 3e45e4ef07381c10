"""The batch around the report kernels (see :mod:`ivig_kit.reports` for its modules). Never imports pyplot,
and nothing in :mod:`ivig_kit.reports.content` imports it."""
