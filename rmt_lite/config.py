"""One frozen, validated configuration for every model variant (design notes, book/design.md, section 1)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Variant:
    """Everything the package knows about one model variant, in one place (design notes,
    book/design.md, section 1, describe each).

    What the model has: ``memory`` tokens, an XL ``cache``, and whether its memory is ``writes``
    (written at the end of a segment, ``[M ; x ; M]``) rather than only read at the start
    (``[M ; x]``). ``memory_optional``: it still runs with 0 memory tokens (an ablation);
    ``encoder``: it serves encoder mode (classification). How the book shows it: ``label`` (a few
    words for a legend), ``colour`` (in every figure; seaborn's colorblind palette) and ``rank``
    (its place when a table or figure lists the models: no memory first)."""

    memory: bool
    cache: bool
    writes: bool
    memory_optional: bool
    encoder: bool
    label: str
    colour: str
    rank: int

    @property
    def carries(self) -> bool:
        """Whether anything crosses a segment boundary (written memory or the XL cache): only then
        can a curriculum over the number of segments help."""
        return self.writes or self.cache

    @property
    def remembers(self) -> bool:
        """Whether a memory size means anything for it (memory tokens or an XL cache)."""
        return self.memory or self.cache

    @property
    def needs_memory(self) -> bool:
        """Whether it needs a memory size of at least 1 (its tokens, or its cache)."""
        return self.cache or (self.memory and not self.memory_optional)


# The one registry of the variants: everything that asks "does this model have memory / a cache",
# "may it classify", "what is it called, which colour, in which order" asks it.
_NO_MEMORY = dict(memory=False, writes=False, memory_optional=False)
REGISTRY = {
    "transformer": Variant(**_NO_MEMORY, cache=False, encoder=True, label="no memory", colour="#0173b2", rank=1),
    "xl": Variant(**_NO_MEMORY, cache=True, encoder=False, label="XL cache", colour="#029e73", rank=3),
    "rmt": Variant(
        memory=True,
        cache=False,
        writes=True,
        memory_optional=True,
        encoder=True,
        label="memory tokens, written",
        colour="#d55e00",
        rank=4,
    ),
    "mt": Variant(
        memory=True,
        cache=False,
        writes=False,
        memory_optional=False,
        encoder=False,
        label="memory tokens, read only",
        colour="#cc78bc",
        rank=2,
    ),
    "rmt_xl": Variant(
        memory=True,
        cache=True,
        writes=True,
        memory_optional=False,
        encoder=False,
        label="memory tokens and XL cache",
        colour="#de8f05",
        rank=5,
    ),
}
VARIANTS = tuple(REGISTRY)
MEMORY_VARIANTS = tuple(v for v, has in REGISTRY.items() if has.memory)
CACHE_VARIANTS = tuple(v for v, has in REGISTRY.items() if has.cache)
ENCODER_VARIANTS = tuple(v for v, has in REGISTRY.items() if has.encoder)
#: the book's name of a transformer that reads the whole sample in one segment (the upper bound)
WHOLE = "transformer (whole)"
WHOLE_COLOUR = "#949494"
MEM_INITS = ("distinct", "shared")


def display_name(model: str, num_segments: int | float | None) -> str:
    """The book's name of a run: a ``transformer`` that reads the whole sample in one segment is
    ``transformer (whole)`` (the full-attention upper bound), as in the paper's tables."""
    plain = model in REGISTRY and not REGISTRY[model].remembers
    whole = plain and num_segments is not None and num_segments == num_segments  # not NaN
    return WHOLE if whole and int(num_segments) == 1 else model


def remembers(model: str) -> bool:
    """Whether a run of ``model`` has a memory size that means something (memory tokens or an XL
    cache); the transformer's ``mem_size`` field is left over from its profile."""
    return REGISTRY[model].remembers


def stated_memory(model: str, mem_size: int) -> int:
    """The memory size a table states for a run of ``model``: 0 where :func:`remembers` is false."""
    return int(mem_size) if remembers(model) else 0


def not_allowed(name: str, value, allowed: str) -> ValueError:
    """The error of every check in the package: it names the parameter, the value and what is allowed."""
    return ValueError(f"{name}={value!r} is not allowed: {allowed}")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and memory options of one model (paper section 3; design notes section 1).

    Attributes:
        variant: how context crosses a segment boundary, one of ``VARIANTS``.
        num_mem_tokens: memory slots (``rmt``, ``mt``, ``rmt_xl``).
        mem_len: length of the Transformer-XL cache (``xl``, ``rmt_xl``).
        read_mem_from_cache: ``rmt_xl`` only: memory blocks also attend to the XL cache.
        mem_init: ``"distinct"`` (one N(0,1) vector per slot) or ``"shared"`` (the reference:
            every slot starts from the same N(0,1) vector; the slots are still separate parameters).
        mem_init_std: scale of that initial memory (1.0: unit scale, like the token inputs).
        mem_pos_gap: rotary positions left empty between the read block and the text, and between
            the text and the write block (0: adjacent, as the reference; a large gap puts the memory
            in a position range of its own). Variants without an XL cache only.
        encoder: bidirectional attention, memory at the start only, read and written there
            (long-document classification, paper section 4.4); needs ``num_classes``.
    """

    variant: str = "rmt"
    vocab_size: int = 12
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 256
    dropout: float = 0.0
    num_mem_tokens: int = 0
    mem_len: int = 0
    read_mem_from_cache: bool = False
    mem_init: str = "distinct"
    mem_init_std: float = 1.0
    mem_pos_gap: int = 0
    encoder: bool = False
    num_classes: int = 0
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise not_allowed("variant", self.variant, f"one of {', '.join(VARIANTS)}")
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise not_allowed(name, value, "a positive integer")
        for name in ("num_mem_tokens", "mem_len", "num_classes", "mem_pos_gap"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise not_allowed(name, value, "an integer >= 0")
        if self.d_model % self.n_heads:
            raise not_allowed("n_heads", self.n_heads, f"a divisor of d_model={self.d_model}")
        if (self.d_model // self.n_heads) % 2:
            raise not_allowed(
                "n_heads", self.n_heads, "a value giving an even head width (d_model/n_heads) for rotary positions"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise not_allowed("dropout", self.dropout, "a float in [0, 1)")
        if self.rope_base <= 1.0:
            raise not_allowed("rope_base", self.rope_base, "a float > 1")
        if self.mem_init not in MEM_INITS:
            raise not_allowed("mem_init", self.mem_init, f"one of {', '.join(MEM_INITS)}")
        std = self.mem_init_std
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 < std < float("inf"):
            raise not_allowed("mem_init_std", self.mem_init_std, "a finite number > 0")
        v = self.variant
        if not REGISTRY[v].memory and self.num_mem_tokens:
            raise not_allowed(
                "num_mem_tokens",
                self.num_mem_tokens,
                f"0 for variant={v!r}, which has no memory tokens (use rmt, mt or rmt_xl)",
            )
        if REGISTRY[v].memory and not REGISTRY[v].memory_optional and self.num_mem_tokens == 0:
            raise not_allowed("num_mem_tokens", 0, f"an integer >= 1 for variant={v!r}")
        if not REGISTRY[v].cache and self.mem_len:
            raise not_allowed("mem_len", self.mem_len, f"0 for variant={v!r}, which has no XL cache (use xl or rmt_xl)")
        if REGISTRY[v].cache and self.mem_len == 0:
            raise not_allowed("mem_len", 0, f"an integer >= 1 for variant={v!r}")
        if self.mem_pos_gap and (self.has_cache or not self.has_memory):
            raise not_allowed(
                "mem_pos_gap",
                self.mem_pos_gap,
                f"0 for variant={v!r} (a gap needs memory tokens and no XL cache: rmt or mt)",
            )
        if self.read_mem_from_cache and not (REGISTRY[v].memory and REGISTRY[v].cache):
            raise not_allowed("read_mem_from_cache", True, f"False for variant={v!r} (only rmt_xl has both)")
        if self.encoder and not REGISTRY[v].encoder:
            raise not_allowed("encoder", True, f"False for variant={v!r} (encoder mode serves transformer and rmt)")
        if self.encoder and self.num_classes < 2:
            raise not_allowed("num_classes", self.num_classes, "an integer >= 2 in encoder mode")
        if not self.encoder and self.num_classes:
            raise not_allowed("num_classes", self.num_classes, "0 unless encoder=True")

    @property
    def has_memory(self) -> bool:
        return REGISTRY[self.variant].memory and self.num_mem_tokens > 0

    @property
    def has_cache(self) -> bool:
        return REGISTRY[self.variant].cache

    @property
    def writes_at_end(self) -> bool:
        """Whether the input is [M ; x ; M] (rmt, rmt_xl decoders) rather than [M ; x]."""
        return self.has_memory and REGISTRY[self.variant].writes and not self.encoder

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig key(s) {unknown}; allowed: {sorted(known)}")
        return cls(**data)
