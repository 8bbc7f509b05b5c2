"""The paper's metrics: teacher-forced and greedy per-token accuracy, exact match, the quadratic
answer accuracy, stream loss with memory carried along, classification accuracy."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import data_gen
from rmt_lite import MemoryTransformer, ModelConfig, run_segments
from rmt_lite.evaluate import (
    classify_logits,
    collate_documents,
    evaluate_classification,
    evaluate_stream,
    evaluate_streamed,
    evaluate_task,
    greedy_predictions,
    streamed_exact,
)


def _model(variant="rmt", vocab=12, seed=0, **kw):
    extra = {"rmt": {"num_mem_tokens": 2}, "xl": {"mem_len": 4}, "transformer": {}}[variant]
    torch.manual_seed(seed)
    cfg = ModelConfig(variant=variant, vocab_size=vocab, d_model=32, n_layers=2, n_heads=2, d_ff=48, **extra, **kw)
    return MemoryTransformer(cfg).eval()


@pytest.fixture(scope="module")
def copy_batch():
    task = data_gen.make_task("copy", length=6, num_symbols=10)
    return task, task.fixed_set("valid", 24)


@torch.no_grad()
def test_greedy_is_the_fixed_point_of_teacher_forcing(copy_batch):
    """Feeding the greedy answer back as input, teacher-forced argmax reproduces it at every
    scored position: greedy decoding crossed the segment boundaries like run_segments."""
    task, b = copy_batch
    for variant in ("rmt", "xl", "transformer"):
        model = _model(variant)
        pred = greedy_predictions(model, b.tokens, b.loss_mask, segment_len=5)
        first = int(b.loss_mask[0].nonzero()[0])
        fed = b.tokens.clone()
        fed[:, first + 1 :] = pred[:, first:-1]
        tf = run_segments(model, fed, 5).logits.argmax(-1)
        assert torch.equal(tf[b.loss_mask], pred[b.loss_mask]), variant
        # the first answer token is the same either way
        tf0 = run_segments(model, b.tokens, 5).logits.argmax(-1)
        assert torch.equal(tf0[:, first], pred[:, first])


def test_task_metrics_match_a_direct_computation(copy_batch):
    task, b = copy_batch
    model = _model()
    m = evaluate_task(model, b, 5, batch_size=7, task=task)
    with torch.no_grad():
        logits = run_segments(model, b.tokens, 5).logits
    pred = logits.argmax(-1)
    mask = b.loss_mask
    assert m["acc_tf"] == pytest.approx(float((pred == b.targets)[mask].float().mean()))
    assert m["exact_tf"] == pytest.approx(float(((pred == b.targets) | ~mask).all(1).float().mean()))
    nll = F.cross_entropy(logits.flatten(0, 1), b.targets.flatten(), reduction="none").view_as(mask)
    assert m["loss"] == pytest.approx(float(nll[mask].mean()), rel=1e-5)
    g = greedy_predictions(model, b.tokens, mask, 5)
    assert m["acc_greedy"] == pytest.approx(float((g == b.targets)[mask].float().mean()))
    assert m["answer_acc"] == pytest.approx(float(task.answer_correct(g, b).float().mean()))
    # the paper's metric: greedy for a segmented model, teacher-forced for one segment
    assert m["acc"] == m["acc_greedy"] and m["exact_match"] == m["exact_greedy"]
    whole = evaluate_task(model, b, b.tokens.shape[1], task=task)
    assert whole["acc"] == whole["acc_tf"]
    # chunking the evaluation batch changes nothing
    again = evaluate_task(model, b, 5, batch_size=100, task=task)
    assert again["acc_greedy"] == m["acc_greedy"] and again["loss"] == pytest.approx(m["loss"], rel=1e-6)


def test_a_perfect_model_scores_one():
    """A model whose logits are the targets: every metric at its maximum."""
    task = data_gen.make_task("reverse", length=5, num_symbols=10)
    b = task.fixed_set("test", 8)

    class Oracle(torch.nn.Module):  # predicts reversed(x) from the visible prefix: the rule itself
        cfg = ModelConfig(variant="transformer", vocab_size=12, d_model=8, n_layers=1, n_heads=2, d_ff=8)

        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))
            self.seen = None

        def init_state(self, B):
            from rmt_lite import SegmentState

            return SegmentState(None, None)

        def forward(self, tokens, state=None, token_mask=None, return_attention=False):
            from rmt_lite import SegmentOutput, SegmentState

            seen = tokens if state is None or state.cache is None else torch.cat([state.cache[0], tokens], 1)
            logits = torch.full((*tokens.shape, 12), -10.0)
            L = 5
            for j in range(tokens.shape[1]):
                pos = seen.shape[1] - tokens.shape[1] + j
                if pos >= L:  # answer position k = pos - L: x[L-1-k]
                    k = pos - L
                    if k < L:
                        logits[:, j].scatter_(1, seen[:, L - 1 - k : L - k], 10.0)
            return SegmentOutput(logits + 0 * self.p, tokens.float()[..., None], SegmentState(None, (seen,)))

        def extend(self, tokens, state, past=None):  # greedy decoding grows the open segment
            opened = tokens if past is None else torch.cat([past[0], tokens], 1)
            return self(opened, state).logits[:, -tokens.shape[1] :], [opened]

    m = evaluate_task(Oracle(), b, 3, task=task)
    assert m["acc_tf"] == m["acc_greedy"] == m["exact_match"] == m["answer_acc"] == 1.0
    assert m["loss"] < 1e-6


def test_quadratic_answer_accuracy_uses_greedy_decoding():
    task = data_gen.make_task("quadratic")
    b = task.fixed_set("valid", 6)
    model = _model(vocab=task.vocab_size)
    m = evaluate_task(model, b, 30, task=task)
    g = greedy_predictions(model, b.tokens, b.loss_mask, 30)
    assert m["answer_acc"] == pytest.approx(float(task.answer_correct(g, b).float().mean()))


@torch.no_grad()
def test_stream_evaluation_carries_memory_over_the_whole_stream():
    data = torch.randint(0, 12, (203,), generator=torch.Generator().manual_seed(0))
    for variant in ("rmt", "xl"):
        model = _model(variant)
        m = evaluate_stream(model, data, 5, 4)
        batches = list(data_gen.stream_batches(data, 4, 5))
        X = torch.cat([x for x, _ in batches], 1)
        Y = torch.cat([y for _, y in batches], 1)
        whole = run_segments(model, X, 5, targets=Y).loss  # memory carried from segment to segment
        assert m["loss"] == pytest.approx(float(whole), rel=1e-5) and m["tokens"] == Y.numel()
        reset = (
            float(sum(F.cross_entropy(model(x).logits.flatten(0, 1), y.flatten(), reduction="sum") for x, y in batches))
            / Y.numel()
        )
        assert abs(reset - m["loss"]) > 1e-6  # and that carrying matters
        assert m["bpc"] == pytest.approx(m["loss"] / math.log(2)) and m["ppl"] == pytest.approx(math.exp(m["loss"]))
    assert evaluate_stream(_model(), data, 5, 4, max_tokens=101)["tokens"] == 4 * 24  # 4 streams of 25
    with pytest.raises(ValueError, match="batch_size"):
        evaluate_stream(_model(), data[:5], 5, 4)


def test_classification_reads_memory_segments_and_transformer_the_first_only():
    docs = [(torch.randint(2, 20, (n,), generator=torch.Generator().manual_seed(n)), n % 2) for n in (9, 17, 30)]
    tokens, mask, labels = collate_documents(docs, segment_len=8, max_segments=3)
    assert tokens.shape == (3, 24) and mask.sum(1).tolist() == [9, 17, 24] and labels.tolist() == [1, 1, 0]
    for variant, reach in (("rmt", 3), ("transformer", 1)):
        torch.manual_seed(0)
        extra = {"num_mem_tokens": 2} if variant == "rmt" else {}
        model = MemoryTransformer(
            ModelConfig(
                variant=variant,
                vocab_size=20,
                d_model=32,
                n_layers=2,
                n_heads=2,
                d_ff=48,
                encoder=True,
                num_classes=2,
                **extra,
            )
        ).eval()
        toks, msk, _ = collate_documents(docs, 8, reach)
        base = classify_logits(model, toks, msk, 8)
        changed = toks.clone()
        changed[2, 8 * reach - 1] = (changed[2, 8 * reach - 1] + 1 - 2) % 18 + 2  # last token read
        assert not torch.allclose(classify_logits(model, changed, msk, 8)[2], base[2])
        m = evaluate_classification(model, docs, 8, reach, batch_size=2)
        assert m["docs"] == 3 and m["acc"] == pytest.approx(float((base.argmax(-1) == labels).float().mean()))


@pytest.mark.parametrize("variant", ["rmt", "xl", "transformer"])
def test_streamed_evaluation_gives_the_teacher_forced_metrics_of_the_whole_run(copy_batch, variant):
    task, batch = copy_batch
    model = _model(variant)
    whole = evaluate_task(model, batch, 5, greedy=False, amp=False)
    streamed = evaluate_streamed(model, batch, 5, batch_size=7, amp=False)
    assert streamed["acc_tf"] == whole["acc_tf"] and streamed["exact_tf"] == whole["exact_tf"]
    assert streamed["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    needle = data_gen.make_task("needle", length=40, num_distractors=1, text_vocab=20)
    nb = needle.fixed_set("test", 6)
    small = _model(variant, vocab=needle.vocab_size)
    assert evaluate_streamed(small, nb, 8, amp=False)["acc_tf"] == evaluate_task(small, nb, 8, amp=False)["acc"]


@torch.no_grad()
@pytest.mark.parametrize("variant", ["rmt", "xl"])
def test_streamed_exact_marks_each_sample_right_or_wrong(variant):
    """Per sample: right exactly where the whole run's argmax is the answer (half are made right)."""
    needle = data_gen.make_task("needle", length=40, num_distractors=1, text_vocab=20)
    nb = needle.fixed_set("test", 10)
    model = _model(variant, vocab=needle.vocab_size)
    pred = run_segments(model, nb.tokens, 8).logits.argmax(-1)[:, -1]
    want = torch.arange(10) < 5
    targets = nb.targets.clone()
    targets[:, -1] = torch.where(want, pred, (pred + 1) % needle.vocab_size)
    got = streamed_exact(model, type(nb)(nb.tokens, targets, nb.loss_mask), 8, batch_size=3, amp=False)
    assert torch.equal(got, want)
