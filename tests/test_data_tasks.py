"""data_gen.tasks and data_gen.quadratic: layouts against hand-written examples, determinism, held-out samples, the
quadratic-equation checker on many generated and corrupted samples."""

import math
import random

import pytest
import torch
from data_fixtures import quadratic_row

from data_gen import (
    QuadraticCheckError,
    TaskBatch,
    answer_correct,
    check_quadratic_batch,
    check_quadratic_sample,
    make_task,
    render_quadratic,
)
from data_gen.quadratic import CHAR_TO_ID


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rows(batch: TaskBatch) -> set:
    return {tuple(r) for r in batch.tokens.tolist()}


# -- layouts ----------------------------------------------------------------------------------------


def test_paper_sizes():
    copy, rev, ret, quad = (make_task(n) for n in ("copy", "reverse", "retrieval", "quadratic"))
    assert (copy.seq_len, copy.answer_len, copy.vocab_size, copy.num_symbols) == (72, 48, 12, 10)
    assert (rev.seq_len, rev.answer_len, rev.vocab_size, rev.num_symbols) == (48, 24, 12, 10)
    assert (ret.seq_len, ret.answer_len, ret.vocab_size, ret.num_symbols) == (10, 1, 37, 10)
    assert (quad.seq_len, quad.answer_len, quad.vocab_size) == (180, 150, 24)
    assert quad.seq_len % 30 == 0 and quad.seq_len // 30 == 6
    for t in (copy, rev, ret, quad):
        b = t.batch(3, gen())
        assert b.tokens.shape == b.targets.shape == b.loss_mask.shape == (3, t.seq_len)
        assert b.tokens.dtype == b.targets.dtype == torch.long and b.loss_mask.dtype == torch.bool
        assert b.loss_mask.sum(dim=1).tolist() == [t.answer_len] * 3
        assert b.loss_mask[:, -t.answer_len :].all()
        assert int(b.tokens.max()) < t.vocab_size and int(b.targets.max()) < t.vocab_size
        # targets[:, i] is the token after tokens[:, i]
        assert torch.equal(b.tokens[:, 1:], b.targets[:, :-1])


def test_copy_layout_hand_written():
    t = make_task("copy", length=4, num_symbols=10)
    b = t._make_batch(torch.tensor([[2, 5, 9, 3]]))
    assert b.tokens.tolist() == [[2, 5, 9, 3, 1, 2, 5, 9, 3, 2, 5, 9]]
    assert b.targets.tolist() == [[5, 9, 3, 1, 2, 5, 9, 3, 2, 5, 9, 3]]
    assert b.loss_mask.tolist() == [[False] * 4 + [True] * 8]
    assert t.decode(b.tokens[0]) == "adhb>adhbadh"
    assert t.decode([0, 1, 11]) == "_>j"


def test_reverse_layout_hand_written():
    t = make_task("reverse", length=4)
    b = t._make_batch(torch.tensor([[2, 5, 9, 3]]))
    assert b.tokens.tolist() == [[2, 5, 9, 3, 1, 3, 9, 5]]
    assert b.targets.tolist() == [[5, 9, 3, 1, 3, 9, 5, 2]]
    assert b.loss_mask.tolist() == [[False] * 4 + [True] * 4]


def test_copy_reverse_random_batches_follow_the_format():
    L = 24
    for name in ("copy", "reverse"):
        t = make_task(name, length=L, num_symbols=8)
        b = t.batch(64, gen(1))
        full = torch.cat([b.tokens, b.targets[:, -1:]], dim=1)
        x = full[:, :L]
        assert ((x >= 2) & (x <= 9)).all()
        assert (full[:, L] == 1).all()
        want = torch.cat([x, x], 1) if name == "copy" else x.flip(1)
        assert torch.equal(full[:, L + 1 :], want)
        assert b.targets[b.loss_mask].ne(0).all()
        assert len(set(x.flatten().tolist())) == 8  # all symbols in use


def test_retrieval_layout_hand_written():
    t = make_task("retrieval", num_pairs=4)
    # keys 11 12 13 14 ('a'..'d'), values 3 0 9 1, query index 2 -> key 13, answer 9
    b = t._make_batch(torch.tensor([[11, 12, 13, 14, 3, 0, 9, 1, 2]]))
    assert b.tokens.tolist() == [[11, 3, 12, 0, 13, 9, 14, 1, 13, 10]]
    assert b.targets.tolist() == [[3, 12, 0, 13, 9, 14, 1, 13, 10, 9]]
    assert b.loss_mask.tolist() == [[False] * 9 + [True]]
    assert t.decode(b.tokens[0]) == "a3b0c9d1c?"
    assert t.decode(b.targets[0]) == "3b0c9d1c?9"


def test_retrieval_random_batches_follow_the_format():
    t = make_task("retrieval", num_pairs=4)
    b = t.batch(512, gen(2))
    full = torch.cat([b.tokens, b.targets[:, -1:]], dim=1)
    keys, values = full[:, 0:8:2], full[:, 1:8:2]
    assert ((keys >= 11) & (keys <= 36)).all() and ((values >= 0) & (values <= 9)).all()
    for k, v, q, mark, ans in zip(
        keys.tolist(), values.tolist(), full[:, 8].tolist(), full[:, 9].tolist(), full[:, 10].tolist()
    ):
        assert len(set(k)) == 4 and len(set(v)) == 4 and mark == 10
        assert q in k and ans == v[k.index(q)]
    # values 0 and 1 appear as values: the reference format reuses the pad and start ids
    assert (values == 0).any() and (values == 1).any()


def test_quadratic_layout_hand_written():
    t = make_task("quadratic")
    # kind 0 = real roots (-3, 5), k = 2: 2*(x^2 - 2x - 15)
    b = t._make_batch(torch.tensor([[0, -3, 5, 2], [1, 4, 5, -1], [0, 7, 7, 1]]))
    assert render_quadratic(2, -2, -15) == [
        "2*x^2-4*x-30=0",
        "x^2-2*x-15=0",
        "D=2^2-4*1*-15=64=8^2",
        "x=(2-8)/2=-3",
        "x=(2+8)/2=5",
        "-3,5",
    ]
    assert b.targets[0].tolist() == quadratic_row(render_quadratic(2, -2, -15))
    assert (
        t.decode(b.targets[0])
        == "2*x^2-4*x-30=0 | x^2-2*x-15=0 | D=2^2-4*1*-15=64=8^2 | x=(2-8)/2=-3 | x=(2+8)/2=5 | -3,5"
    )
    assert b.targets[0, 150:155].tolist() == [13, 5, 23, 7, 0]  # "-3,5" then padding
    assert b.targets[1].tolist() == quadratic_row(["-x^2-4*x-5=0", "x^2+4*x+5=0", "D=4^2-4*1*5=-4", "", "", ""])
    assert b.targets[2].tolist() == quadratic_row(
        ["x^2-14*x+49=0", "x^2-14*x+49=0", "D=14^2-4*1*49=0=0^2", "x=(14-0)/2=7", "x=(14+0)/2=7", "7"]
    )
    assert (b.tokens[:, 0] == 1).all() and torch.equal(b.tokens[:, 1:], b.targets[:, :-1])
    assert b.loss_mask[0].tolist() == [False] * 30 + [True] * 150
    assert t.decode(b.tokens[1]) == ">-x^2-4*x-5=0 | x^2+4*x+5=0 | D=4^2-4*1*5=-4"
    assert CHAR_TO_ID["0"] == 2 and CHAR_TO_ID["9"] == 11 and CHAR_TO_ID["+"] == 12 and CHAR_TO_ID[","] == 23


def test_quadratic_longest_chunk_fits():
    # the discriminant chunk is the longest: 28 characters + padding in 30
    assert len(render_quadratic(-10, 88 - 0, -1089 + 0)[2]) <= 29
    with pytest.raises(ValueError, match="chunk_len must be >= 29"):
        make_task("quadratic", chunk_len=28)
    small = make_task("quadratic", root_range=9, k_max=3, chunk_len=26)
    check_quadratic_batch(small.batch(300, gen()), small)


# -- determinism and held-out samples -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["copy", "reverse", "retrieval", "quadratic"])
def test_same_seed_same_batch_and_fixed_sets(name):
    t = make_task(name)
    a, b, c = t.batch(16, gen(7)), t.batch(16, gen(7)), t.batch(16, gen(8))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.tokens, c.tokens)
    torch.manual_seed(1)
    v1 = t.fixed_set("valid", 50)
    torch.manual_seed(2)
    _ = torch.rand(100)
    v2 = t.fixed_set("valid", 80)
    assert torch.equal(v1.tokens, v2.tokens[:50])  # deterministic, global RNG ignored, prefix-stable
    assert torch.equal(make_task(name).fixed_set("test", 20).tokens, t.fixed_set("test", 20).tokens)
    te = t.fixed_set("test", 80)
    assert not rows(v2) & rows(te)  # different splits differ
    assert len(rows(te)) == 80


def test_train_stream_never_yields_held_out_samples():
    # small sample spaces where collisions are certain without the filter
    for t in (
        make_task("copy", length=5, num_symbols=4),
        make_task("retrieval", num_pairs=2),
        make_task("quadratic", root_range=9, k_max=3, no_root_fraction=0.0, chunk_len=26),
    ):
        assert t.holdout
        held = rows(t.fixed_set("test", 5)) | rows(t.fixed_set("valid", 5))
        g = gen(3)
        seen = set()
        for _ in range(8):
            seen |= rows(t.batch(500, g))
        assert not seen & held, t
        assert len(seen) > 100
    # the paper's copy task (10^24 samples) needs no filter: separate seeds
    assert not make_task("copy").holdout and make_task("retrieval").holdout and make_task("quadratic").holdout


def test_small_space_errors():
    t = make_task("copy", length=5, num_symbols=4)  # 1024 samples: about 16 per held-out bucket
    with pytest.raises(ValueError, match="cannot be filled"):
        t.fixed_set("test", 200)
    with pytest.raises(ValueError, match="distinct samples"):
        make_task("copy", length=3, num_symbols=4)


def test_make_task_errors():
    with pytest.raises(ValueError, match=r"unknown task name 'sort'.*copy.*quadratic.*retrieval.*reverse"):
        make_task("sort")
    with pytest.raises(ValueError, match=r"unknown parameter 'num_keys'.*num_pairs"):
        make_task("retrieval", num_keys=3)
    with pytest.raises(ValueError, match=r"length=0.*integer >= 1"):
        make_task("copy", length=0)
    with pytest.raises(ValueError, match=r"num_symbols=1"):
        make_task("reverse", num_symbols=1)
    with pytest.raises(ValueError, match=r"num_pairs=11.*\[1, 10\]"):
        make_task("retrieval", num_pairs=11)
    with pytest.raises(ValueError, match=r"no_root_fraction=1.5"):
        make_task("quadratic", no_root_fraction=1.5)
    t = make_task("copy")
    with pytest.raises(ValueError, match="split='train'"):
        t.fixed_set("train", 10)
    with pytest.raises(ValueError, match="batch_size=0"):
        t.batch(0, gen())
    with pytest.raises(ValueError, match="torch.Generator"):
        t.batch(2, 0)
    with pytest.raises(ValueError, match="one sequence"):
        t.decode(torch.zeros(2, 3, dtype=torch.long))


def test_answer_correct_and_batch_helpers():
    t = make_task("copy", length=6)
    b = t.fixed_set("test", 4)
    pred = b.targets.clone()
    assert t.answer_correct(pred, b).tolist() == [True] * 4
    pred[1, 0] += 1  # unscored position
    pred[2, -1] = 0  # scored position
    assert t.answer_correct(pred, b).tolist() == [True, True, False, True]
    assert answer_correct(pred, b).tolist() == [True, True, False, True]
    q = make_task("quadratic")
    qb = q.fixed_set("valid", 3)
    qp = qb.targets.clone()
    qp[0, 40] = 5  # wrong step, right answer chunk
    qp[1, 170] = 9  # wrong answer chunk
    assert q.answer_correct(qp, qb).tolist() == [True, False, True]
    assert answer_correct(qp, qb, q).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="shaped like batch.targets"):
        q.answer_correct(qp[:, :10], qb)
    assert len(b[1:3]) == 2 and torch.equal(b[1].tokens, b.tokens[1:2])
    assert b.to("cpu").tokens.device.type == "cpu"


# -- the quadratic checker -----------------------------------------------------------------------------


def test_checker_accepts_many_generated_samples():
    t = make_task("quadratic")
    b = t.batch(3000, gen(11))
    params = check_quadratic_batch(b, t)
    no_root = sum(1 for k, bb, c in params if bb * bb - 4 * c < 0)
    assert 0.17 < no_root / len(params) < 0.23
    ks = {k for k, _, _ in params}
    assert ks == set(range(-10, 0)) | set(range(1, 11))
    assert check_quadratic_batch(t.fixed_set("test", 300), t)


def test_checker_proves_every_sample_of_the_small_range_variant_claim_5_rests_on():
    from rmt_lite import resolve

    cfg = resolve("quadratic_small", "rmt", "cpu")
    t = make_task("quadratic", **cfg.task)
    params = check_quadratic_batch(t.batch(2000, gen(5)), t)
    assert max(max(abs(r) for r in roots) for roots in _roots(params)) <= 25
    test, valid = t.fixed_set("test", cfg.test_size), t.fixed_set("valid", cfg.eval_size)
    assert check_quadratic_batch(test, t) and check_quadratic_batch(valid, t)
    rootless = float((test.targets[:, -t.chunk_len :] == 0).all(dim=1).float().mean())
    assert 0.15 < rootless < 0.3  # the paper's share, within the spread of a held-out set this size


def test_held_out_real_roots_counts_what_the_sampler_can_draw_for_the_split():
    from data_gen.tasks import _buckets

    task = make_task("quadratic", root_range=5, k_max=2)
    p = task._sample_params(100_000, gen(0))
    for split, bucket in (("test", 0), ("valid", 1)):
        real = p[(p[:, 0] == 0) & (_buckets(p) == bucket)]
        assert task.held_out_real_roots(split) == len({tuple(r) for r in real.tolist()})
    with pytest.raises(ValueError, match="split='train' is not allowed"):
        task.held_out_real_roots("train")


def _roots(params):
    """The real roots of each ``(k, b, c)`` with a real root."""
    out = []
    for _, b, c in params:
        d = b * b - 4 * c
        if d >= 0:
            s = math.isqrt(d)
            out.append(((-b - s) // 2, (-b + s) // 2))
    return out


GOOD = ["2*x^2-4*x-30=0", "x^2-2*x-15=0", "D=2^2-4*1*-15=64=8^2", "x=(2-8)/2=-3", "x=(2+8)/2=5", "-3,5"]
BAD = {
    "not k times": ["2*x^2-4*x-31=0"] + GOOD[1:],
    "k zero": ["0*x^2=0"] + GOOD[1:],
    "k too big": ["11*x^2-22*x-165=0"] + GOOD[1:],
    "canonical not monic": [GOOD[0], "2*x^2-4*x-30=0"] + GOOD[2:],
    "explicit 1": ["2*x^2-4*x-30=0", "1*x^2-2*x-15=0"] + GOOD[2:],
    "wrong D": GOOD[:2] + ["D=2^2-4*1*-15=60=8^2"] + GOOD[3:],
    "wrong |b|": GOOD[:2] + ["D=3^2-4*1*-15=64=8^2"] + GOOD[3:],
    "wrong sqrt": GOOD[:2] + ["D=2^2-4*1*-15=64=7^2"] + GOOD[3:],
    "wrong root": GOOD[:3] + ["x=(2-8)/2=-4"] + GOOD[4:],
    "root step uses b": GOOD[:3] + ["x=(-2-8)/2=-5"] + GOOD[4:],
    "swapped root steps": GOOD[:3] + [GOOD[4], GOOD[3]] + GOOD[5:],
    "unsorted answer": GOOD[:5] + ["5,-3"],
    "missing root": GOOD[:5] + ["5"],
    "duplicate answer": [
        "x^2-14*x+49=0",
        "x^2-14*x+49=0",
        "D=14^2-4*1*49=0=0^2",
        "x=(14-0)/2=7",
        "x=(14+0)/2=7",
        "7,7",
    ],
    "no-root with steps": ["x^2+4*x+5=0", "x^2+4*x+5=0", "D=4^2-4*1*5=-4", "x=(-4-0)/2=-2", "", ""],
    "no-root with sqrt": ["x^2+4*x+5=0", "x^2+4*x+5=0", "D=4^2-4*1*5=-4=2^2", "", "", ""],
    "real roots missing steps": GOOD[:3] + ["", "", ""],
    "leading zero": GOOD[:5] + ["-3,05"],
    "minus zero": ["x^2=0", "x^2=0", "D=0^2-4*1*-0=0=0^2", "x=(0-0)/2=0", "x=(0+0)/2=0", "0"],
    "garbage": ["x^2+=0"] + GOOD[1:],
}


def test_checker_accepts_the_good_example():
    assert check_quadratic_sample(quadratic_row(GOOD)) == (2, -2, -15)
    assert check_quadratic_sample(quadratic_row(BAD["duplicate answer"][:5] + ["7"])) == (1, -14, 49)


@pytest.mark.parametrize("what", sorted(BAD))
def test_checker_rejects_corrupted_samples(what):
    with pytest.raises(QuadraticCheckError):
        check_quadratic_sample(quadratic_row(BAD[what]))


def test_checker_rejects_layout_errors():
    row = quadratic_row(GOOD)
    with pytest.raises(QuadraticCheckError, match="expected 6 chunks"):
        check_quadratic_sample(row[:-1])
    bad = list(row)
    bad[5] = 0  # a hole inside the problem text
    with pytest.raises(QuadraticCheckError):
        check_quadratic_sample(bad)
    full = list(row)
    full[150:180] = [CHAR_TO_ID["1"]] * 30  # no padding left in the answer chunk
    with pytest.raises(QuadraticCheckError, match="no padding"):
        check_quadratic_sample(full)
    with pytest.raises(QuadraticCheckError, match="outside"):
        check_quadratic_sample(quadratic_row(GOOD), root_range=4)
    t = make_task("quadratic")
    b = t.fixed_set("test", 2)
    shifted = TaskBatch(b.targets.clone(), b.targets.clone(), b.loss_mask)
    with pytest.raises(QuadraticCheckError, match="start token"):
        check_quadratic_batch(shifted, t)


def test_random_single_token_corruptions_are_caught():
    t = make_task("quadratic")
    b = t.batch(400, gen(5))
    rng = random.Random(0)
    rejected = 0
    for i in range(len(b)):
        row = b.targets[i].tolist()
        text_end = max(j for j, v in enumerate(row) if v) + 2
        pos = rng.randrange(min(text_end, 180))
        new = rng.choice([v for v in range(24) if v != row[pos]])
        row[pos] = new
        try:
            k, bb, c = check_quadratic_sample(row)
        except QuadraticCheckError:
            rejected += 1
        else:  # accepted only if it is exactly another valid sample
            assert row == quadratic_row(render_quadratic(k, bb, c))
    assert rejected >= 0.97 * len(b)
