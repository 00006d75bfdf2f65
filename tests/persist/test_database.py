"""Database URLs that could never work on this machine are refused before anything is opened,
with one line that says what to do."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from engine.plugins import SetupError
from persist.database import DatabaseSetupError, check_database_url, open_database


def test_a_sqlite_file_in_an_existing_writable_folder_is_fine(tmp_path: Path) -> None:
    check_database_url(f"sqlite:///{tmp_path}/k.db")
    check_database_url("sqlite://")
    check_database_url("sqlite:///:memory:")
    assert issubclass(DatabaseSetupError, SetupError)  # the server prints it and exits 2


def test_a_sqlite_file_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseSetupError) as raised:
        open_database(f"sqlite:///{tmp_path}/missing/k.db")
    assert str(raised.value) == (
        f"the SQLite database {tmp_path}/missing/k.db cannot be made: its folder"
        f" {tmp_path}/missing does not exist"
    )


def test_a_sqlite_file_whose_folder_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    with pytest.raises(DatabaseSetupError, match="does not exist"):
        check_database_url(f"sqlite:///{tmp_path}/plain/k.db")


def test_a_sqlite_file_in_a_folder_that_is_not_writable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, who may write anywhere: the permission answer is simulated.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(DatabaseSetupError) as raised:
        check_database_url(f"sqlite:///{tmp_path}/k.db")
    assert str(raised.value).endswith(f"its folder {tmp_path} is not writable")
    (tmp_path / "k.db").write_bytes(b"")
    with pytest.raises(DatabaseSetupError, match="is not readable and writable"):
        check_database_url(f"sqlite:///{tmp_path}/k.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_a_read_only_folder_really_is_refused(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(DatabaseSetupError, match="is not writable"):
            check_database_url(f"sqlite:///{tmp_path}/k.db")
    finally:
        tmp_path.chmod(0o755)


def test_postgresql_without_psycopg_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "psycopg" else real(name, *a),
    )
    for url in ("postgresql+psycopg://u@h/k", "postgresql://u@h/k"):
        with pytest.raises(DatabaseSetupError) as raised:
            open_database(url)
        assert str(raised.value) == (
            "PostgreSQL needs the psycopg 3 driver, which is not installed:"
            " pip install 'kadath[postgres]'"
        )


@pytest.mark.parametrize("url", ["mysql://u@h/k", "postgresql+psycopg2://u@h/k", "oracle://h"])
def test_other_drivers_are_refused(url: str) -> None:
    with pytest.raises(DatabaseSetupError, match="unknown database URL scheme"):
        check_database_url(url)


def test_a_string_that_is_no_url_is_refused() -> None:
    with pytest.raises(DatabaseSetupError, match="not a database URL"):
        check_database_url("kadath.db")
