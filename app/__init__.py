"""The application: what ``main.py`` runs (dry run, training, checkpoint evaluation).

It stands on ``engine`` (the reusable training machinery) and on ``data``, ``models`` and
``losses``; nothing below it imports it.
"""
from app.commands import dry_run, evaluate_checkpoint, train

__all__ = ["dry_run", "evaluate_checkpoint", "train"]
