"""Column mappings (ivig_kit.score.mapping): source columns to kit columns, units and constants; every problem
named at once."""

import pytest

from ivig_kit.errors import InputError, VisitTableError
from ivig_kit.resources import data_path
from ivig_kit.score.mapping import ColumnMapping


@pytest.mark.parametrize(
    "document, message",
    [
        (
            {"columns": {"md_vas": "physician"}},
            "m.yaml: column 'md_vas': maps to 'physician', which is not a kit column",
        ),
        (
            {"columns": {"haq_di": {"column": "haq", "unit": "mm"}}},
            "m.yaml: column 'haq_di': unit 'mm' is not supported for 'haq'",
        ),
        ({"columns": {"a": "haq", "b": "haq"}}, "m.yaml: 2 source columns map to 'haq'; expected one"),
        (
            {"constants": {"mmt_max": "eighty"}},
            "m.yaml: constant 'mmt_max': expected a kit numeric column with a number",
        ),
        (["site"], "m.yaml: expected a mapping with the keys 'columns'"),
    ],
)
def test_bad_mappings_are_named(document, message):
    with pytest.raises(VisitTableError) as caught:
        ColumnMapping.from_dict(document, source="m.yaml")
    assert str(caught.value).startswith(message)


def test_a_mapping_gives_columns_units_and_constants():
    mapping = ColumnMapping.from_dict(
        {
            "columns": {"record_id": "patient_id", "md_vas_mm": {"column": "physician_global", "unit": "mm"}},
            "constants": {"mmt_max": 80},
        },
        source="m.yaml",
    )
    assert mapping.columns == {"record_id": "patient_id", "md_vas_mm": "physician_global"}
    assert mapping.units == {"physician_global": "mm"}
    assert mapping.constants == {"mmt_max": 80.0} and type(mapping.constants["mmt_max"]) is float
    assert mapping.source == "m.yaml"


def test_every_problem_of_a_mapping_is_named_at_once():
    with pytest.raises(VisitTableError) as caught:
        ColumnMapping.from_dict(
            {"columns": {"a": "nope", "b": "haq", "c": "haq"}, "constants": {"haq": 1, "mmt_max": True}},
            source="m.yaml",
        )
    problems = str(caught.value).splitlines()
    assert len(problems) == 4
    assert any("'nope'" in p for p in problems) and any("2 source columns map to 'haq'" in p for p in problems)
    assert any("constant 'mmt_max'" in p for p in problems)  # a boolean is not a number
    assert any("'haq' is both mapped from a column and given as a constant" in p for p in problems)


def test_the_example_mapping_file_reads(tmp_path):
    mapping = ColumnMapping.from_yaml(data_path("example_mapping.yaml"))
    assert mapping.columns["record_id"] == "patient_id" and mapping.units["physician_global"] == "mm"
    assert mapping.source == "example_mapping.yaml"


def test_an_unreadable_mapping_file_is_named_without_a_traceback(tmp_path):
    with pytest.raises(InputError, match=r"absent.yaml: mapping file not found"):
        ColumnMapping.from_yaml(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns: [unclosed", encoding="utf-8")
    with pytest.raises(InputError, match=r"^broken.yaml: line 1, column 19: not readable YAML"):
        ColumnMapping.from_yaml(broken)
