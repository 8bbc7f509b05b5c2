"""Encoder mode (long-document classification): bidirectional, memory at the start, padding."""

import torch
from conftest import VOCAB, random_tokens

from rmt_lite import MemoryTransformer, ModelConfig, run_segments


def encoder(variant="rmt", **kw):
    torch.manual_seed(0)
    cfg = dict(
        variant=variant,
        vocab_size=VOCAB,
        d_model=32,
        n_layers=2,
        n_heads=4,
        d_ff=48,
        encoder=True,
        num_classes=3,
        num_mem_tokens=2 if variant == "rmt" else 0,
    )
    cfg.update(kw)
    return MemoryTransformer(ModelConfig(**cfg)).double().eval()


def test_encoder_attention_is_bidirectional():
    model = encoder()
    tokens = random_tokens(2, 6)
    changed = tokens.clone()
    changed[:, -1] = (changed[:, -1] + 1) % VOCAB
    assert not torch.allclose(model(tokens).hidden[:, 0], model(changed).hidden[:, 0])


def test_encoder_memory_carries_the_first_segment_into_the_class_logits():
    model = encoder()
    tokens = random_tokens(2, 8)
    changed = tokens.clone()
    changed[:, :4] = random_tokens(2, 4, seed=5)
    a, b = (model.classify(run_segments(model, t, 4).outputs[-1]) for t in (tokens, changed))
    assert a.shape == (2, 3)
    assert not torch.allclose(a, b)


def test_padding_is_invisible_and_an_all_padding_segment_keeps_memory():
    model = encoder()
    tokens = random_tokens(2, 8)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[0, 3:] = False  # sample 0: 3 real tokens, then a whole padded segment
    other = tokens.clone()
    other[0, 3:] = (other[0, 3:] + 1) % VOCAB
    run_a = run_segments(model, tokens, 4, token_mask=mask)
    run_b = run_segments(model, other, 4, token_mask=mask)
    torch.testing.assert_close(run_a.outputs[0].hidden[0, :3], run_b.outputs[0].hidden[0, :3], rtol=0, atol=1e-12)
    torch.testing.assert_close(run_a.state.memory[0], run_a.outputs[0].state.memory[0], rtol=0, atol=0)
    assert not torch.allclose(run_a.state.memory[1], run_a.outputs[0].state.memory[1])


def test_transformer_encoder_pools_real_tokens_only():
    model = encoder("transformer")
    tokens = random_tokens(1, 6)
    mask = torch.tensor([[True, True, True, True, False, False]])
    other = tokens.clone()
    other[0, 4:] = (other[0, 4:] + 1) % VOCAB
    a = model.classify(model(tokens, token_mask=mask), mask)
    b = model.classify(model(other, token_mask=mask), mask)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
