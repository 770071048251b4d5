"""Readable names for runs, from their config.yaml: the method, the imbalance setting, the
dataset and the training recipe. Loss labels come from the config schema's list of losses, so a
new loss is named without touching this file."""
from engine.config import LOSS_NAMES
from tools.runs import get


MYMODEL = "mymodel"
# Labels that the derivation below would not give: the name the method's paper uses.
LABEL_EXCEPTIONS = {"logit_adjusted": "Logit adjustment"}


def loss_label(name):
    """A loss name of the config as a label: "ce" -> "CE", "ldam" -> "LDAM" (short names are
    acronyms), "balanced_softmax" -> "Balanced softmax"."""
    if name in LABEL_EXCEPTIONS:
        return LABEL_EXCEPTIONS[name]
    if len(name) <= 4 and "_" not in name:
        return name.upper()
    return name.replace("_", " ").capitalize()


LOSS_LABELS = {name: loss_label(name) for name in LOSS_NAMES}


def method_name(config):
    """A readable method name from a run's config, e.g. "LDAM-DRW", "CB softmax", "CE + mixup",
    or for a two-stage run (``train.init_from``) its stage-2 method: "cRT", "LWS", "WB",
    "MiSLAS" (see ``stage2_name``)."""
    if get(config, "train.init_from", ""):
        return stage2_name(config)
    name = _loss_and_sampler_name(config)
    if get(config, "model.classifier_scales", False):
        name += " + LWS scales"
    if get(config, "train.maxnorm", 0) > 0:
        name += " + MaxNorm"
    return name + _augmentation_name(config)


def stage2_name(config):
    """The method of a two-stage run's stage 2: "LWS" (only the scales train), "MiSLAS"
    (label-aware smoothing), "WB" (MaxNorm), "cRT" (a re-initialised classifier on frozen
    features), else "classifier re-training (<loss and sampler>)" with frozen features or
    "fine-tuning (<loss and sampler>)"."""
    freeze = get(config, "train.freeze", "none")
    if freeze == "features_and_classifier":
        return "LWS"
    if config["loss"]["name"] == "las":
        return "MiSLAS"
    if get(config, "train.maxnorm", 0) > 0:
        return "WB"
    if freeze != "none" and get(config, "train.reinit_classifier", False):
        return "cRT"
    what = "classifier re-training" if freeze != "none" else "fine-tuning"
    return f"{what} ({_loss_and_sampler_name(config)}{_augmentation_name(config)})"


def _augmentation_name(config):
    """" + mixup", " + CutMix (α=0.5)", " + Cutout", " + RandAugment (2, 9)", or ""."""
    text = ""
    mix = get(config, "data.mix", "none")
    if mix != "none":
        alpha = get(config, "data.mix_alpha", 1.0)
        text += f" + {'mixup' if mix == 'mixup' else 'CutMix'}"
        text += f" (α={alpha:g})" if alpha != 1 else ""
    if get(config, "data.cutout", 0) > 0:
        text += " + Cutout"
    if get(config, "data.randaugment_ops", 0) > 0:
        text += (f" + RandAugment ({get(config, 'data.randaugment_ops')}, "
                 f"{get(config, 'data.randaugment_magnitude', 9)})")
    return text


def _loss_and_sampler_name(config):
    loss = config["loss"]
    name = LOSS_LABELS.get(loss["name"], loss["name"])
    if loss["name"] == "focal":
        name = f"Focal (γ={loss['gamma']:g})" if loss["gamma"] != 1 else "Focal"
    if loss["reweight"] == "class_balanced":
        if loss["reweight_epoch"] > 0:
            name = f"{name}-DRW"
        elif loss["name"] == "ce":
            name = "CB softmax"
        else:
            name = f"CB {name if name[:2].isupper() else name[0].lower() + name[1:]}"
    sampler = get(config, "data.sampler", "instance")
    if sampler != "instance":
        deferred = " (deferred)" if get(config, "data.sampler_epoch", 0) > 0 else ""
        name = f"{name} + {sampler.replace('_', '-')} sampler{deferred}"
    return name


def setting_name(config):
    """"1" (balanced), "<factor>" (exponential profile) or "step <factor>"."""
    profile = get(config, "data.imbalance.profile", "none")
    factor = get(config, "data.imbalance.factor", 1)
    if profile == "none" or factor == 1:
        return "1"
    text = f"{factor:g}"
    return text if profile == "exp" else f"{profile} {text}"


def dataset_name(config):
    """Which data a run used, in words."""
    data = config["data"]
    if data["dataset"] == "cifar10":
        return "CIFAR-10 (torchvision's original, PNG-exact images)"
    if data["dataset"] == "cifar100":
        return "CIFAR-100 (torchvision's original, PNG-exact images)"
    if data["dataset"] == "imagefolder":
        root = data["root"]
        if "cifar10-jpeg" in root:
            return (f"a JPEG (quality 75) re-encoding of CIFAR-10 in ImageFolder layout "
                    f"(`{root}`)")
        return f"the ImageFolder dataset at `{root}`"
    return f"{data['dataset']} data"


def recipe_text(config):
    """The training recipe and the model-selection rule of a run, in one line."""
    train = config["train"]
    schedule = train["schedule"]
    if schedule == "step":
        schedule = (f"step schedule: {train['warmup_epochs']} warm-up epochs, lr × "
                    f"{train['lr_decay']:g} at epochs {', '.join(map(str, train['milestones']))}")
    elif schedule == "cosine":
        schedule = f"cosine schedule after {train['warmup_epochs']} warm-up epochs"
    else:
        schedule = "constant lr"
    val = get(config, "data.val_fraction", 0)
    selection = ("model selection: the last epoch (no validation split)" if not val else
                 f"model selection: the epoch with the best balanced accuracy on a "
                 f"{val:.0%} stratified validation split")
    model = config["model"]["name"]
    if model == MYMODEL:
        model = f"{model} (width {get(config, 'model.width', 64)})"
    return (f"{model}, {train['epochs']} epochs, batch {train['batch_size']}, "
            f"SGD lr {train['lr']:g} (momentum {train['momentum']:g}, weight decay "
            f"{train['weight_decay']:g}), {schedule}; {selection}")
