"""The command registry and usage errors (no notebook is executed here)."""

from __future__ import annotations

import pytest

from autograde import cli


def test_every_command_is_registered_once_with_its_interface():
    for name, module in cli.COMMANDS.items():
        assert module.__name__ == f"autograde.commands.{name}"
        assert module.HELP and callable(module.add_arguments) and callable(module.main)


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert set(cli.COMMANDS) <= set(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["grade", "subs"],
        ["run", "--mode", "fast"],
        ["grade", "s", "--out", "o", "--workers", "0"],
    ],
)
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == cli.EXIT_USAGE


def test_no_course_found_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["release", "--check"]) == cli.EXIT_USAGE
    assert "no course found" in capsys.readouterr().err


def test_course_without_assignments_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    assert cli.main(["--root", str(tmp_path), "validate"]) == cli.EXIT_USAGE
    assert "no assignments" in capsys.readouterr().err
