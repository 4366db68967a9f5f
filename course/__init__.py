"""The course's own tooling: stub generation, the self-check, progress, hints, grading.

Nothing here is lesson material; learners run it through `make`.
"""
