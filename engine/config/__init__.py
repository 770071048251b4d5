"""The typed configuration of a run: schema, defaults, loading, overrides and validation.

A config file is YAML in our schema (``schema.py``: the dataclasses, each key's limits and
meaning in its field's metadata; docs/configuration.md is generated from it) or in the
course's format (``course.py``), which is translated into our schema on load.
``--set key.sub=value`` overrides any key (``loading.py``). Every value is checked before any
work starts (``rules.py``); a bad one raises ValueError (TypeError for a wrong type) with one
line ``<dotted.key>: got <value>; expected <what is allowed>``.
"""
from engine.config.errors import ConfigError, ConfigTypeError
from engine.config.loading import (config_to_dict, dump_config, format_config, load_config,
                                   parse_override, print_warning)
from engine.config.schema import (BLOCK_MODEL_NAMES, HARD_LABEL_LOSSES, LOSS_NAMES,
                                  MODEL_NAMES, Config, DataConfig, EvalConfig,
                                  ImbalanceConfig, LossConfig, ModelConfig, RunConfig,
                                  SyntheticConfig, TrainConfig, canonical_model_name)

__all__ = ["ConfigError", "ConfigTypeError", "config_to_dict", "dump_config", "format_config",
           "load_config", "parse_override", "print_warning", "BLOCK_MODEL_NAMES",
           "HARD_LABEL_LOSSES", "LOSS_NAMES", "MODEL_NAMES", "Config", "DataConfig", "EvalConfig", "ImbalanceConfig", "LossConfig",
           "ModelConfig", "RunConfig", "SyntheticConfig", "TrainConfig", "canonical_model_name"]
