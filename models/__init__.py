"""The networks: TwoLayerNet, VanillaCNN, MyModel, the CIFAR ResNets, and ``build_model``.

Every model maps float (N, C, H, W) images to logits (N, num_classes) and works with
``channels_last`` memory and under ``torch.autocast``. ``build_model(name, input_shape,
num_classes, normed_classifier)`` builds one by its config name (one of ``MODEL_NAMES``);
``final_linear(model)`` returns its classifier layer, ``classifier_module(model)`` the layer
with its LWS scales (``add_classifier_scales``); ``models.classifier_norms`` holds the MaxNorm
projection and tau-normalisation of the classifier's rows.
"""
from models.factory import (MODEL_NAMES, add_classifier_scales, build_model, classifier_module,
                            final_linear)
from models.my_model import MyModel
from models.normed_linear import NormedLinear
from models.resnet_cifar import resnet20, resnet32, resnet44, resnet56, resnet110
from models.scaled_classifier import ScaledClassifier
from models.two_layer_net import TwoLayerNet
from models.vanilla_cnn import VanillaCNN

__all__ = ["TwoLayerNet", "VanillaCNN", "MyModel", "resnet20", "resnet32", "resnet44",
           "resnet56", "resnet110", "NormedLinear", "ScaledClassifier", "build_model",
           "final_linear", "classifier_module", "add_classifier_scales", "MODEL_NAMES"]
