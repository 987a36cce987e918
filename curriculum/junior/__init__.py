"""Infrastructure for the junior phase (01_junior): the golden questions of the Notion export and
synthetic embedding-like vectors for the vector-store measurements.

* :mod:`curriculum.junior.golden` -- load ``data/notion-export-golden.jsonl``.
* :mod:`curriculum.junior.vectors` -- clustered unit vectors that stand in for embeddings when a
  measurement needs more of them than a CPU can embed in seconds.

The Notion export itself is read by :mod:`curriculum.connectors.notion`.
"""
