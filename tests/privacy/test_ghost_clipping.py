"""Ghost clipping (Li et al. 2022) with book-keeping (Bu et al. 2023).

References: per-example backward passes (one loss.backward() per example),
Opacus's GradSampleModule and respai's vmap GradSampleModule.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.dpsgd import (
    DPOptimizer,
    GhostClippingModule,
    GhostDPOptimizer,
    GradSampleModule,
    embedding_norm_sq,
    ghost_norm_sq,
    linear_norm_sq,
    make_private,
)
from respai.train import fit, make_loader

transformers = pytest.importorskip("transformers")


def tiny_bert(seed: int = 0) -> nn.Module:
    """A 2-layer, 16-wide BERT classifier, random weights, no dropout (deterministic)."""
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=24,
        max_position_embeddings=20,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=2,
        attn_implementation="eager",
    )
    return transformers.BertForSequenceClassification(config).train()


def bert_batch(b: int = 6, t: int = 7):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 50, (b, t), generator=g)
    ids[0, 4:] = 0  # padding (pad_token_id 0): its embedding row gets no gradient
    ids[1, 2] = ids[1, 5]  # a repeated token: its row's gradient sums two positions
    return ids, (ids != 0).long(), torch.randint(0, 2, (b,), generator=g)


class SeqModel(nn.Module):
    """Embedding, LayerNorm, Linear over a sequence, mean, LayerNorm on vectors, Linear."""

    def __init__(self, rank_like: bool = False):
        super().__init__()
        self.emb = nn.Embedding(20, 8, padding_idx=0)
        self.norm = nn.LayerNorm(8)
        # rank_like: a narrow layer, where forming G_i directly is cheaper than the ghost form
        self.seq = nn.Linear(8, 2 if rank_like else 6)
        self.norm2 = nn.LayerNorm(2 if rank_like else 6)
        self.head = nn.Linear(2 if rank_like else 6, 3)

    def forward(self, ids):
        h = torch.tanh(self.seq(self.norm(self.emb(ids))))
        return self.head(self.norm2(h.mean(dim=1)))


def loop_grads(model, call, n) -> list[dict[str, torch.Tensor]]:
    """Reference per-example gradients: one backward pass per example."""
    out = []
    for i in range(n):
        model.zero_grad()
        call(model, slice(i, i + 1)).backward()
        out.append(
            {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.requires_grad}
        )
    model.zero_grad()
    return out


def flat_norms(grads: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    return torch.stack([torch.cat([v.reshape(-1) for v in g.values()]).norm() for g in grads])


def bert_loss(model, rows):
    ids, mask, y = bert_batch()
    return nn.functional.cross_entropy(
        model(input_ids=ids[rows], attention_mask=mask[rows]).logits, y[rows]
    )


# ----------------------------------------------------------------------------- the formulas


@pytest.mark.parametrize("t,d_in,d_out", [(1, 5, 3), (4, 5, 3), (9, 3, 2)])
def test_linear_norm_formulas_equal_explicit_per_sample_gradients(t, d_in, d_out):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4, t, d_in, generator=g, dtype=torch.float64)
    dy = torch.randn(4, t, d_out, generator=g, dtype=torch.float64)
    explicit = torch.einsum("bto,bti->boi", dy, a).pow(2).sum(dim=(1, 2))
    torch.testing.assert_close(ghost_norm_sq(a, dy), explicit)
    torch.testing.assert_close(linear_norm_sq(a, dy), explicit)  # direct form when t = 9
    if t == 1:  # vectors without positions: Goodfellow's |a|^2 |dy|^2
        torch.testing.assert_close(ghost_norm_sq(a[:, 0], dy[:, 0]), explicit)


def test_embedding_norm_counts_repeated_tokens_and_skips_padding():
    ids = torch.tensor([[3, 3, 0, 5], [1, 2, 4, 4]])
    dy = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    explicit = []
    for i in range(2):
        rows = torch.zeros(6, 3, dtype=torch.float64)
        for t in range(4):
            if ids[i, t] != 0:
                rows[ids[i, t]] += dy[i, t]
        explicit.append(rows.pow(2).sum())
    torch.testing.assert_close(embedding_norm_sq(ids, dy, padding_idx=0), torch.stack(explicit))


# ----------------------------------------------------------------------------- whole models


def test_ghost_norms_equal_per_example_backward_on_a_small_bert():
    model = tiny_bert()
    ids, mask, y = bert_batch()
    ref = flat_norms(loop_grads(model, bert_loss, len(y)))
    ghost = GhostClippingModule(model)
    bert_loss(ghost, slice(None)).backward()
    torch.testing.assert_close(ghost.per_sample_norms(), ref, rtol=1e-4, atol=1e-6)
    # the backward pass formed no weight gradient: that is the point
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.filterwarnings("ignore:Full backward hook:UserWarning")
def test_ghost_norms_equal_opacus_per_sample_gradients_on_a_small_bert():
    opacus = pytest.importorskip("opacus")
    model = tiny_bert()
    ids, mask, y = bert_batch()
    # Opacus needs position and token-type ids with the batch dimension (issue's pitfall).
    extra = {
        "position_ids": torch.arange(ids.shape[1]).expand_as(ids),
        "token_type_ids": torch.zeros_like(ids),
    }
    gsm = opacus.GradSampleModule(copy.deepcopy(model))
    nn.functional.cross_entropy(
        gsm(input_ids=ids, attention_mask=mask, **extra).logits, y
    ).backward()
    samples = [p.grad_sample for p in gsm.parameters()]
    want = torch.cat([s.reshape(len(y), -1) for s in samples], dim=1).norm(dim=1)

    ghost = GhostClippingModule(model)
    bert_loss(ghost, slice(None)).backward()
    torch.testing.assert_close(ghost.per_sample_norms(), want, rtol=1e-4, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Full backward hook:UserWarning")
def test_dp_step_at_noise_zero_equals_explicit_clipping_and_opacus():
    opacus = pytest.importorskip("opacus")
    from opacus.optimizers import DPOptimizer as OpacusDPOptimizer

    model = tiny_bert()
    ids, mask, y = bert_batch()
    grads = loop_grads(model, bert_loss, len(y))
    norms = flat_norms(grads)
    c = float(norms.median())  # about half of the examples get clipped
    factors = (c / (norms + 1e-6)).clamp(max=1.0)
    explicit = {
        k: sum(f * g[k] for f, g in zip(factors, grads, strict=True)) / len(y) for k in grads[0]
    }

    ghost = GhostClippingModule(model)
    opt = GhostDPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.0),
        module=ghost,
        noise_multiplier=0.0,
        max_grad_norm=c,
        expected_batch_size=len(y),
    )
    opt.zero_grad()
    bert_loss(ghost, slice(None)).backward()
    opt.step()

    theirs = tiny_bert()
    extra = {
        "position_ids": torch.arange(ids.shape[1]).expand_as(ids),
        "token_type_ids": torch.zeros_like(ids),
    }
    gsm = opacus.GradSampleModule(theirs)
    oopt = OpacusDPOptimizer(
        torch.optim.SGD(theirs.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=c,
        expected_batch_size=len(y),
    )
    nn.functional.cross_entropy(
        gsm(input_ids=ids, attention_mask=mask, **extra).logits, y
    ).backward()
    oopt.step()
    for (k, p), q in zip(model.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, explicit[k], rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("rank_like", [False, True], ids=["ghost-form", "direct-form"])
def test_ghost_matches_vmap_grad_sample_module_with_frozen_layers(rank_like):
    model = SeqModel(rank_like)
    model.norm.requires_grad_(False)  # frozen layers are left alone
    # No padding tokens here: under torch.vmap, F.embedding with a batched weight gives the
    # padding row a gradient for every example but the first (padding is tested above).
    ids = torch.randint(1, 20, (5, 9), generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 1, 2, 1, 0])
    loss_fn = nn.CrossEntropyLoss(reduction="sum")

    gsm = GradSampleModule(copy.deepcopy(model), loss_reduction="sum")
    loss_fn(gsm(ids), y).backward()
    opt = DPOptimizer(
        torch.optim.SGD(gsm.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=0.05,
        loss_reduction="sum",
    )
    want_norms = torch.cat(
        [p.grad_sample.reshape(5, -1) for p in gsm.parameters() if p.requires_grad], dim=1
    ).norm(dim=1)
    opt.step()

    ghost = GhostClippingModule(model, loss_reduction="sum")
    gopt = GhostDPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.0),
        module=ghost,
        noise_multiplier=0.0,
        max_grad_norm=0.05,
        loss_reduction="sum",
    )
    loss_fn(ghost(ids), y).backward()
    torch.testing.assert_close(ghost.per_sample_norms(), want_norms, rtol=1e-4, atol=1e-6)
    gopt.step()
    for p, q in zip(model.parameters(), gsm.parameters(), strict=True):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-7)
        else:
            assert p.grad is None


def test_make_private_ghost_trains_like_vmap_with_the_same_seed():
    ids = torch.randint(1, 20, (48, 6), generator=torch.Generator().manual_seed(3))
    y = (ids[:, 0] > 10).long()
    trained = []
    for mode in ("vmap", "ghost"):
        torch.manual_seed(0)
        model = SeqModel()
        m, opt, loader = make_private(
            model,
            torch.optim.SGD(model.parameters(), lr=0.5),
            # token ids stay integers: a plain DataLoader (make_loader casts X to float32)
            DataLoader(TensorDataset(ids, y), batch_size=12),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            delta=1e-5,
            epochs=2,
            generator=7,
            grad_sample_mode=mode,
            loss_reduction="sum",
        )
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        fit(m, loader, epochs=2, optimizer=opt, loss_fn=loss_fn, device="cpu", progress=False)
        trained.append((model, opt.get_epsilon()))
    (vmap_model, vmap_eps), (ghost_model, ghost_eps) = trained
    assert ghost_eps == vmap_eps and 0 < ghost_eps < float("inf")
    # Same batches, same noise draws, same clipped sums: the same model (to float error).
    for p, q in zip(vmap_model.parameters(), ghost_model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_empty_poisson_batch_and_eval_mode():
    model = SeqModel()
    ghost = GhostClippingModule(model)
    opt = GhostDPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.1),
        module=ghost,
        noise_multiplier=0.0,
        max_grad_norm=1.0,
    )
    ids = torch.zeros(0, 4, dtype=torch.long)
    ghost(ids).sum().backward()
    opt.step()
    assert all(torch.count_nonzero(p.grad) == 0 for p in model.parameters())
    x = torch.randint(0, 20, (3, 4))
    ghost.eval()
    with torch.no_grad():
        torch.testing.assert_close(ghost(x), model(x))


# ----------------------------------------------------------------------------- refusals


def test_unsupported_and_shared_layers_are_listed():
    prelu = nn.Sequential(nn.PReLU(), nn.Flatten(), nn.Linear(2, 2))
    with pytest.raises(ParameterValueError, match=r"(?s)1 problem\(s\).*'0' \(PReLU\).*vmap"):
        GhostClippingModule(prelu)
    GhostClippingModule(prelu[0].requires_grad_(False) and prelu)  # frozen: fine
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    with pytest.raises(ParameterValueError, match="shares a parameter"):
        GhostClippingModule(tied)
    with pytest.raises(ParameterValueError, match="grad_sample_mode"):
        make_private(
            tied,
            torch.optim.SGD(tied.parameters(), lr=0.1),
            make_loader(torch.zeros(4, 3), torch.zeros(4), batch_size=2, shuffle=False),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            delta=1e-5,
            epochs=1,
            grad_sample_mode="fast",
        )
    with pytest.raises(ParameterTypeError, match="GhostClippingModule"):
        GhostDPOptimizer(
            torch.optim.SGD(tied.parameters(), lr=0.1),
            module=tied,
            noise_multiplier=1.0,
            max_grad_norm=1.0,
        )


def test_misuse_is_explained():
    model = nn.Linear(3, 2)
    ghost = GhostClippingModule(model)
    opt = GhostDPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.1),
        module=ghost,
        noise_multiplier=0.0,
        max_grad_norm=1.0,
    )
    with pytest.raises(ParameterValueError, match="no forward pass"):
        opt.step()
    ghost(torch.randn(4, 3))
    with pytest.raises(ParameterValueError, match="no backward pass"):
        opt.step()
    opt.zero_grad()
    ghost(torch.randn(4, 3)).sum().backward()
    ghost(torch.randn(4, 3)).sum().backward()
    with pytest.raises(ParameterValueError, match="called twice"):
        opt.step()
    # a layer whose input lost its batch dimension
    bad = GhostClippingModule(nn.Sequential(nn.Flatten(0), nn.Linear(12, 2)))
    with pytest.raises(ParameterValueError, match="batch dimension first"):
        bad(torch.randn(4, 3))


def test_ghost_norms_on_a_small_distilbert():
    """The Colab path of notebook 05 fine-tunes DistilBERT: its layers are covered too."""
    torch.manual_seed(0)
    config = transformers.DistilBertConfig(
        vocab_size=50,
        dim=16,
        n_layers=2,
        n_heads=2,
        hidden_dim=24,
        max_position_embeddings=20,
        dropout=0.0,
        attention_dropout=0.0,
        seq_classif_dropout=0.0,
        attn_implementation="eager",
    )
    model = transformers.DistilBertForSequenceClassification(config).train()
    ref = flat_norms(loop_grads(model, bert_loss, 6))
    ghost = GhostClippingModule(model)
    bert_loss(ghost, slice(None)).backward()
    torch.testing.assert_close(ghost.per_sample_norms(), ref, rtol=1e-4, atol=1e-6)


class SharedInput(nn.Module):
    """Three projections of one input, as a transformer's query, key and value."""

    def __init__(self, in_place: bool = False):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 6)
        self.other = nn.Linear(6, 6)  # a different input in between
        self.in_place = in_place

    def forward(self, x):
        h = torch.tanh(self.other(x))
        q, k = self.q(h), self.k(h)
        if self.in_place:
            h.mul_(2.0)  # overwrites what q and k saw
        return (torch.tanh(q) * k + self.v(h)).sum(dim=(1, 2))


def test_layers_sharing_an_input_share_its_gram_matrix_and_stay_exact():
    torch.manual_seed(0)
    model = SharedInput().double()
    x = torch.randn(5, 4, 6, dtype=torch.float64)  # T = 4: 2 T^2 <= 36, the ghost form

    def loss(m, rows):
        return m(x[rows]).pow(2).sum()

    ref = flat_norms(loop_grads(model, loss, len(x)))
    ghost = GhostClippingModule(model, loss_reduction="sum")
    loss(ghost, slice(None)).backward()
    torch.testing.assert_close(ghost.per_sample_norms(), ref, rtol=1e-10, atol=1e-12)


def test_an_input_modified_in_place_after_use_is_an_error():
    torch.manual_seed(0)
    ghost = GhostClippingModule(SharedInput(in_place=True), loss_reduction="sum")
    with pytest.raises(RuntimeError, match="modified in place"):
        ghost(torch.randn(5, 4, 6)).sum().backward()
