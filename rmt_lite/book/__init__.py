"""The book, the top layer: one helper module per chapter (:mod:`.chapters`), the figures
(:mod:`.plots`, drawing only), the build (:mod:`.build`, ``python -m rmt_lite.book``) and the Colab
set-up (:mod:`.colab`)."""
