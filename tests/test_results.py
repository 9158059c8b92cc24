import json

import pytest

from respai import results
from respai.exceptions import ClaimError, ParameterValueError

CLAIMS = """
[claims.accuracy]
description = "test accuracy (fraction)"
smoke = [0.5, 1.0]
full = [0.8, 0.9]

[claims.epsilon_spent]
description = "privacy spent"
smoke = [0.0, 10.0]
full = [0.9, 1.1]
"""


def test_record_prints_returns_and_appends_to_results_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "results.jsonl"
    monkeypatch.setenv(results.RESULTS_FILE_ENV, str(target))
    assert results.record("accuracy", 0.85) == 0.85
    results.record("accuracy", 0.86)
    assert "[recorded] accuracy = 0.85" in capsys.readouterr().out
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == [{"name": "accuracy", "value": 0.85}, {"name": "accuracy", "value": 0.86}]
    assert results.read_results_file(target) == {"accuracy": 0.86}
    assert results.recorded()["accuracy"] == 0.86


@pytest.mark.parametrize(
    "name, value", [("Bad Name", 1.0), ("ok", float("nan")), ("ok", float("inf"))]
)
def test_record_rejects_bad_names_and_values(name, value):
    with pytest.raises(ParameterValueError):
        results.record(name, value)


def test_check_claims_reports_every_kind_of_problem(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(CLAIMS)
    assert results.check_claims({"accuracy": 0.85, "epsilon_spent": 1.0}, path, "full") == []
    problems = results.check_claims({"accuracy": 0.95, "unknown": 1.0}, path, "full")
    assert problems == [
        "accuracy = 0.95 is outside its full range [0.8, 0.9]",
        "epsilon_spent was never recorded",
        "unknown was recorded but is not in the claims table",
    ]
    assert results.check_claims({"accuracy": 0.95, "epsilon_spent": 5.0}, path, "smoke") == []
    with pytest.raises(ParameterValueError, match="`mode`"):
        results.check_claims({}, path, "fast")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no \\[claims"),
        ("[claims.x]\nsmoke = [1, 0]\nfull = [0, 1]", "low <= high"),
        ("[claims.x]\nsmoke = [0, 1]", "claims.x.full"),
        ("[claims.Bad]\nsmoke = [0, 1]\nfull = [0, 1]", "snake_case"),
    ],
)
def test_load_claims_validates_the_table(tmp_path, text, message):
    path = tmp_path / "claims.toml"
    path.write_text(text)
    with pytest.raises(ClaimError, match=message):
        results.load_claims(path)
