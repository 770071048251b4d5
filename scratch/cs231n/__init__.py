"""CS231n's functional face of scratch/: the names and signatures of the second assignment
(``layers``, ``fast_layers``, ``layer_utils``, ``classifiers.fc_net``, ``classifiers.cnn``,
``optim``, ``solver``, ``gradient_check``, ``data_utils``), so a notebook cell runs unchanged
with its package path replaced by ``scratch.cs231n``.

Every formula is the one scratch/'s layer and optimizer classes run (``scratch.modules``,
``scratch.optimizer``): these modules only translate CS231n's argument conventions (parameter
dicts, caches, dropout's keep probability) to those functions. NumPy only.
"""
