"""Tools around the kit that are neither scoring nor reports: :mod:`.demo_registry` generates the
bundled synthetic multi-site registry."""
