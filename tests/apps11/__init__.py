"""Small apps written twice, with the learner's framework and with FastAPI, for
tests/test_11_differential.py. Each module has `ours(fw)`, `theirs()` and `REQUESTS`:
(id, method, target, headers, body, what it checks) the differential sends to both."""
