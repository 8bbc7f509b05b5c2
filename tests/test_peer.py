"""The peer adapter (rmt_lite.tools.peer): the other implementation runs under our runner and trainer."""

import math

import pytest
import torch

from rmt_lite import ModelConfig, run_segments
from rmt_lite.runs import train_experiment
from rmt_lite.tools.peer import PeerSegmentModel, load_peer, peer_settings

needs_peer = pytest.mark.skipif(load_peer()[0] is None, reason="peer not installed (make bench installs it)")
CFG = ModelConfig(variant="rmt", vocab_size=11, d_model=32, n_layers=2, n_heads=4, d_ff=64, num_mem_tokens=2)


def test_the_peer_takes_only_a_decoder_rmt_with_memory():
    with pytest.raises(ValueError, match="variant='xl'"):
        peer_settings(ModelConfig(variant="xl", mem_len=2), 8)
    settings = peer_settings(CFG, 8)
    assert (
        settings["dim"],
        settings["depth"],
        settings["heads"],
        settings["dim_head"],
        settings["num_memory_tokens"],
        settings["seq_len"],
    ) == (32, 2, 4, 8, 2, 8)


@needs_peer
def test_peer_memory_carries_the_first_segment_into_the_second():
    torch.manual_seed(0)
    model = PeerSegmentModel(CFG, 4).eval()
    tokens = torch.randint(0, 11, (2, 8))
    other = tokens.clone()
    other[:, 0] = (other[:, 0] + 1) % 11
    a, b = run_segments(model, tokens, 4).logits, run_segments(model, other, 4).logits
    assert not torch.allclose(a[:, 4:], b[:, 4:])  # segment 2 sees segment 1 through memory
    state = model(tokens[:, :4], model.init_state(2)).state
    first, past = model.extend(tokens[:, 4:6], state)
    rest, _ = model.extend(tokens[:, 6:], state, past)
    torch.testing.assert_close(torch.cat((first, rest), 1), a[:, 4:])


@needs_peer
def test_the_trainer_trains_the_peer_and_names_it_in_the_record(tmp_path):
    record = train_experiment(
        "retrieval_study",
        "rmt",
        "smoke",
        0,
        {"steps": 4, "eval_interval": 4, "warmup_steps": 0},
        out_dir=tmp_path,
        run_name="peer-rmt-smoke-s0",
        implementation="the peer",
        build_model=lambda cfg, run: PeerSegmentModel(cfg, run.segment_len),
        log=lambda line: None,
    )
    assert record.implementation == "the peer" and record.steps == 4
    assert math.isfinite(record.metrics["test"]["loss"]) and record.history[-1]["step"] == 4
