"""The offline MiniLM-L6 loads from the installed package, with eager attention."""

import pytest
import torch

from respai.exceptions import ParameterValueError
from respai.pretrained import load_classifier, load_tokenizer, minilm_path


def test_offline_minilm_loads_and_classifies():
    assert (minilm_path() / "model.safetensors").is_file()
    tokenizer, model = load_tokenizer(), load_classifier(num_labels=3)
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384
    assert model.config._attn_implementation == "eager"
    assert not model.training
    batch = tokenizer(["a moving film", "dull"], padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    # The pretrained encoder, not random weights: 22.7 M parameters incl. the new head.
    assert 22_000_000 < sum(p.numel() for p in model.parameters()) < 23_000_000


def test_bad_num_labels():
    with pytest.raises(ParameterValueError, match="num_labels must be >= 2, got 1"):
        load_classifier(num_labels=1)
