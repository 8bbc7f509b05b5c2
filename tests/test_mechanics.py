"""The memory mechanics of the design notes (book/design.md), section 3: each property a test, for every
variant it concerns."""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import VOCAB, make_model, random_tokens

from rmt_lite import VARIANTS, generate, run_segments
from rmt_lite.repro import analysis

DECODERS = VARIANTS
SEG = 4


def perturbed(tokens, position):
    other = tokens.clone()
    other[:, position] = (other[:, position] + 1) % VOCAB
    return other


@pytest.mark.parametrize("variant", DECODERS)
@pytest.mark.parametrize("position", [0, 3, 4, 6, 9])
def test_no_information_from_the_future(variant, position):
    model = make_model(variant)
    tokens = random_tokens(2, 11)  # 3 segments of 4, 4, 3
    a = run_segments(model, tokens, SEG).logits
    b = run_segments(model, perturbed(tokens, position), SEG).logits
    assert torch.equal(a[:, :position], b[:, :position])
    assert not torch.allclose(a[:, position], b[:, position])  # the perturbation does reach its own position


@pytest.mark.parametrize("variant", ["rmt", "rmt_xl"])
def test_write_memory_inputs_never_change_token_logits_of_the_same_segment(variant):
    model = make_model(variant)
    M = model.cfg.num_mem_tokens
    tokens = random_tokens(2, SEG)
    state = model.init_state(2)
    clean = model(tokens, state)

    def disturb_write_block(module, args):
        h = args[0].clone()
        h[:, -M:] += torch.randn_like(h[:, -M:])
        return (h,) + args[1:]

    handles = [b.register_forward_pre_hook(disturb_write_block) for b in model.blocks]
    try:
        noisy = model(tokens, state)
    finally:
        for h in handles:
            h.remove()
    assert torch.equal(clean.logits, noisy.logits)
    assert not torch.allclose(clean.state.memory, noisy.state.memory)  # the hook did act


def test_rmt_without_memory_equals_segmented_transformer():
    transformer = make_model("transformer")
    rmt = make_model("rmt", num_mem_tokens=0)
    rmt.load_state_dict(transformer.state_dict())
    tokens = random_tokens(3, 10)
    assert torch.equal(run_segments(rmt, tokens, SEG).logits, run_segments(transformer, tokens, SEG).logits)


def reference_causal_lm(model, tokens):
    """A plain causal LM written independently of rmt_lite's forward, with the model's weights:
    pre-LN blocks, rotary positions on (i, i + d/2) pairs via complex numbers, softmax attention."""
    cfg = model.cfg
    H, Dh = cfg.n_heads, cfg.d_model // cfg.n_heads
    B, T = tokens.shape
    x = model.embed.weight[tokens] * math.sqrt(cfg.d_model)
    freq = cfg.rope_base ** (-torch.arange(Dh // 2, dtype=torch.float64) / (Dh // 2))
    rot = torch.polar(torch.ones(T, Dh // 2, dtype=torch.float64), torch.arange(T, dtype=torch.float64)[:, None] * freq)

    def rope(t):  # t [B, H, T, Dh]
        c = torch.complex(t[..., : Dh // 2], t[..., Dh // 2 :]) * rot
        return torch.cat((c.real, c.imag), dim=-1)

    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    for blk in model.blocks:
        a = F.layer_norm(x, (cfg.d_model,), blk.ln1.weight, blk.ln1.bias)
        q, k, v = (a @ blk.attn.qkv.weight.T + blk.attn.qkv.bias).split(cfg.d_model, dim=-1)
        q, k, v = (t.view(B, T, H, Dh).transpose(1, 2) for t in (q, k, v))
        scores = rope(q) @ rope(k).transpose(-1, -2) / math.sqrt(Dh)
        att = scores.masked_fill(future, float("-inf")).softmax(-1) @ v
        x = x + att.transpose(1, 2).reshape(B, T, -1) @ blk.attn.out.weight.T + blk.attn.out.bias
        m = F.layer_norm(x, (cfg.d_model,), blk.ln2.weight, blk.ln2.bias)
        x = x + blk.mlp(m)
    x = F.layer_norm(x, (cfg.d_model,), model.ln_f.weight, model.ln_f.bias)
    return x @ model.embed.weight.T


def test_one_segment_transformer_equals_plain_causal_lm():
    model = make_model("transformer")
    tokens = random_tokens(2, 9)
    ours = run_segments(model, tokens, segment_len=9).logits
    torch.testing.assert_close(ours, reference_causal_lm(model, tokens), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "variant,carries", [("rmt", True), ("xl", True), ("rmt_xl", True), ("transformer", False), ("mt", False)]
)
def test_segment_two_depends_on_segment_one(variant, carries):
    model = make_model(variant)
    tokens = random_tokens(2, 2 * SEG)
    a = run_segments(model, tokens, SEG).logits[:, SEG:]
    changed = tokens.clone()
    changed[:, :SEG] = random_tokens(2, SEG, seed=7)
    b = run_segments(model, changed, SEG).logits[:, SEG:]
    if carries:
        assert not torch.allclose(a, b)
    else:
        assert torch.equal(a, b)


def gradient_reach(model, n_segments, bptt_depth=None):
    return analysis.gradient_reach(model, random_tokens(2, n_segments * SEG), SEG, bptt_depth)


def test_gradient_reaches_the_first_segment_with_full_bptt():
    reach = gradient_reach(make_model("rmt"), 4)
    assert (reach > 0).all()


@pytest.mark.parametrize("variant", ["xl", "transformer", "mt"])
def test_no_gradient_reaches_earlier_segments_without_memory_bptt(variant):
    reach = gradient_reach(make_model(variant), 4)
    assert reach[-1] > 0
    assert torch.equal(reach[:-1], torch.zeros(3, dtype=torch.float64))


@pytest.mark.parametrize("variant", ["rmt", "rmt_xl"])
@pytest.mark.parametrize("depth", [0, 1, 2])
def test_truncated_bptt_stops_exactly_at_its_depth(variant, depth):
    reach = gradient_reach(make_model(variant), 5, bptt_depth=depth)
    last = 4
    assert (reach[last - depth :] > 0).all()
    assert torch.equal(reach[: last - depth], torch.zeros(last - depth, dtype=torch.float64))


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_truncated_bptt_changes_gradients_not_values(depth):
    model = make_model("rmt_xl")
    tokens = random_tokens(2, 5 * SEG)
    full = run_segments(model, tokens, SEG, targets=tokens.roll(-1, 1))
    trunc = run_segments(model, tokens, SEG, targets=tokens.roll(-1, 1), bptt_depth=depth)
    torch.testing.assert_close(full.logits, trunc.logits, rtol=0, atol=1e-12)
    torch.testing.assert_close(full.loss, trunc.loss, rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", ["rmt", "rmt_xl", "xl"])
def test_checkpointed_segments_give_the_same_gradients(variant):
    tokens = random_tokens(2, 4 * SEG)
    grads = []
    for ckpt in (False, True):
        model = make_model(variant).train()
        run_segments(model, tokens, SEG, targets=tokens.roll(-1, 1), checkpoint_segments=ckpt).loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for g_full, g_ckpt in zip(*grads):
        torch.testing.assert_close(g_full, g_ckpt, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", DECODERS)
def test_streaming_equals_one_shot(variant):
    model = make_model(variant)
    tokens = random_tokens(3, 11)
    one_shot = run_segments(model, tokens, SEG)
    state, logits = model.init_state(3), []
    for start in range(0, 11, SEG):
        out = model(tokens[:, start : start + SEG], state)
        state = out.state
        logits.append(out.logits)
    assert torch.equal(torch.cat(logits, dim=1), one_shot.logits)
    if one_shot.state.memory is not None:
        assert torch.equal(state.memory, one_shot.state.memory)


@pytest.mark.parametrize("variant", DECODERS)
@pytest.mark.parametrize("prompt_len", [1, 4, 6])
def test_greedy_generation_equals_argmax_of_teacher_forced_logits(variant, prompt_len):
    model = make_model(variant)
    prompt = random_tokens(3, prompt_len)
    seq = generate(model, prompt, max_new_tokens=10, segment_len=SEG)
    assert seq.shape == (3, prompt_len + 10)
    assert torch.equal(seq[:, :prompt_len], prompt)
    logits = run_segments(model, seq, SEG).logits
    assert torch.equal(logits[:, prompt_len - 1 : -1].argmax(-1), seq[:, prompt_len:])


@pytest.mark.parametrize("variant", DECODERS)
def test_extending_the_open_segment_equals_recomputing_it(variant):
    model = make_model(variant)
    tokens = random_tokens(2, SEG + 3)
    state = model(tokens[:, :SEG], model.init_state(2)).state  # memory and cache of a full segment
    whole = model(tokens[:, SEG:], state).logits  # the open segment in one pass
    first, past = model.extend(tokens[:, SEG : SEG + 2], state)  # ... and grown 2 + 1 tokens
    last, past = model.extend(tokens[:, SEG + 2 :], state, past)
    torch.testing.assert_close(torch.cat((first, last), dim=1), whole, rtol=1e-10, atol=1e-10)
    assert len(past) == model.cfg.n_layers
    assert past[0].shape[1] == 3 + (model.cfg.num_mem_tokens if model.cfg.has_memory else 0)


@pytest.mark.parametrize("variant", DECODERS)
def test_attention_weights_path_equals_fused_path(variant):
    model = make_model(variant)
    tokens = random_tokens(2, 10)
    fused = run_segments(model, tokens, SEG)
    explicit = run_segments(model, tokens, SEG, return_attention=True)
    torch.testing.assert_close(fused.logits, explicit.logits, rtol=1e-10, atol=1e-10)
    for out in explicit.outputs:
        for weights in out.attentions:
            torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))


def test_attention_weights_are_zero_where_the_mask_blocks():
    from rmt_lite import attention_mask

    model = make_model("rmt_xl", read_mem_from_cache=False)
    out = run_segments(model, random_tokens(2, 2 * SEG), SEG, return_attention=True).outputs[1]
    blocked = attention_mask(2, SEG, 3, write_mem=True)
    for weights in out.attentions:
        assert torch.equal(weights[..., blocked], torch.zeros_like(weights[..., blocked]))


def test_xl_cache_is_detached_and_bounded():
    model = make_model("xl").train()
    out = run_segments(model, random_tokens(2, 3 * SEG), SEG)
    assert all(c.shape == (2, 3, model.cfg.d_model) and not c.requires_grad for c in out.state.cache)


def test_shared_memory_init_repeats_one_vector_and_distinct_does_not():
    shared = make_model("rmt", num_mem_tokens=3, mem_init="shared").initial_memory
    distinct = make_model("rmt", num_mem_tokens=3).initial_memory
    assert torch.equal(shared[0], shared[1]) and torch.equal(shared[1], shared[2])
    assert not torch.equal(distinct[0], distinct[1])


def test_memory_init_std_scales_the_initial_memory():
    for init in ("distinct", "shared"):
        unit = make_model("rmt", num_mem_tokens=3, mem_init=init).initial_memory
        small = make_model("rmt", num_mem_tokens=3, mem_init=init, mem_init_std=0.1).initial_memory
        torch.testing.assert_close(small, 0.1 * unit)  # same seed: the same draw, scaled


@pytest.mark.parametrize("variant", ["rmt", "mt"])
def test_a_memory_position_gap_moves_only_the_memory(variant):
    """A gap between memory and text changes what the tokens read from memory, and extending
    the open segment still equals recomputing it."""
    near, far = make_model(variant), make_model(variant, mem_pos_gap=50)
    tokens = random_tokens(2, 2 * SEG)
    a, b = run_segments(near, tokens, SEG), run_segments(far, tokens, SEG)
    assert not torch.allclose(a.logits, b.logits)
    state = far(tokens[:, :SEG], far.init_state(2)).state
    whole = far(tokens[:, SEG:], state).logits
    first, past = far.extend(tokens[:, SEG : SEG + 1], state)
    rest, _ = far.extend(tokens[:, SEG + 1 :], state, past)
    torch.testing.assert_close(torch.cat((first, rest), dim=1), whole, rtol=1e-10, atol=1e-10)


def test_a_memory_position_gap_skips_positions_after_each_memory_block():
    """Read block at positions 0..M-1, text from M+G on, write block G positions after the text."""
    model = make_model("rmt", mem_pos_gap=7)
    M, T = model.cfg.num_mem_tokens, 5
    rows = model._rope_rows(0, M, T, M, "cpu", torch.float64)
    table = model._rope(M + T + M + 14, "cpu", torch.float64)
    torch.testing.assert_close(rows[:M], table[:M])
    torch.testing.assert_close(rows[M : M + T], table[M + 7 : M + 7 + T])
    torch.testing.assert_close(rows[M + T :], table[M + 14 + T :])


def test_fixed_seed_gives_bit_identical_losses():
    def train(seed):
        torch.manual_seed(seed)
        model = make_model("rmt", seed=seed, dropout=0.1).float().train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        losses = []
        for step in range(4):
            tokens = random_tokens(4, 3 * SEG, seed=step)
            loss = run_segments(model, tokens, SEG, targets=tokens.roll(-1, 1)).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    assert train(3) == train(3)
    assert train(3) != train(4)


@pytest.mark.parametrize("variant", ["rmt", "rmt_xl", "xl"])
@pytest.mark.parametrize("depth", [None, 0, 1, 2])
@pytest.mark.parametrize("ckpt", [False, True])
def test_backward_inside_the_run_gives_the_gradient_of_the_loss(variant, depth, ckpt):
    """backward=scale: each segment's loss back-propagates as soon as it is known (truncated BPTT),
    or the total at the end; the gradient is that of scale * loss, the loss value the same."""
    tokens = random_tokens(2, 5 * SEG)
    mask = torch.rand(tokens.shape, generator=torch.Generator().manual_seed(1)) > 0.3
    kw = dict(targets=tokens.roll(-1, 1), loss_mask=mask, bptt_depth=depth, checkpoint_segments=ckpt)
    runs = []
    for inside in (False, True):
        model = make_model(variant).train()
        out = run_segments(model, tokens, SEG, backward=0.5 if inside else None, **kw)
        if not inside:
            (out.loss * 0.5).backward()
        assert out.loss.requires_grad != inside and out.logits.requires_grad != inside
        runs.append((out.loss.detach(), [p.grad for p in model.parameters()]))
    (loss_a, grads_a), (loss_b, grads_b) = runs
    torch.testing.assert_close(loss_a, loss_b, rtol=0, atol=1e-12)
    assert sum(g is not None for g in grads_a) == sum(g is not None for g in grads_b) > 0
    for ga, gb in zip(grads_a, grads_b):
        if ga is not None:
            torch.testing.assert_close(ga, gb, rtol=1e-10, atol=1e-12)


def test_backward_inside_the_run_needs_targets():
    with pytest.raises(ValueError, match="backward is not allowed without targets"):
        run_segments(make_model("rmt"), random_tokens(2, 2 * SEG), SEG, backward=1.0)
