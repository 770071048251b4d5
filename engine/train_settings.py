"""What the training loop needs to know, and nothing else: ``TrainSettings``."""
from dataclasses import dataclass, field
from typing import Optional, Tuple

# On CUDA the host reads the loss (to check it is finite and show it) every this many steps
# only: each read waits for the device, and a wait per step costs a ResNet-32 run ~10%.
HOST_SYNC_STEPS = 25


@dataclass(frozen=True)
class TrainSettings:
    """The training loop's inputs besides the model, loss and data (built by the application
    from a Config: ``app.settings.training_settings``).

    Attributes:
        epochs: epochs to train; lr: base learning rate; momentum, weight_decay, nesterov:
            torch.optim.SGD's.
        schedule, warmup_epochs, milestones, lr_decay: the learning-rate schedule, as
            ``engine.schedule.lr_factor`` reads it (milestones in epochs, increasing).
        amp: bf16 autocast on CUDA; channels_last: channels-last memory format;
        compile: the whole step compiled (``engine.compiled_step``) in a single process;
        fused_optimizer: fused SGD on CUDA.
        model_name, classes, input_shape (C, H, W): saved with the weights in checkpoints.
        cls_num_list: training images per class, for the validation summary's shot groups;
        many_shot, few_shot: the shot-group limits (images).
        host_sync_steps: on CUDA, steps between the host's reads of the running loss.
        run_config: plain data saved as ``config`` in ``last.pt`` (the run's whole config).
    """

    epochs: int
    lr: float
    model_name: str
    classes: Tuple[str, ...]
    input_shape: Tuple[int, int, int]
    cls_num_list: Tuple[int, ...]
    momentum: float = 0.9
    weight_decay: float = 0.0
    nesterov: bool = False
    schedule: str = "constant"
    warmup_epochs: int = 0
    milestones: Tuple[int, ...] = ()
    lr_decay: float = 0.1
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    fused_optimizer: bool = False
    many_shot: int = 100
    few_shot: int = 20
    host_sync_steps: int = HOST_SYNC_STEPS
    run_config: Optional[dict] = field(default=None, compare=False)

    @property
    def num_classes(self):
        return len(self.classes)
