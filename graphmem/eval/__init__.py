"""Evaluation: retrieval recall, QA accuracy and memory recall on the user's own data.

These are product features (``graphmem eval ...``), not test scaffolding: a user deciding
whether graphmem suits their corpus runs them against their own questions.
"""
