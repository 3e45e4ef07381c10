"""A fuzz suite for everything the kit reads: visit tables (CSV, .xlsx, Parquet), adverse-event tables,
``--params`` and ``--mapping`` files, and the batch's ledger. Random and hostile files each end in a correct
result or a located :class:`~ivig_kit.errors.InputError` (the command line's exit 2), never another
exception, within a bounded time (hypothesis's deadline) and memory (the process's peak checked after every
case). The number of cases tried is printed at the end of the module."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import string
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ivig_kit.errors import InputError
from ivig_kit.reports.content.adverse_events import read_adverse_events
from ivig_kit.reports.runner import ledger
from ivig_kit.reports.runner.file_names import is_own_file_name
from ivig_kit.reports.runner.ledger_schema import LEDGER_FORMAT, LEDGER_KIND
from ivig_kit.reports.runner.params_file import read_site_parameters
from ivig_kit.reports.runner.tasks import SiteResult, site_slug
from ivig_kit.score.columns import KIT_COLUMNS
from ivig_kit.score.mapping import ColumnMapping
from ivig_kit.score.visits import read_visits

CASES: dict[str, int] = {}
#: Most memory the process may have added at its peak over the whole suite (every case stays under it).
PEAK_ADDED_MB = 600
#: Cases per target: 50 in CI (the same ones every run); IVIG_KIT_FUZZ_EXAMPLES=N for a longer, random hunt.
EXAMPLES = int(os.environ.get("IVIG_KIT_FUZZ_EXAMPLES", "0")) or 50
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=3000,
    derandomize=EXAMPLES == 50,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
DECLARED = {
    "site": "",
    "data_path": "",
    "population": "adult",
    "min_cell_size": 5,
    "summary_path": "",
    "fail": False,
    "sleep_s": 0,
    "ratio": 0.5,
    "label": "x",
}


def peak_mb() -> float:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


@pytest.fixture(scope="module", autouse=True)
def report_cases(request):
    """Print how many cases each target tried (shown without -s), and check the memory bound."""
    start = peak_mb()
    yield
    total = sum(CASES.values())
    line = f"fuzz: {total} cases tried (" + ", ".join(f"{k} {v}" for k, v in sorted(CASES.items())) + ")"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n{line}", flush=True)
    assert peak_mb() - start < PEAK_ADDED_MB


def outcome(target: str, call):
    """Run one case: a result, or an InputError with a short located message; anything else fails the test."""
    CASES[target] = CASES.get(target, 0) + 1
    try:
        return call()
    except InputError as error:
        message = str(error)
        assert message.strip(), f"{type(error).__name__} without a message"
        lines = message.splitlines()
        assert len(lines) <= 25 and all(len(line) < 2000 for line in lines), message[:500]
        return error


# --- Strategies ---------------------------------------------------------------------------------------------

TOKENS = st.sampled_from(
    [
        "",
        "0",
        "4",
        "-5",
        "1e999",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "NA",
        "1,5",
        "3.25",
        "007",
        "１２",
        "Zürich",
        "Zu\u0308rich",
        "\u202e",
        "\x00",
        "a\x00b",
        '"',
        '""',
        "'",
        ";",
        "\t",
        "\r",
        "\n",
        "99999999999999999999999999999",
        "0x10",
        "True",
        "=1+1",
        "<b>x</b>",
        "10000",
        "2600",
        "-0",
        " 4 ",
        "1_000",
    ]
)
CELLS = st.one_of(TOKENS, st.text(alphabet=string.printable + "äü１\u00a0\u2028", max_size=12))
COLUMNS = st.lists(
    st.one_of(st.sampled_from(list(KIT_COLUMNS) + ["subtype", "notes", ""]), st.text(max_size=6)),
    min_size=1,
    max_size=12,
)


@st.composite
def tables(draw) -> list[list[str]]:
    header = draw(COLUMNS)
    if draw(st.booleans()):
        header = ["site", "patient_id", "week", *header]
    rows = draw(st.lists(st.lists(CELLS, min_size=len(header) - 1, max_size=len(header) + 1), max_size=12))
    return [header, *rows]


def csv_bytes(table, separator: str = ",") -> bytes:
    buffer = io.StringIO()
    import csv

    csv.writer(buffer, delimiter=separator).writerows(table)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


# --- Visit tables -------------------------------------------------------------------------------------------


@FUZZ
@given(
    table=tables(),
    separator=st.sampled_from([",", ";", "\t"]),
    noise=st.binary(max_size=40),
    mode=st.sampled_from(["table", "table+noise", "bytes"]),
)
@example(table=[["site"], ["", ""]], separator=",", noise=b"\x80", mode="table+noise")  # found: ragged + bad byte
@example(table=[["week"]], separator=",", noise=b"\x80", mode="table+noise")  # found: a number column not UTF-8
def test_fuzz_csv_visit_tables(tmp_path_factory, table, separator, noise, mode):
    path = tmp_path_factory.mktemp("csv") / "v.csv"
    data = csv_bytes(table, separator)
    path.write_bytes({"table": data, "table+noise": data + noise, "bytes": noise or b"x"}[mode])
    result = outcome("csv", lambda: read_visits(path))
    if not isinstance(result, InputError):
        assert {"site", "patient_id", "week"} <= set(result.columns)
        assert result["week"].between(0, 2600).all()


@FUZZ
@given(
    table=tables(),
    damage=st.sampled_from(["none", "truncate", "flip", "dimension", "bomb-declared"]),
    where=st.integers(min_value=0, max_value=10_000),
)
def test_fuzz_xlsx_visit_tables(tmp_path_factory, table, damage, where):
    import openpyxl

    folder = tmp_path_factory.mktemp("xlsx")
    workbook = openpyxl.Workbook()
    for row in table:
        workbook.active.append([re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", c) for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if damage == "truncate":
        data = data[: where % max(len(data), 1)]
    elif damage == "flip" and data:
        position = where % len(data)
        data = data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]
    elif damage in ("dimension", "bomb-declared"):
        source = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                content = source.read(item)
                if item.filename.endswith("sheet1.xml"):
                    content = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', content)
                    if damage == "bomb-declared":
                        content += b" " * (where * 1000)  # compresses extremely well
                target.writestr(item, content)
        data = out.getvalue()
    path = folder / "v.xlsx"
    path.write_bytes(data)
    outcome("xlsx", lambda: read_visits(path))


@FUZZ
@given(table=tables(), nested=st.booleans(), damage=st.integers(min_value=-1, max_value=2000))
def test_fuzz_parquet_visit_tables(tmp_path_factory, table, nested, damage):
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, rows = table[0], table[1:]
    columns = {}
    for i, name in enumerate(header):
        values = [row[i] if i < len(row) else None for row in rows]
        if nested and i == 0:
            columns[name or "x"] = pa.array([[v] for v in values], pa.list_(pa.string()))
        else:
            columns[name or f"c{i}"] = pa.array(values, pa.string())
    buffer = io.BytesIO()
    try:
        pq.write_table(pa.table(columns), buffer)
    except (pa.ArrowInvalid, ValueError):  # duplicate names: not a file anybody could write
        return
    data = buffer.getvalue()
    if damage >= 0 and data:
        position = damage % len(data)
        data = data[:position] + bytes([data[position] ^ 0x55]) + data[position + 1 :]
    path = tmp_path_factory.mktemp("pq") / "v.parquet"
    path.write_bytes(data)
    outcome("parquet", lambda: read_visits(path))


@FUZZ
@given(table=tables())
def test_fuzz_adverse_event_tables(tmp_path_factory, table):
    table[0] = ["site", "patient_id", "week", "event", *table[0][3:]]
    path = tmp_path_factory.mktemp("ae") / "events.csv"
    path.write_bytes(csv_bytes(table))
    result = outcome("adverse events", lambda: read_adverse_events(path))
    if not isinstance(result, InputError):
        assert result["week"].between(0, 2600).all() and (result["event"] != "").all()


# --- Parameters and mappings --------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    TOKENS,
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=8), TOKENS), inner, max_size=4)
    ),
    max_leaves=20,
)
YAML_NOISE = st.lists(
    st.sampled_from(
        [
            "&a ",
            "*a ",
            "<<: ",
            "!!python/name:os.system ",
            "{",
            "}",
            "[",
            "]",
            ": ",
            "- ",
            "\n",
            "  ",
            "'",
            '"',
            "? ",
            "%YAML 1.1\n",
            "---\n",
            "...\n",
            "&b [*a, *a]",
            "North",
            "'*'",
            "ratio",
            "label",
            "population",
            "1e999",
            ".nan",
            "~",
            "\t",
        ]
    ),
    max_size=30,
).map("".join)


@FUZZ
@given(document=DOCUMENTS, noise=YAML_NOISE, kind=st.sampled_from(["document", "noise", "csv"]))
def test_fuzz_params_files(tmp_path_factory, document, noise, kind):
    folder = tmp_path_factory.mktemp("params")
    if kind == "csv":
        path = folder / "p.csv"
        path.write_text(noise.replace("\t", ","), encoding="utf-8")
    else:
        path = folder / "p.yaml"
        text = (
            noise
            if kind == "noise"
            else yaml.safe_dump({"North": document} if isinstance(document, dict) else document, allow_unicode=True)
        )
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = outcome("params", lambda: read_site_parameters(path, DECLARED, ["North", "South"], "r.ipynb"))
    if not isinstance(result, InputError):
        assert set(result) <= {"North", "South"}
        for values in result.values():
            for name, value in values.items():
                assert name in DECLARED and type(value) is type(DECLARED[name])
                if isinstance(value, float):
                    assert value == value and abs(value) != float("inf")


@FUZZ
@given(
    document=DOCUMENTS,
    columns=st.dictionaries(st.text(max_size=8), st.one_of(st.sampled_from(list(KIT_COLUMNS)), DOCUMENTS), max_size=5),
    constants=st.dictionaries(
        st.one_of(st.sampled_from(["mmt_max", "haq", "ck_uln"]), st.text(max_size=5)), SCALARS, max_size=3
    ),
    noise=YAML_NOISE,
    kind=st.sampled_from(["structured", "document", "noise"]),
)
def test_fuzz_mapping_files(tmp_path_factory, document, columns, constants, noise, kind):
    path = tmp_path_factory.mktemp("mapping") / "m.yaml"
    if kind == "noise":
        path.write_text(noise, encoding="utf-8")
    else:
        data = {"columns": columns, "constants": constants} if kind == "structured" else document
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
    result = outcome("mapping", lambda: ColumnMapping.from_yaml(path))
    if not isinstance(result, InputError):
        assert set(result.columns.values()) <= set(KIT_COLUMNS)
        assert all(v == v and abs(v) != float("inf") for v in result.constants.values())


# --- The ledger ---------------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=12),
        st.sampled_from(["/etc/passwd", "../x.html", "javascript:alert(1)", "ok", "failed", "file:///etc/passwd"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=12,
)


def good_row(site: str) -> dict:
    slug = site_slug(site)
    return SiteResult(
        site=site,
        slug=slug,
        status="ok",
        seconds=1.0,
        attempts=1,
        files={
            "html": f"{slug}.html",
            "notebook": f"{slug}.ipynb",
            "summary": f"{slug}.json",
            "failed_notebook": f"{slug}.failed.ipynb",
        },
        made_with={"population": "adult", "min_cell_size": 5, "parameters": {}, "input_hash": ""},
        made_at="2026-12-01T08:53:00+00:00",
    ).record()


@FUZZ
@given(
    site=st.text(min_size=1, max_size=20),
    path=st.lists(
        st.sampled_from(
            [
                "site",
                "slug",
                "status",
                "seconds",
                "attempts",
                "files",
                "html",
                "pdf",
                "summary",
                "error",
                "made_with",
                "parameters",
                "input_hash",
                "reused",
                "made_at",
            ]
        ),
        min_size=1,
        max_size=3,
    ),
    value=JSON_VALUES,
    raw=st.one_of(st.none(), JSON_VALUES, st.binary(max_size=30)),
)
def test_fuzz_ledgers(tmp_path_factory, site, path, value, raw):
    out = tmp_path_factory.mktemp("ledger")
    if raw is None:
        row = good_row(site)
        target = row
        for key in path[:-1]:  # a value put at a random place of a good row
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = value
        data = json.dumps({"kind": LEDGER_KIND, "format": LEDGER_FORMAT, "sites": [row]}).encode()
    elif isinstance(raw, bytes):
        data = raw
    else:
        data = json.dumps(raw if not isinstance(raw, dict) else {"kind": LEDGER_KIND, **raw}).encode()
    (out / "index.json").write_bytes(data)
    result = outcome("ledger", lambda: ledger.read_ledger(out))
    if not isinstance(result, InputError):
        for row in result["sites"].values():
            assert all(is_own_file_name(name) for name in row["files"].values())
