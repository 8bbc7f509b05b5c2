"""Padding (``token_mask``) is invisible to every later query in every decoder variant, through the
memory and through the XL cache, and an all-padding segment leaves the state as it was."""

import pytest
import torch
from conftest import VOCAB, make_model, random_tokens

from rmt_lite import VARIANTS, run_segments
from rmt_lite.model import SegmentState

SEG = 4


def with_other_pads(tokens, mask):
    other = tokens.clone()
    other[~mask] = (other[~mask] + 3) % VOCAB
    return other


def stream(model, tokens, mask=None):
    """Run segment by segment; the logits of every segment and the final state."""
    state, logits = model.init_state(tokens.shape[0]), []
    for a in range(0, tokens.shape[1], SEG):
        out = model(tokens[:, a : a + SEG], state, None if mask is None else mask[:, a : a + SEG])
        state, logits = out.state, logits + [out.logits]
    return torch.cat(logits, 1), state


def visible_cache(state, sample):
    """The real entries of one sample's cache, newest last, per layer."""
    if state.cache is None:
        return None
    keep = slice(None) if state.cache_mask is None else state.cache_mask[sample]
    return [c[sample][keep] for c in state.cache]


@pytest.mark.parametrize("variant", VARIANTS)
def test_changing_pad_ids_changes_no_logit_of_a_real_token(variant):
    model = make_model(variant)
    tokens = random_tokens(2, 3 * SEG)
    mask = torch.ones_like(tokens, dtype=torch.bool)
    mask[0, SEG + 2 : 2 * SEG] = False  # right padding inside segment 2
    mask[1, :2] = False  # left padding in segment 1
    a = run_segments(model, tokens, SEG, token_mask=mask)
    b = run_segments(model, with_other_pads(tokens, mask), SEG, token_mask=mask)
    torch.testing.assert_close(a.logits[mask], b.logits[mask], rtol=0, atol=1e-10)
    assert not torch.allclose(a.logits[~mask], b.logits[~mask])  # the pads themselves did change
    if a.state.memory is not None:
        torch.testing.assert_close(a.state.memory, b.state.memory, rtol=0, atol=1e-10)
    for sample in range(2):
        for x, y in zip(visible_cache(a.state, sample) or [], visible_cache(b.state, sample) or []):
            torch.testing.assert_close(x, y, rtol=0, atol=1e-10)


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_all_padding_middle_segment_equals_skipping_it(variant):
    model = make_model(variant)
    first, middle, last = random_tokens(2, SEG, seed=1), random_tokens(2, SEG, seed=2), random_tokens(2, SEG, seed=3)
    tokens = torch.cat((first, middle, last), 1)
    mask = torch.ones_like(tokens, dtype=torch.bool)
    mask[0, SEG : 2 * SEG] = False  # sample 0: the middle segment is all padding; sample 1 reads it
    logits, state = stream(model, tokens, mask)
    skipped, skipped_state = stream(model, torch.cat((first, last), 1)[:1])
    read, read_state = stream(model, tokens[1:])
    torch.testing.assert_close(logits[0, 2 * SEG :], skipped[0, SEG:], rtol=0, atol=1e-10)
    torch.testing.assert_close(logits[1], read[0], rtol=0, atol=1e-10)
    if state.memory is not None:
        torch.testing.assert_close(state.memory[0], skipped_state.memory[0], rtol=0, atol=1e-10)
    for x, y in zip(visible_cache(state, 0) or [], visible_cache(skipped_state, 0) or []):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-10)


@pytest.mark.parametrize("variant", ["xl", "rmt_xl"])
def test_greedy_extension_hides_cached_padding_too(variant):
    model = make_model(variant)
    tokens = random_tokens(2, SEG + 2)
    mask = torch.ones(2, SEG, dtype=torch.bool)
    mask[0, 1:] = False
    state = model(tokens[:, :SEG], model.init_state(2), mask).state
    other = model(with_other_pads(tokens[:, :SEG], mask), model.init_state(2), mask).state
    a, _ = model.extend(tokens[:, SEG:], state)
    b, _ = model.extend(tokens[:, SEG:], other)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    torch.testing.assert_close(a, model(tokens[:, SEG:], state).logits, rtol=1e-10, atol=1e-10)


def test_a_cache_of_the_wrong_shape_is_refused_with_its_shape():
    model = make_model("xl")
    state = model(random_tokens(2, SEG), model.init_state(2)).state
    with pytest.raises(ValueError, match="state.cache has 1 entries; expected .* per layer \\(2\\)"):
        model(random_tokens(2, SEG), SegmentState(cache=state.cache[:1]))
    wide = tuple(torch.zeros(2, 3, 8, dtype=torch.float64) for _ in state.cache)
    with pytest.raises(ValueError, match=r"shape \(2, 3, 8\); expected \[2, length, 32\]"):
        model(random_tokens(2, SEG), SegmentState(cache=wide))
    with pytest.raises(ValueError, match="cache_mask has shape"):
        model(random_tokens(2, SEG), SegmentState(cache=state.cache, cache_mask=torch.ones(2, 3)))
