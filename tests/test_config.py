"""Config validation: every error names the parameter, the value and what is allowed."""

import pytest
import torch
from conftest import make_model, random_tokens

from rmt_lite import ModelConfig, generate, get_device, resolve, run_segments
from rmt_lite.config import REGISTRY, VARIANTS, WHOLE

BAD = [
    (dict(variant="lstm"), "variant='lstm'", "transformer, xl, rmt, mt, rmt_xl"),
    (dict(d_model=0), "d_model=0", "positive integer"),
    (dict(n_layers=-1), "n_layers=-1", "positive integer"),
    (dict(vocab_size=2.5), "vocab_size=2.5", "positive integer"),
    (dict(d_model=30, n_heads=4), "n_heads=4", "divisor of d_model=30"),
    (dict(d_model=12, n_heads=4), "n_heads=4", "even head width"),
    (dict(dropout=1.0), "dropout=1.0", "[0, 1)"),
    (dict(num_mem_tokens=-2), "num_mem_tokens=-2", ">= 0"),
    (dict(variant="transformer", num_mem_tokens=4), "num_mem_tokens=4", "no memory tokens"),
    (dict(variant="xl", num_mem_tokens=4, mem_len=4), "num_mem_tokens=4", "no memory tokens"),
    (dict(variant="rmt", mem_len=4), "mem_len=4", "no XL cache"),
    (dict(variant="xl"), "mem_len=0", ">= 1"),
    (dict(variant="mt"), "num_mem_tokens=0", ">= 1"),
    (dict(variant="rmt", num_mem_tokens=2, read_mem_from_cache=True), "read_mem_from_cache=True", "only rmt_xl"),
    (dict(mem_init="zeros"), "mem_init='zeros'", "distinct, shared"),
    (dict(num_mem_tokens=2, mem_init_std=0.0), "mem_init_std=0.0", "> 0"),
    (dict(num_mem_tokens=2, mem_pos_gap=-1), "mem_pos_gap=-1", ">= 0"),
    (dict(variant="xl", mem_len=2, mem_pos_gap=4), "mem_pos_gap=4", "rmt or mt"),
    (dict(variant="rmt_xl", num_mem_tokens=2, mem_len=2, mem_pos_gap=4), "mem_pos_gap=4", "rmt or mt"),
    (dict(variant="xl", mem_len=2, encoder=True, num_classes=2), "encoder=True", "transformer and rmt"),
    (dict(encoder=True), "num_classes=0", ">= 2"),
    (dict(num_classes=3), "num_classes=3", "encoder=True"),
]


@pytest.mark.parametrize("kwargs,names,allowed", BAD)
def test_bad_config_names_parameter_value_and_allowed(kwargs, names, allowed):
    with pytest.raises(ValueError) as err:
        ModelConfig(**kwargs)
    assert names in str(err.value) and allowed in str(err.value)


def test_config_is_frozen_and_round_trips():
    cfg = ModelConfig(variant="rmt_xl", num_mem_tokens=4, mem_len=8)
    with pytest.raises(AttributeError):
        cfg.d_model = 3
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown ModelConfig key"):
        ModelConfig.from_dict({**cfg.to_dict(), "n_embd": 3})


def test_bad_tensors_are_rejected_with_their_shape():
    model = make_model("rmt")
    with pytest.raises(ValueError, match=r"tokens has shape \(4,\)"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="torch.float32"):
        model(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"state.memory has shape \(3, 2, 32\)"):
        model(random_tokens(2, 4), model.init_state(3))
    with pytest.raises(ValueError, match="targets has shape"):
        run_segments(model, random_tokens(2, 8), 4, targets=random_tokens(2, 7))
    with pytest.raises(ValueError, match="segment_len=0"):
        run_segments(model, random_tokens(2, 8), 0)
    with pytest.raises(ValueError, match="bptt_depth=-1"):
        run_segments(model, random_tokens(2, 8), 4, bptt_depth=-1)
    with pytest.raises(ValueError, match="prompt has shape"):
        generate(model, random_tokens(2, 0), 3, 4)


def test_get_device():
    assert get_device("cpu").type == "cpu"
    assert get_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="device='tpu'"):
        get_device("tpu")


# --- the variant registry: what it says of a variant is what the model and the checks do ----------
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_registry_says_which_variants_carry_context_across_a_boundary(variant):
    """``carries`` (the reproduction trains the others without a curriculum) is true exactly for the
    variants whose second segment depends on the first segment's tokens."""
    model = make_model(variant)
    x = random_tokens(2, 8)
    y = x.clone()
    y[:, :4] = (y[:, :4] + 1) % 11  # another first segment, the same second one
    second = [run_segments(model, t, 4).logits[:, 4:] for t in (x, y)]
    assert (not torch.equal(*second)) == REGISTRY[variant].carries


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_registry_says_which_variants_need_a_memory_size_and_serve_encoder_mode(variant):
    has = REGISTRY[variant]
    no_memory = dict(num_mem_tokens=0) if has.memory else {}
    no_cache = dict(mem_len=0) if has.cache else {}
    zero = {**no_memory, **no_cache, "read_mem_from_cache": False}
    if has.needs_memory:
        with pytest.raises(ValueError, match="an integer >= 1"):
            make_model(variant, **zero)
    else:
        make_model(variant, **zero)
    if has.remembers:
        assert resolve("copy", variant, "smoke", overrides={"mem_size": 3}).mem_size == 3
    else:
        with pytest.raises(ValueError, match="mem_size=3 is not allowed"):
            resolve("copy", variant, "smoke", overrides={"mem_size": 3})
    if has.encoder:
        assert resolve("classification", variant, "smoke").model == variant
    else:
        with pytest.raises(ValueError, match=f"model={variant!r} is not allowed: transformer or rmt"):
            resolve("classification", variant, "smoke")


def test_the_book_lists_and_colours_the_models_from_the_registry():
    from rmt_lite.book.plots import MODEL_COLORS, MODEL_ORDER

    assert MODEL_ORDER[0] == WHOLE and set(MODEL_ORDER[1:]) == set(VARIANTS)
    ranks = [REGISTRY[v].rank for v in MODEL_ORDER[1:]]
    assert ranks == sorted(ranks) and len(set(MODEL_COLORS.values())) == len(MODEL_COLORS) == len(MODEL_ORDER)
