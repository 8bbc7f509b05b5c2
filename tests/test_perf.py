"""Performance work that must not change behaviour: rotary layouts, memory-efficient BPTT, the
benchmark's exact memory and FLOP counters (no timing assertions here)."""

import pytest
import torch
from conftest import make_model, random_tokens
from torch.utils.flop_counter import FlopCounterMode

from rmt_lite import run_segments
from rmt_lite.model import _rotate_pairs
from rmt_lite.tools.bench import (
    TARGETS,
    PeakMemory,
    main,
    markdown_tables,
    measured,
    model_flops,
    profile_step,
    target_rows,
)
from rmt_lite.tools.step_profile import step_split

SEG = 4


def _tables(dtype, length=5, heads=3, half=4):
    """A rotary table over the heads ([length, heads * half], one angle per pair, the same for every
    head) in its complex and its real (cos, sin) form."""
    angles = (torch.arange(length, dtype=dtype)[:, None] * torch.rand(half, dtype=dtype)).repeat(1, heads)
    return torch.complex(angles.cos(), angles.sin()), torch.stack((angles.cos(), angles.sin()), dim=-1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_complex_and_real_rotary_paths_agree(dtype):
    x = torch.randn(2, 5, 3, 8, dtype=dtype)
    rot, real = _tables(dtype)
    if dtype == torch.float64:  # exactly; in float32 the vectorised complex product rounds differently
        assert torch.equal(_rotate_pairs(x, rot), _rotate_pairs(x, real))
    else:
        torch.testing.assert_close(_rotate_pairs(x, rot), _rotate_pairs(x, real), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("heads, d_head", [(4, 32), (3, 8), (5, 82)])
def test_rotary_turns_each_pair_of_each_head_by_its_positions_angle(heads, d_head):
    """Pair (x[2i], x[2i+1]) of every head at position p is turned by angle p * f_i: the product
    of each head with its own [L, d_head/2] table, on a strided slice as q and k are. Bit for bit
    at the cpu profile's heads (4 of 32); where d_head/2 is not a multiple of the vector width,
    the last pairs may round one unit apart (scalar and vector complex products)."""
    half = d_head // 2
    qkv = torch.randn(2, 5, 3, heads, d_head)  # [B, L, q/k/v, H, Dh], as the projection's output is viewed
    rot, _ = _tables(torch.float32, heads=heads, half=half)
    for x in qkv.unbind(2):
        turned = torch.view_as_complex(x.reshape(2, 5, heads, half, 2)) * rot[:, None, :half]
        expected = torch.view_as_real(turned).view(2, 5, heads, d_head)
        if d_head == 32:
            assert torch.equal(_rotate_pairs(x, rot), expected)
        torch.testing.assert_close(_rotate_pairs(x, rot), expected, rtol=1e-6, atol=1e-6)


def test_bfloat16_model_runs_on_the_real_rotary_path():
    model = make_model("rmt_xl").to(torch.bfloat16)
    logits = run_segments(model, random_tokens(2, 10), SEG).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()


@pytest.mark.parametrize("bptt_depth", [None, 2])
def test_checkpointed_segments_equal_plain_bptt_over_many_segments(bptt_depth):
    tokens = random_tokens(2, 9 * SEG)
    grads = []
    for ckpt in (False, True):
        model = make_model("rmt").train()
        out = run_segments(
            model, tokens, SEG, targets=tokens.roll(-1, 1), bptt_depth=bptt_depth, checkpoint_segments=ckpt
        )
        out.loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for g_plain, g_ckpt in zip(*grads):
        torch.testing.assert_close(g_plain, g_ckpt, rtol=1e-10, atol=1e-12)


def test_peak_memory_counts_live_storages():
    with PeakMemory() as pm:
        a = torch.empty(1024, 256)  # 1 MiB
        b = a[:10]  # a view: no new storage
        del a, b
        c = torch.empty(512, 256)
        del c
    assert pm.peak == 2**20 and pm.live == 0


def peak_of(model, n_segments, **kw):
    tokens = random_tokens(4, n_segments * SEG)
    with PeakMemory() as pm:
        run_segments(model, tokens, SEG, targets=tokens.roll(-1, 1), **kw).loss.backward()
    model.zero_grad(set_to_none=True)
    return pm.peak


def test_checkpointed_bptt_memory_stays_flat_while_full_bptt_grows():
    model = make_model("rmt", d_model=64, d_ff=128).train()
    ckpt = {n: peak_of(model, n, checkpoint_segments=True) for n in (2, 16)}
    full = {n: peak_of(model, n) for n in (2, 16)}
    assert ckpt[16] <= 2 * ckpt[2]
    assert full[16] >= 4 * full[2]


@pytest.mark.parametrize("variant", ["transformer", "rmt", "xl", "rmt_xl"])
def test_model_flops_equal_the_counted_matmul_flops(variant):
    model = make_model(variant)
    with FlopCounterMode(display=False) as fc:  # explicit attention: every matmul is counted
        run_segments(model, random_tokens(2, 3 * SEG), SEG, return_attention=True)
    assert model_flops(model.cfg, 2, SEG, 3, training=False) == fc.get_total_flops()


def test_bench_quick_run_writes_csv_and_summary(tmp_path):
    summary = main(["--quick", "--parts", "lm_eval", "--rounds", "1", "--threads", "1", "--out", str(tmp_path)])
    assert (tmp_path / "lm_eval.csv").read_text().startswith("model,")
    assert (tmp_path / "summary.json").exists()
    assert summary["machine"]["torch"] == torch.__version__ and summary["lm_eval"]["rmt"] > 0
    assert "| model | segment_len |" in markdown_tables(tmp_path)
    targets = (tmp_path / "targets.csv").read_text().splitlines()
    assert len(targets) == 1 + len(TARGETS)
    assert any(t.startswith('"stream evaluation tokens/s, rmt / transformer",0.') for t in targets)
    assert summary["targets"]["stream evaluation tokens/s, rmt / transformer"] > 0


def test_each_target_is_met_on_its_side_of_the_bound_and_unmeasured_ones_say_so():
    out: dict = {}
    measured(out, "rmt tokens/s / peer's, 1 thread", 1.3)  # at least 1.3: met at the bound
    measured(out, "truncated BPTT (k=2) step time / full BPTT's, 32 segments", 3.2)  # at most 3
    rows = {r["target"]: r for r in target_rows(out["targets"])}
    assert rows["rmt tokens/s / peer's, 1 thread"]["met"] == "yes"
    assert rows["truncated BPTT (k=2) step time / full BPTT's, 32 segments"]["met"] == "no"
    assert rows["rmt tokens/s / peer's, 2 threads"] == dict(
        target="rmt tokens/s / peer's, 2 threads", measured="-", bound="at least 1.3", met="-"
    )
    with pytest.raises(ValueError, match="'speed' is not allowed"):
        measured(out, "speed", 1.0)


def test_the_step_split_is_the_bare_step_less_its_kernels():
    row = step_split(rounds=1, warmup=0)
    assert 0 < row["matmul_ms"] < row["profiled_ms"] and 0 < row["sdpa_ms"] < row["profiled_ms"]
    assert row["rest_ms"] == pytest.approx(row["step_ms"] - row["matmul_ms"] - row["sdpa_ms"], abs=2e-3)
    assert row["rest_share"] == pytest.approx(row["rest_ms"] / row["step_ms"], abs=2e-3)


def test_the_profile_of_a_step_names_the_matrix_multiplications_and_their_time():
    text = profile_step(steps=1, warmup=0)
    assert "aten::mm" in text
    matmul = float(text.split("matrix multiplications ")[1].split(" ms")[0])
    total = float(text.split("per step: ")[1].split(" ms")[0])
    bare = float(text.split("under the profiler, ")[1].split(" ms")[0])
    assert 0 < matmul < total and bare > 0
