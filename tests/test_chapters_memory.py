"""Chapter 7 helpers (rmt_lite.book.chapters.memory): which analysis is shown, its provenance line, the
accuracy beside the paper's, the block and probe tables and the numbers of the prose; and that the
chapter's models come from the one train-or-reuse policy."""

import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from rmt_lite import RunRecord
from rmt_lite.book.chapters import memory as cm
from rmt_lite.repro import memory_analysis as ma
from rmt_lite.repro import paper

M, T, N_SEG, L = 2, 3, 3, 4  # slots, segment length, segments, input symbols


def _attention(seg: int) -> torch.Tensor:
    """One layer of ``[R ; x ; W]`` attention with known block shares: read -> read; tokens ->
    read 0.75 in segment 0 and 0.5 later; write -> read 0.2, tokens 0.6, write 0.2."""
    att = torch.zeros(1, 2 * M + T, 2 * M + T)
    b = ma.block_slices(M, T)
    att[0, b["read"], b["read"]] = 1 / M
    to_read = 0.75 if seg == 0 else 0.5
    att[0, b["tokens"], b["read"]] = to_read / M
    att[0, b["tokens"], b["tokens"]] = (1 - to_read) / T
    att[0, b["write"], b["read"]] = 0.2 / M
    att[0, b["write"], b["tokens"]] = 0.6 / T
    att[0, b["write"], b["write"]] = 0.2 / M
    return att


def _probes() -> pd.DataFrame:
    """M1 of the trained model: slot 0 holds positions 0, 1, slot 1 positions 2, 3, all slots all of
    them; the untrained model: 0.5 per slot, 0.95 on all slots. Other states: chance."""
    rows = []
    for model in ("trained", "untrained"):
        for t in range(N_SEG + 1):
            for pos in range(L):
                for slot in ("0", "1", "all"):
                    acc = 0.25
                    if t == 1 and model == "trained":
                        acc = 1.0 if slot == "all" else (1.0 if (slot == "0") == (pos < 2) else 0.2)
                        acc = 0.9 if (slot == "1" and pos >= 2) else acc
                    elif t == 1:
                        acc = 0.95 if slot == "all" else 0.5
                    rows.append(dict(memory=t, slot=slot, position=pos, accuracy=acc, model=model))
    return pd.DataFrame(rows)


def _norms() -> pd.DataFrame:
    rows = []
    for t in range(N_SEG + 1):
        for s in range(M):
            rows.append(
                dict(
                    memory=t,
                    slot=s,
                    norm=5.0 if t == 0 else 10.0 + t + s,
                    cosine_to_other_slots=0.1 * t,
                    centred_cosine=math.nan if t == 0 else 0.05 * t,
                    relative_change=math.nan if t == 0 else 0.5,
                )
            )
    return pd.DataFrame(rows)


def synthetic(**meta) -> ma.MemoryAnalysis:
    attention = [_attention(s) for s in range(N_SEG)]
    info = (
        dict(
            experiment="copy",
            task="copy",
            profile="cpu",
            seed=0,
            run_id="rmt-cpu-s0",
            git_sha="abc1234",
            analysis_git_sha="abc1234",
            num_mem_tokens=M,
            d_model=8,
            n_layers=1,
            segment_len=T,
            segment_lens=[T] * N_SEG,
            seq_len=T * N_SEG,
            chance=0.25,
            test_acc=0.9,
            steps=100,
        )
        | meta
    )
    return ma.MemoryAnalysis(
        meta=info,
        attention=attention,
        probes=_probes(),
        norms=_norms(),
        blocks=ma.block_mass(attention, M, [T] * N_SEG),
    )


# ---- which analysis, from where ------------------------------------------------------------------
def test_committed_analysis_prefers_the_seed_asked_for(tmp_path):
    a = synthetic()
    a.save(ma.analysis_path(tmp_path, "copy", "rmt-cpu-s0"))
    synthetic(seed=1, run_id="rmt-cpu-s1").save(ma.analysis_path(tmp_path, "copy", "rmt-cpu-s1"))
    assert cm.committed_analysis(tmp_path, "copy", "cpu", seed=1).meta["run_id"] == "rmt-cpu-s1"
    assert cm.committed_analysis(tmp_path, "copy", "cpu", seed=0).meta["run_id"] == "rmt-cpu-s0"
    assert cm.committed_analysis(tmp_path, "copy", "cpu", seed=7).meta["run_id"] == "rmt-cpu-s0"  # the first
    assert cm.committed_analysis(tmp_path, "reverse", "cpu") is None
    assert cm.committed_analysis(tmp_path, "copy", "smoke") is None


def test_the_committed_analyses_of_the_book_are_found():
    root = Path(__file__).resolve().parent.parent / "results"
    for task in ("copy", "reverse"):
        a = cm.committed_analysis(root, task, "cpu", 0)
        assert a is not None and a.meta["profile"] == "cpu" and a.meta["experiment"] == task


def test_analysis_provenance_is_the_records_line():
    line = cm.analysis_provenance(synthetic(), "committed cpu analysis")
    assert line == "committed cpu analysis (copy/rmt-cpu-s0): 1 run, profile=cpu, seed 0, commit abc1234"
    later = cm.analysis_provenance(synthetic(analysis_git_sha="fff0000"), "x")
    assert later.endswith("commit abc1234, analysed at commit fff0000")


def test_models_table_names_the_folder_inside_the_checkout(tmp_path, monkeypatch):
    import rmt_lite.book.chapters.memory as module

    monkeypatch.setattr(module, "repo_root", lambda: tmp_path)
    rec = RunRecord(
        run_id="rmt-smoke-s0",
        experiment="copy",
        model="rmt",
        profile="smoke",
        seed=0,
        config={},
        metrics={"test": {"acc": 0.3, "exact_match": 0.0}},
        steps=16,
        git_sha="abc1234",
        wall_time_s=0.5,
    )
    inside = tmp_path / "runs" / "smoke" / "copy" / "rmt-smoke-s0"
    t = cm.models_table({"copy": (rec, inside), "reverse": (rec, Path("/elsewhere/reverse/rmt-smoke-s0"))})
    assert list(t["folder"]) == ["runs/smoke/copy/rmt-smoke-s0", "rmt-smoke-s0"]
    assert t.iloc[0]["test acc"] == 0.3 and t.iloc[0]["steps"] == 16 and t.iloc[0]["commit"] == "abc1234"


def test_model_facts_for_the_prose():
    f = cm.model_facts(synthetic())
    assert f == dict(
        profile="cpu",
        seed=0,
        steps=100,
        n_layers=1,
        d_model=8,
        slots=M,
        segments=N_SEG,
        segment_len=T,
        test_acc=0.9,
        chance=0.25,
    )
    assert math.isnan(cm.model_facts(synthetic(test_acc=None))["test_acc"])


def test_accuracy_beside_paper_reads_the_paper_csvs_and_our_records(tmp_path):
    RunRecord(
        run_id="rmt-cpu-s0",
        experiment="copy",
        model="rmt",
        profile="cpu",
        seed=0,
        config={"mem_size": 24},
        metrics={"test": {"acc": 0.8}, "segments": N_SEG, "seq_len": 72},
    ).save(tmp_path / "copy" / "rmt-cpu-s0" / "record.json")
    table = cm.accuracy_beside_paper(synthetic(), tmp_path, "this run")
    ref = paper.synthetic()
    ref = ref[(ref["task"] == "copy") & (ref["model"] == "rmt") & (ref["n_segments"] == N_SEG)]
    assert (table["source"] == "paper").sum() == ref["mem_size"].nunique() > 0
    ours = table[table["source"] == "ours (cpu)"].iloc[0]
    assert ours["accuracy"] == 0.8 and ours["memory_tokens"] == 24 and ours["input_tokens"] == 72
    assert table.iloc[-1]["source"] == "this run" and table.iloc[-1]["accuracy"] == 0.9
    assert math.isnan(cm.accuracy_beside_paper(synthetic(test_acc=None), tmp_path, "x").iloc[-1]["accuracy"])


# ---- attention -----------------------------------------------------------------------------------
def test_block_table_is_flat_and_each_row_sums_to_one():
    t = cm.block_table(synthetic())
    assert list(t.columns) == ["segment", "query", "read", "tokens", "write"]
    assert len(t) == 3 * N_SEG and list(t["query"][:3]) == ["read", "tokens", "write"]
    assert (t[["read", "tokens", "write"]].sum(axis=1) - 1).abs().max() < 1e-6
    first = t[(t["segment"] == 0) & (t["query"] == "tokens")].iloc[0]
    assert first["read"] == pytest.approx(0.75) and first["write"] == 0


def test_attention_numbers_for_the_prose():
    a = synthetic()
    n = cm.attention_numbers(a)
    assert n["read_first"] == pytest.approx(0.75) and n["read_later"] == pytest.approx(0.5)
    assert n["write_tokens"] == pytest.approx(0.6)
    assert cm.attention_share(a, "write", "write") == pytest.approx(0.2)
    assert math.isnan(cm.attention_share(a, "tokens", "read", segments=[99]))


# ---- probes --------------------------------------------------------------------------------------
def test_probe_summary_and_numbers_tell_the_best_slot_from_all_slots():
    a = synthetic()
    s = cm.probe_summary(a).set_index(["model", "memory"])
    assert s.loc[("trained", 1), "all_slots"] == 1.0
    assert s.loc[("trained", 1), "best_single_slot"] == pytest.approx((1 + 1 + 0.9 + 0.9) / 4)
    n = cm.probe_numbers(a, memory=1)
    assert n == pytest.approx(
        dict(
            all_trained=1.0,
            all_untrained=0.95,
            best_trained=0.95,
            best_untrained=0.5,
            chance=0.25,
            features=M * 8,
            positions=L,
            distinct_best=2,
        )
    )


def test_probe_table_puts_the_tasks_side_by_side():
    t = cm.probe_table({"copy": synthetic(), "reverse": synthetic(experiment="reverse")})
    assert list(t.columns) == [
        "task",
        "memory",
        "all slots, trained",
        "all slots, untrained",
        "best slot, trained",
        "best slot, untrained",
    ]
    assert len(t) == 2 * (N_SEG + 1) and list(t["memory"][: N_SEG + 1]) == ["M0", "M1", "M2", "M3"]
    m1 = t[(t["task"] == "reverse") & (t["memory"] == "M1")].iloc[0]
    assert m1["all slots, untrained"] == 0.95 and m1["best slot, untrained"] == 0.5
    assert not t.isna().any().any()


# ---- norms ---------------------------------------------------------------------------------------
def test_norm_numbers_skip_m0_where_they_should():
    n = cm.norm_numbers(synthetic())
    assert n["norm_min"] == 11.0 and n["norm_max"] == 10.0 + N_SEG + 1 and n["norm_m0"] == 5.0
    assert n["cosine_raw"] == pytest.approx(0.1 * N_SEG) and n["cosine_centred"] == pytest.approx(0.05 * N_SEG)


# ---- where the chapter's models come from --------------------------------------------------------
