"""Memory analysis of chapter 07: the measurements (rmt_lite.repro.memory_analysis) and the figures
(rmt_lite.book.plots.memory). The chapter's tables and numbers are tested in test_chapters_memory.py."""

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rmt_lite import MemoryTransformer, RunRecord, resolve, run_segments  # noqa: E402
from rmt_lite.book.plots import memory as pm  # noqa: E402
from rmt_lite.curriculum import make_task  # noqa: E402
from rmt_lite.repro import memory_analysis as ma
from rmt_lite.repro import needle_analysis  # noqa: E402


def smoke_copy_model(seed=0):
    cfg = resolve("copy", "rmt", "smoke", 0)
    task = make_task(cfg)
    torch.manual_seed(seed)
    return MemoryTransformer(cfg.model_config(task.vocab_size)).eval(), cfg, task


# ---- probes -------------------------------------------------------------------------------------
def test_ridge_probe_decodes_a_linear_code_and_not_noise():
    g = torch.Generator().manual_seed(0)
    K, P, N = 5, 3, 600
    labels = torch.randint(0, K, (2 * N, P), generator=g)
    code = torch.nn.functional.one_hot(labels, K).float().flatten(1)  # [2N, P*K]: every label readable
    mixed = code @ torch.randn(P * K, P * K, generator=g)  # an invertible linear mix of it
    noise = torch.randn(2 * N, P * K, generator=g)  # unrelated to the labels
    x = torch.stack([mixed, noise])  # [G=2, 2N, F]
    acc = ma.ridge_probe(x[:, :N], labels[:N], x[:, N:], labels[N:], K, ridge=1e-4)
    assert acc.shape == (2, P)
    assert (acc[0] > 0.99).all()
    assert (acc[1] < 0.4).all()  # chance is 0.2


def test_ridge_probe_on_constant_features_answers_one_class():
    labels = torch.tensor([[0], [1], [1], [1], [2], [1]])
    x = torch.ones(1, 6, 4)
    acc = ma.ridge_probe(x[:, :4], labels[:4], x[:, 4:], labels[4:], 3)
    assert acc.item() == pytest.approx(0.5)  # always "1": right on 1 of 2


def test_ridge_probe_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"\[G, N, F\]"):
        ma.ridge_probe(torch.zeros(4, 3), torch.zeros(4, 1), torch.zeros(1, 4, 3), torch.zeros(4, 1), 2)
    with pytest.raises(ValueError, match="ridge"):
        ma.ridge_probe(torch.zeros(1, 4, 3), torch.zeros(4, 1), torch.zeros(1, 4, 3), torch.zeros(4, 1), 2, ridge=0)


# ---- measurements -------------------------------------------------------------------------------
def test_memory_states_start_at_m0_and_follow_the_runner():
    model, cfg, task = smoke_copy_model()
    b = task.fixed_set("test", 8)
    mem = ma.memory_states(model, b.tokens, cfg.segment_len, batch_size=3)
    n_seg = len(range(0, task.seq_len, cfg.segment_len))
    assert mem.shape == (n_seg + 1, 8, cfg.mem_size, cfg.d_model)
    assert torch.equal(mem[0, 0], model.initial_memory.detach())
    out = run_segments(model, b.tokens, cfg.segment_len)
    assert torch.allclose(mem[-1], out.state.memory, atol=1e-6)
    for t, o in enumerate(out.outputs, start=1):  # every state the runner passes on
        assert torch.allclose(mem[t], o.state.memory, atol=1e-6)


def test_needle_memory_scores_each_sample_whose_fact_needs_the_memory():
    from rmt_lite.evaluate import streamed_exact

    cfg = resolve("needle", "rmt", "smoke")
    task = make_task(cfg)
    torch.manual_seed(0)
    model = MemoryTransformer(cfg.model_config(task.vocab_size)).eval()
    length = 4 * task.length
    df = needle_analysis.needle_memory(model, cfg, length, n_train=40, n_test=30)
    longer = make_task(cfg, length)
    test = longer.fixed_set("test", 30)
    n = -(-longer.seq_len // cfg.segment_len)
    facts = torch.tensor([longer.place_position(t) // cfg.segment_len for t in test.tokens])  # the whole fact read
    needs = facts < n - 1  # a fact in the question's own segment needs no memory
    assert df["fact_segment"].tolist() == facts[needs].tolist() and set(df["segments"]) == {n}
    assert df["answered"].tolist() == streamed_exact(model, test, cfg.segment_len)[needs].tolist()
    assert df["written"].dtype == bool and df["kept"].dtype == bool
    with pytest.raises(ValueError, match="allowed: the needle, rmt"):
        needle_analysis.needle_memory(model, resolve("copy", "rmt", "smoke"), 12)


def test_named_answers_counts_right_answers_answers_among_the_named_places_and_their_chance():
    from rmt_lite.evaluate import streamed_exact

    over = {"num_distractors": 2, "num_places": 4, "length": 32, "curriculum": ""}
    cfg = resolve("needle", "rmt", "smoke", 0, over)
    task = make_task(cfg)
    torch.manual_seed(0)
    model = MemoryTransformer(cfg.model_config(task.vocab_size)).eval()
    out = needle_analysis.named_answers(model, cfg, n_samples=40)
    test = task.fixed_set("test", 40)
    assert out["right"] == int(streamed_exact(model, test, cfg.segment_len).sum()) / 40
    assert out["right"] <= out["named"] <= 1 and out["n"] == 40
    # three facts a sample: the answer is one of their places, so at random at least a third is right
    assert 1 / 3 - 1e-9 <= out["random_fact"] <= 1
    with pytest.raises(ValueError, match="allowed: the needle, rmt"):
        needle_analysis.named_answers(model, resolve("copy", "rmt", "smoke"))


def test_mean_attention_respects_the_mask_and_block_mass_sums_to_one():
    model, cfg, task = smoke_copy_model()
    tokens = task.fixed_set("test", 6).tokens
    att = ma.mean_attention(model, tokens, cfg.segment_len, batch_size=4)
    M, T = cfg.mem_size, cfg.segment_len
    assert len(att) == task.seq_len // T
    assert att[0].shape == (cfg.n_layers, 2 * M + T, 2 * M + T)
    for a in att:
        assert torch.allclose(a.sum(-1), torch.ones(a.shape[:2]), atol=1e-5)  # rows are distributions
        assert a[:, M : M + T, M + T :].abs().max() == 0  # tokens never see the write block
        assert a[:, :M, M:].abs().max() == 0  # read memory sees only itself
    blocks = ma.block_mass(att, M, [T] * len(att))
    shares = blocks.groupby(["segment", "layer", "query"])["share"].sum()
    assert (shares - 1).abs().max() < 1e-5
    read_read = blocks[(blocks["query"] == "read") & (blocks["key"] == "read")]["share"]
    assert (read_read - 1).abs().max() < 1e-5


def test_memory_norms_on_known_vectors():
    v = torch.tensor([3.0, 4.0])
    same = torch.stack([v, v])  # two identical slots, norm 5
    samples = torch.stack([same, 2 * same, 4 * same])  # [N=3, M=2, d=2], varying along v
    constant = torch.stack([torch.stack([v, -v])] * 3)  # M0-like: the same for every sample
    mem = torch.stack([constant, samples])  # [2 states, 3, 2, 2]
    df = ma.memory_norms(mem).set_index(["memory", "slot"])
    assert df.loc[(1, 0), "norm"] == pytest.approx(35 / 3)  # mean of 5, 10, 20
    assert df.loc[(0, 0), "cosine_to_other_slots"] == pytest.approx(-1.0)
    assert df.loc[(1, 1), "cosine_to_other_slots"] == pytest.approx(1.0)
    assert math.isnan(df.loc[(0, 0), "centred_cosine"])  # M0 does not vary
    assert df.loc[(1, 0), "centred_cosine"] == pytest.approx(1.0)  # the slots vary together
    assert math.isnan(df.loc[(0, 1), "relative_change"])
    # slot 1 goes from -v to k v: |k v + v| / |v| = k + 1, mean over k = 1, 2, 4
    assert df.loc[(1, 1), "relative_change"] == pytest.approx(10 / 3)


# ---- the whole analysis -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analysis():
    model, cfg, task = smoke_copy_model()
    rec = RunRecord(
        run_id="rmt-smoke-s0",
        experiment="copy",
        model="rmt",
        profile="smoke",
        seed=0,
        config=cfg.to_dict(),
        metrics={"test": {"acc": 0.9, "exact_match": 0.5}},
        steps=16,
        git_sha="abc1234",
    )
    return ma.analyse(
        model, cfg, segment_len=cfg.segment_len, record=rec, n_attention=8, n_probe_train=300, n_probe_test=40, seed=0
    )


def test_analyse_holds_every_measurement(analysis):
    m = analysis.meta
    assert m["task"] == "copy" and m["run_id"] == "rmt-smoke-s0" and m["test_acc"] == 0.9
    assert m["n_probe_test"] <= 40 and m["n_attention"] == 8
    n_seg = len(m["segment_lens"])
    assert set(analysis.probes["memory"]) == set(range(n_seg + 1))
    assert set(analysis.probes["model"]) == {"trained", "untrained"}
    assert set(analysis.probes["slot"]) == {"0", "1", "all"}
    assert set(analysis.probes["position"]) == set(range(m["length"]))
    # M0 is one vector for every sample: its probes cannot beat always answering one symbol
    m0 = analysis.probes[analysis.probes["memory"] == 0]["accuracy"]
    assert m0.max() <= 0.6


def test_analysis_survives_json(analysis, tmp_path):
    path = analysis.save(ma.analysis_path(tmp_path, "copy", "rmt-cpu-s0"))
    assert path == tmp_path / "memory_analysis" / "copy" / "rmt-cpu-s0.json"
    json.loads(path.read_text())  # plain JSON (no NaN literals)
    back = ma.MemoryAnalysis.load(path)
    assert back.meta == json.loads(json.dumps(analysis.meta))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(analysis.attention, back.attention))
    pd.testing.assert_frame_equal(back.probes, analysis.probes, check_dtype=False, check_like=True)
    pd.testing.assert_frame_equal(back.norms, analysis.norms, check_dtype=False, check_like=True)
    assert ma.find_analyses(tmp_path, "copy", "cpu") == [path]
    assert ma.find_analyses(tmp_path, "copy", "smoke") == [] and ma.find_analyses(tmp_path, "reverse") == []


def test_figures_are_drawn_and_stamped(analysis):
    for fn in (pm.plot_attention_maps, pm.plot_probes, pm.plot_memory_norms):
        fig = fn(analysis, "PROVENANCE LINE")
        assert any(t.get_text() == "PROVENANCE LINE" for t in fig.texts)
        plt.close(fig)
    fig = pm.plot_read_write(analysis, ma.read_write_layers(analysis), "PROVENANCE LINE")
    assert any(t.get_text() == "PROVENANCE LINE" for t in fig.texts)
    assert len([ax for ax in fig.axes if ax.get_ylabel().startswith("layer")]) == 2 * analysis.attention[0].shape[0]
    plt.close(fig)
    fig = pm.plot_read_write(analysis, ma.read_write_layers(analysis, [0]), "p")
    titled = [ax.get_title().replace("\n", " ") for ax in fig.axes if ax.get_title()]  # wrapped to fit a panel
    assert titled == ["writing: write slot -> input token", "reading: later token -> read slot"]
    plt.close(fig)


def test_read_write_maps_cut_the_memory_blocks_out_of_the_attention(analysis):
    write, read, wpos, rpos = ma.read_write_maps(analysis, 0)
    T, M = analysis.meta["segment_len"], analysis.num_mem
    assert write.shape == (M, len(wpos)) and wpos == list(range(len(wpos)))
    assert read.shape == (M, len(rpos)) and rpos[0] == T
    b = ma.block_slices(M, T)
    att = analysis.attention[0][0]
    assert torch.allclose(torch.from_numpy(write[:, :T]), att[b["write"], b["tokens"]])
    later = analysis.attention[1][0]
    assert torch.allclose(torch.from_numpy(read[:, :T]), later[b["tokens"], b["read"]].T)


def test_needle_memory_records_load_back_one_row_per_sample(tmp_path):
    from rmt_lite.records import atomic_write_json
    from rmt_lite.runs import train_experiment

    over = {"steps": 2, "eval_interval": 2, "warmup_steps": 0}
    run = train_experiment("needle", "rmt", "smoke", 1, over, out_dir=tmp_path / "needle", log=lambda line: None)
    record = needle_analysis.measure_needle_memory(run.run_dir, factor=2, n_train=20, n_test=10)
    assert record["length"] == 2 * resolve("needle", "rmt", "smoke").task["length"]
    atomic_write_json(tmp_path / "memory_analysis" / "needle" / f"{record['run_id']}.json", record)
    back = needle_analysis.load_needle_memory(tmp_path)
    assert len(back) == len(record["samples"]["answered"]) and set(back["seed"]) == {1}
    assert back["answered"].tolist() == record["samples"]["answered"]


def test_the_probe_command_takes_any_finished_needle_run_and_files_it_under_its_experiment(tmp_path, monkeypatch):
    from rmt_lite.runs import train_experiment

    over = {"steps": 2, "eval_interval": 2, "warmup_steps": 0}
    run = train_experiment("needle_memory", "rmt", "smoke", 0, over, out_dir=tmp_path / "runs", log=lambda line: None)
    asked, probe = [], needle_analysis.needle_memory

    def small(model, cfg, length, **kw):  # the probe itself is tested above; here: which run, which length
        asked.append((cfg.experiment, length))
        return probe(model, cfg, 2 * cfg.task["length"], n_train=20, n_test=10)

    monkeypatch.setattr(needle_analysis, "needle_memory", small)
    assert needle_analysis.main(["--results", str(tmp_path), "--run", str(run.run_dir)]) == 0
    profile_length = resolve("needle", "rmt", "cpu").task["length"]
    assert asked == [("needle_memory", needle_analysis.NEEDLE_FACTOR * profile_length)]
    back = needle_analysis.load_needle_memory(tmp_path, "needle_memory")
    assert len(back) and set(back["run_id"]) == {Path(run.run_dir).name}
    assert needle_analysis.load_needle_memory(tmp_path).empty  # the profile's probes are filed apart
    assert needle_analysis.main(["--results", str(tmp_path), "--run", str(tmp_path / "missing")]) == 0  # skipped
