"""Configuration files (``--params`` and ``--mapping``) are read with a bounded cost and declared types only."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ivig_kit.cli import main
from ivig_kit.config_files import YamlBudget, load_yaml, loads_yaml
from ivig_kit.errors import ConfigFileError, InputError, ReportSetupError, VisitTableError
from ivig_kit.reports.runner.params_file import read_site_parameters
from ivig_kit.score.mapping import ColumnMapping
from ivig_kit.score.readers import ReadOptions
from ivig_kit.score.visits import read_visits

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "example_visits.csv"
REDCAP = REPO / "data" / "example_redcap_export.csv"
DECLARED = {
    "site": "AMS",
    "data_path": "",
    "population": "adult",
    "min_cell_size": 5,
    "summary_path": "",
    "fail": False,
    "sleep_s": 0,
    "big": 0,
    "ratio": 0.5,
    "label": "x",
}
SITES = ["North", "South"]
# 345 bytes that expand to 9**7 strings (about 4.8 million) when aliases are followed
BOMB = (
    "\n".join(
        ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [f"{b}: &{b} [{', '.join(['*' + a] * 9)}]" for a, b in zip("abcdef", "bcdefg")]
    )
    + "\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_yaml_bomb_is_refused_in_under_a_second_with_a_short_message(tmp_path, capsys):
    assert len(BOMB) < 400
    params = write(tmp_path / "p.yaml", "'*': {label: x}\n" + BOMB)
    mapping = write(tmp_path / "m.yaml", "columns:\n  record_id: patient_id\n" + BOMB)
    started = time.perf_counter()
    code = main(["reports", str(EXAMPLE), "--out", str(tmp_path / "out"), "--params", str(params), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "anchors and aliases" in err and len(err.encode()) < 1024 and "Traceback" not in err
    code = main(["tis", str(REDCAP), "--mapping", str(mapping)])
    err = capsys.readouterr().err
    assert code == 2 and "m.yaml: line 3, column 4: YAML anchors and aliases" in err and len(err.encode()) < 1024
    assert time.perf_counter() - started < 1.0
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: 1\nb: [1, *x]\n", "line 2, column 8: YAML anchors and aliases"),  # even an undefined alias
        ("a: &x 1\nb: 2\n", "line 1, column 4: YAML anchors and aliases"),
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1: the key 'a' appears twice (first on line 1)"),
        ("[" * 30 + "]" * 30, "nested more than 20 levels deep"),
        ("a: " + "x" * 20_000, "a value of 20,000 characters"),
        ("? [1, 2]\n: 3\n", "a key that is a list or a mapping"),
        ("a: !!python/object/apply:os.system [ls]\n", "not readable YAML"),
    ],
)
def test_the_loader_refuses_with_one_located_line(text, expected):
    with pytest.raises(ConfigFileError) as caught:
        loads_yaml(text, "c.yaml")
    message = str(caught.value)
    assert message.startswith("c.yaml: ") and expected in message and "\n" not in message and len(message) < 1024


def test_the_node_and_size_budgets_hold(tmp_path):
    with pytest.raises(ConfigFileError, match="more than 100 values"):
        loads_yaml("[" + ", ".join(["1"] * 200) + "]", "c.yaml", YamlBudget(max_nodes=100))
    big = write(tmp_path / "big.yaml", "a: 1\n" * 300_000)
    with pytest.raises(ConfigFileError, match="larger than 1,048,576 bytes"):
        load_yaml(big, "parameters file")


@pytest.mark.parametrize("device", ["/dev/zero", "fifo", "folder"])
def test_a_path_that_is_not_a_regular_file_is_named_as_such(tmp_path, device):
    if device == "fifo":
        os.mkfifo(tmp_path / "p.yaml")
        device = tmp_path / "p.yaml"
    elif device == "folder":
        (tmp_path / "p.yaml").mkdir()
        device = tmp_path / "p.yaml"
    with pytest.raises(InputError, match=r"is (not a regular file|a folder)"):
        read_site_parameters(device, DECLARED, SITES)
    with pytest.raises(InputError, match=r"is (not a regular file|a folder)"):
        ColumnMapping.from_yaml(device)


def params(tmp_path, text: str, suffix: str = ".yaml"):
    return read_site_parameters(write(tmp_path / f"p{suffix}", text), DECLARED, SITES, "report.ipynb")


def test_a_whole_number_stays_exact_from_yaml_and_csv(tmp_path):
    huge = 99999999999999999999999999999
    assert params(tmp_path, f"North: {{big: {huge}}}\n") == {"North": {"big": huge}}
    assert params(tmp_path, f"site,big\nNorth,{huge}\n", ".csv") == {"North": {"big": huge}}
    assert params(tmp_path, "site,big\nNorth,7.0\n", ".csv") == {"North": {"big": 7}}


@pytest.mark.parametrize(
    "value, expected",
    [
        (".nan", "'ratio': expected a finite number"),
        (".inf", "'ratio': expected a finite number"),
        ("[1, 2]", "'ratio': expected a single value, got a list"),
        ("{a: 1}", "'ratio': expected a single value"),
        ("nan", "'ratio': expected a finite number"),
        ("1e999", "'ratio': expected a finite number"),
    ],
)
def test_numbers_must_be_finite_single_values(tmp_path, value, expected):
    with pytest.raises(ReportSetupError) as caught:
        params(tmp_path, f"North: {{ratio: {value}}}\n")
    assert "p.yaml: entry 'North', key 'ratio'" in str(caught.value) and expected in str(caught.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("North: {big: 1.5}\n", "expected a whole number, got 1.5"),
        ("North: {big: [1]}\n", "expected a single value, got a list"),
        ("North: {big: .nan}\n", "expected a whole number"),
        ("North: {fail: 2}\n", "expected true or false"),
        ("North: {label: " + "x" * 2000 + "}\n", "a value of 2,000 characters; at most 1,000"),
        ("North: {big: 1}\nNorth: {big: 2}\n", "the key 'North' appears twice"),
        ("007: {big: 1}\n", "a site name must be quoted text"),
        ("[1, 2]\n", "item 1: expected a mapping with a 'site' key"),
    ],
)
def test_declared_types_only(tmp_path, text, expected):
    with pytest.raises(InputError) as caught:
        params(tmp_path, text)
    assert expected in str(caught.value) and len(str(caught.value)) < 1024


def test_a_csv_params_file_with_a_nul_byte_is_located(tmp_path):
    with pytest.raises(ReportSetupError, match="line 3: a NUL byte"):
        params(tmp_path, "site,big\nNorth,1\nSouth,\x002\n", ".csv")


def test_params_sites_are_nfkc_normalised_like_the_visit_table(tmp_path):
    values = read_site_parameters(write(tmp_path / "p.yaml", "'Site１': {big: 3}\n"), DECLARED, ["Site1"])
    assert values == {"Site1": {"big": 3}}


@pytest.mark.parametrize(
    "document, expected",
    [
        (
            {"columns": ["record_id", "patient_id"]},
            "m.yaml: key 'columns': expected a mapping (source column: kit column",
        ),
        ({"constants": [1]}, "m.yaml: key 'constants': expected a mapping (kit column: value"),
        ({"columns": {"a": {"column": "haq", "units": "mm"}}}, "m.yaml: column 'a': unknown key(s) 'units'"),
        ({"columns": {"a": ["haq"]}}, "m.yaml: column 'a': maps to ['haq'], which is not a kit column"),
        ({"constants": {"mmt_max": float("inf")}}, "m.yaml: constant 'mmt_max': expected a finite number, got inf"),
        ({"constants": {"mmt_max": float("nan")}}, "m.yaml: constant 'mmt_max': expected a finite number"),
    ],
)
def test_a_mappings_structure_is_checked_with_located_messages(document, expected):
    with pytest.raises(VisitTableError) as caught:
        ColumnMapping.from_dict(document, source="m.yaml")
    assert str(caught.value).startswith(expected)


def test_a_bad_mapping_constant_is_blamed_on_the_mapping_not_the_data(tmp_path, capsys):
    mapping = write(tmp_path / "m.yaml", "constants:\n  mmt_max: 0\n")
    data = tmp_path / "v.csv"
    data.write_text(EXAMPLE.read_text(encoding="utf-8").replace(",mmt_max", ",scale_max"), encoding="utf-8")
    with pytest.raises(VisitTableError) as caught:
        read_visits(data, ReadOptions(mapping=ColumnMapping.from_yaml(mapping)))
    assert str(
        caught.value
    ) == "m.yaml: constant 'mmt_max': expected the MMT scale maximum (e.g. 80, 150, 260), in 1-10000, got 0" or str(
        caught.value
    ).startswith("m.yaml: constant 'mmt_max'")
    assert "v.csv" not in str(caught.value)
    write(tmp_path / "m.yaml", "constants:\n  mmt_max: .inf\n")
    assert main(["tis", str(data), "--mapping", str(tmp_path / "m.yaml")]) == 2
    assert "m.yaml: constant 'mmt_max': expected a finite number" in capsys.readouterr().err
