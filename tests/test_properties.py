"""Property-based tests (hypothesis): the mechanics hold for random small configurations of every
variant, segment lengths that do and do not divide the sequence, and random padding."""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmt_lite import VARIANTS, MemoryTransformer, ModelConfig, generate, run_segments
from rmt_lite.config import REGISTRY

VOCAB = 9
EXAMPLES = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def setups(draw):
    variant = draw(st.sampled_from(VARIANTS))
    memory = draw(st.integers(1, 3)) if REGISTRY[variant].memory else 0
    if variant == "rmt" and draw(st.booleans()):
        memory = 0  # rmt without memory: the segmented transformer
    cfg = ModelConfig(
        variant=variant,
        vocab_size=VOCAB,
        d_model=draw(st.sampled_from([16, 32])),
        n_heads=2,
        n_layers=draw(st.integers(1, 2)),
        d_ff=24,
        num_mem_tokens=memory,
        mem_len=draw(st.integers(1, 5)) if REGISTRY[variant].cache else 0,
        read_mem_from_cache=variant == "rmt_xl" and draw(st.booleans()),
    )
    torch.manual_seed(draw(st.integers(0, 2**16)))
    model = MemoryTransformer(cfg).double().eval()
    seq_len = draw(st.integers(1, 12))
    segment_len = draw(st.integers(1, max(1, min(5, seq_len - 1))))  # mostly more than one segment
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    tokens = torch.randint(0, VOCAB, (draw(st.integers(1, 2)), seq_len), generator=gen)
    return model, tokens, segment_len


@EXAMPLES
@given(setups(), st.data())
def test_no_logit_depends_on_a_later_token(setup, data):
    model, tokens, seg = setup
    p = data.draw(st.integers(0, tokens.shape[1] - 1))
    other = tokens.clone()
    other[:, p] = (other[:, p] + 1) % VOCAB
    a, b = run_segments(model, tokens, seg).logits, run_segments(model, other, seg).logits
    torch.testing.assert_close(a[:, :p], b[:, :p], rtol=0, atol=1e-10)


@EXAMPLES
@given(setups())
def test_streaming_one_segment_at_a_time_equals_the_runner(setup):
    model, tokens, seg = setup
    state, pieces = model.init_state(tokens.shape[0]), []
    for a in range(0, tokens.shape[1], seg):
        out = model(tokens[:, a : a + seg], state)
        state, pieces = out.state, pieces + [out.logits]
    torch.testing.assert_close(torch.cat(pieces, 1), run_segments(model, tokens, seg).logits, rtol=1e-10, atol=1e-10)


@EXAMPLES
@given(setups(), st.integers(1, 6))
def test_greedy_generation_is_the_argmax_of_its_own_teacher_forced_logits(setup, new):
    model, prompt, seg = setup
    seq = generate(model, prompt, new, segment_len=seg)
    assert torch.equal(seq[:, : prompt.shape[1]], prompt)
    logits = run_segments(model, seq, seg).logits
    P = prompt.shape[1]
    assert torch.equal(logits[:, P - 1 : -1].argmax(-1), seq[:, P:])


@EXAMPLES
@given(setups(), st.data())
def test_padding_is_invisible_to_every_real_token(setup, data):
    model, tokens, seg = setup
    flags = data.draw(st.lists(st.booleans(), min_size=tokens.numel(), max_size=tokens.numel()))
    mask = torch.tensor(flags).view_as(tokens)
    other = tokens.clone()
    other[~mask] = (other[~mask] + 1) % VOCAB
    a = run_segments(model, tokens, seg, token_mask=mask)
    b = run_segments(model, other, seg, token_mask=mask)
    torch.testing.assert_close(a.logits[mask], b.logits[mask], rtol=0, atol=1e-10)
    if a.state.memory is not None:
        torch.testing.assert_close(a.state.memory, b.state.memory, rtol=0, atol=1e-10)
