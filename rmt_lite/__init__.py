"""rmt_lite: the Recurrent Memory Transformer family (Bulatov et al., NeurIPS 2022)."""
