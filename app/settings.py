"""The training loop's settings, taken from a run's Config and data."""
from engine.config import config_to_dict
from engine.train_settings import TrainSettings


def training_settings(cfg, bundle):
    """``TrainSettings`` for training ``cfg.model`` on ``bundle`` (a data.DataBundle) as
    ``cfg.train`` and ``cfg.eval`` say; the whole config rides along for ``last.pt``."""
    t = cfg.train
    return TrainSettings(
        epochs=t.epochs, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay,
        nesterov=t.nesterov, schedule=t.schedule, warmup_epochs=t.warmup_epochs,
        milestones=tuple(t.milestones), lr_decay=t.lr_decay, amp=t.amp,
        channels_last=t.channels_last, compile=t.compile, fused_optimizer=t.fused_optimizer,
        model_name=cfg.model.name, classes=tuple(bundle.classes),
        input_shape=tuple(bundle.input_shape), cls_num_list=tuple(bundle.cls_num_list),
        many_shot=cfg.eval.many_shot, few_shot=cfg.eval.few_shot,
        run_config=config_to_dict(cfg))
