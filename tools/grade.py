"""Score a checkpoint the way the course's grader does.

The grader imports the model class from ``models``, builds it with the course's arguments
(``TwoLayerNet(3072, 256, 10)``, ``VanillaCNN()``, ``MyModel()``, ``resnet32()``), loads
``checkpoints/<name>.pth`` with ``torch.load(..., weights_only=True)`` into it, and scores the
CIFAR-10 test set read through torchvision with ``ToTensor()`` and ``Normalize`` by the course's
constants, without test-time augmentation. This tool does the same and prints the accuracy:

    python -m tools.grade checkpoints/mymodel.pth --data data/cifar10-jpeg
    python -m tools.grade checkpoints/resnet-32.pth --cifar10 data

The model comes from the file's name (``twolayernet``, ``vanillacnn``, ``mymodel``,
``resnet-32``; ``--model`` overrides it). The grader loads a plain state dict; a full run
record (``runs/<run>/best.pt``, a dict whose ``"model"`` entry holds the state dict) is
accepted too, and the tool says which of the two it read.
"""
import argparse
import os
import sys

import torch

from engine.errors import INPUT_ERRORS, report

COURSE_MEAN = (0.4914, 0.4822, 0.4465)
COURSE_STD = (0.2023, 0.1994, 0.2010)

# course checkpoint name -> (class in models, constructor arguments)
COURSE_MODELS = {
    "twolayernet": ("TwoLayerNet", (3072, 256, 10)),
    "vanillacnn": ("VanillaCNN", ()),
    "mymodel": ("MyModel", ()),
    "resnet-32": ("resnet32", ()),
}


def course_model(name):
    """The untrained model the grader builds for the checkpoint name ``name``.

    Raises:
        ValueError: ``name`` is not one of COURSE_MODELS.
    """
    if name not in COURSE_MODELS:
        raise ValueError(f"model: got {name!r}; expected one of {', '.join(COURSE_MODELS)}")
    import models
    class_name, args = COURSE_MODELS[name]
    return getattr(models, class_name)(*args)


def load_weights(model, path):
    """Load the checkpoint at ``path`` into ``model`` with ``weights_only=True``.

    Returns:
        "state_dict" for a plain state dict (what the grader loads), "run record" for a dict
        with the state dict under ``"model"``.

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is no checkpoint, or its weights do not fit ``model``.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError) as exc:   # torch's unpickling errors for foreign files
        raise ValueError(f"checkpoint {path!r} cannot be loaded with weights_only=True "
                         f"({str(exc).splitlines()[0]})") from None
    kind = "state_dict"
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state, kind = state["model"], "run record"
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path!r}: got a {type(state).__name__}; expected a "
                         "state dict")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        raise ValueError(f"checkpoint {path!r} does not fit {type(model).__name__} as the "
                         f"grader builds it: {lines[-1].strip()}") from None
    return kind


def course_test_set(data=None, cifar10=None):
    """The test images as the grader reads them: ToTensor, then Normalize(course constants).

    Args:
        data: an ImageFolder copy (``data/test/<class>/*``, or ``data/<class>/*``).
        cifar10: the root of torchvision's CIFAR-10 download (used when ``data`` is None).

    Raises:
        OSError: the folder or download is missing.
    """
    from torchvision import datasets, transforms
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize(COURSE_MEAN, COURSE_STD)])
    if data is not None:
        folder = os.path.join(data, "test") if os.path.isdir(os.path.join(data, "test")) else data
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"--data: {data!r} is no folder")
        return datasets.ImageFolder(folder, transform=transform)
    try:
        return datasets.CIFAR10(cifar10, train=False, download=False, transform=transform)
    except RuntimeError:
        raise FileNotFoundError(f"--cifar10: no CIFAR-10 download under {cifar10!r}") from None


@torch.no_grad()
def predictions(model, dataset, batch_size=500):
    """(predicted, labels): int64 (N,) argmax logits in eval mode, and the true labels."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    model.eval()
    predicted, labels = zip(*[(model(images).argmax(dim=1), target)
                              for images, target in loader])
    return torch.cat(predicted), torch.cat(labels)


def accuracy(model, dataset):
    """Fraction of ``dataset``'s images whose argmax logit is their label."""
    predicted, labels = predictions(model, dataset)
    return float((predicted == labels).double().mean())


def grade(path, model_name=None, data=None, cifar10=None):
    """(accuracy, checkpoint kind) of the checkpoint ``path`` scored the grader's way."""
    name = model_name or os.path.splitext(os.path.basename(path))[0]
    model = course_model(name)
    kind = load_weights(model, path)
    return accuracy(model, course_test_set(data, cifar10)), kind


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.grade",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="checkpoints/<name>.pth (or a run's best.pt)")
    parser.add_argument("--model", choices=sorted(COURSE_MODELS),
                        help="the course model (default: the checkpoint's file name)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="ImageFolder copy of CIFAR-10 (its test/ is scored)")
    source.add_argument("--cifar10", help="root of torchvision's CIFAR-10 download")
    args = parser.parse_args(argv)
    try:
        score, kind = grade(args.checkpoint, args.model, args.data, args.cifar10)
    except INPUT_ERRORS as exc:
        return report(exc)
    if kind != "state_dict":
        print(f"note: {args.checkpoint} is a run record; the grader needs a plain state dict",
              file=sys.stderr)
    print(f"accuracy {score:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
