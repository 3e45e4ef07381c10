"""Bundled files are found in a checkout and, failing that, inside an installed package."""

from ivig_kit import resources


def test_checkout_files_are_found_first():
    assert resources.data_path("published_facts.csv") == resources.PACKAGE_DIR.parent / "data" / "published_facts.csv"
    assert resources.notebook_path("site_report.ipynb").exists()


def test_installed_copy_is_used_without_a_checkout(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "ivig_kit"
    (package / "data").mkdir(parents=True)
    (package / "data" / "published_facts.csv").write_text("trial,key\n")
    monkeypatch.setattr(resources, "PACKAGE_DIR", package)
    assert resources.data_path("published_facts.csv") == package / "data" / "published_facts.csv"


def test_a_missing_file_names_the_checkout_path(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "PACKAGE_DIR", tmp_path / "ivig_kit")
    assert resources.data_path("nothing.csv") == tmp_path / "data" / "nothing.csv"


def test_the_wheel_lists_every_package_of_the_tree():
    """pyproject's ``[tool.setuptools] packages`` is written out by hand: a subpackage missing from it would be
    left out of the wheel, and the installed kit would fail on import. The list must be the tree."""
    import tomllib

    root = resources.PACKAGE_DIR.parent
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    in_tree = {".".join(init.parent.relative_to(root).parts) for init in resources.PACKAGE_DIR.rglob("__init__.py")}
    bundled = set(setuptools["package-dir"])
    assert bundled == {"ivig_kit.data", "ivig_kit.notebooks"}
    assert all((root / folder).is_dir() for folder in setuptools["package-dir"].values())
    assert sorted(setuptools["packages"]) == sorted(in_tree | bundled)
    assert len(setuptools["packages"]) == len(set(setuptools["packages"]))
