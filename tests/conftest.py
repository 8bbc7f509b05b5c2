import pytest
import torch

from rmt_lite import MemoryTransformer, ModelConfig

# Small models in float64, so that "unchanged" can be asserted exactly and "changed" is not noise.
VARIANT_KWARGS = {
    "transformer": {},
    "xl": {"mem_len": 3},
    "rmt": {"num_mem_tokens": 2},
    "mt": {"num_mem_tokens": 2},
    "rmt_xl": {"num_mem_tokens": 2, "mem_len": 3, "read_mem_from_cache": True},
}
VOCAB = 11


def make_model(variant: str, seed: int = 0, **overrides) -> MemoryTransformer:
    kwargs = dict(variant=variant, vocab_size=VOCAB, d_model=32, n_layers=2, n_heads=4, d_ff=48)
    kwargs.update(VARIANT_KWARGS[variant])
    kwargs.update(overrides)
    torch.manual_seed(seed)
    return MemoryTransformer(ModelConfig(**kwargs)).double().eval()


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny models: one thread is fastest, and on a shared 2-core machine two threads can be 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(1234)
    yield


def random_tokens(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))
