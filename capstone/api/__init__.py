"""The HTTP API of the capstone, one router per resource.

The capstone contract (stable; other tools call it):

* ``aie serve`` starts it on 127.0.0.1:8000 with the embedded defaults; ``GET /healthz``; OpenAPI at ``/docs``.
* ``POST /v1/ask`` ``{"question": str}`` -> ``{"answer": str, "citations": [{"marker": "[1]", "source": str,
  "chunk_id": str, "quote": str}], "usage": {"input_tokens": int, "output_tokens": int, "cost_usd": float},
  "latency_ms": float, "request_id": str}``; every ``[n]`` marker in the answer resolves to a citation whose quote
  is in that chunk.
* ``POST /v1/documents`` (multipart upload) ingests a file; bad input gets a 4xx with a clear message;
  ``DELETE /v1/documents/{source}`` removes one for its owner; ``POST /v1/feedback`` rates an answer.
* ``GET /metrics`` in Prometheus text format (requests, latency histogram, cost, budget state).
"""
