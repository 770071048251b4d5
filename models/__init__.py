"""The networks: TwoLayerNet, VanillaCNN, MyModel, the CIFAR ResNets, the block CNN and ResNet
built from a few hyperparameters (``models.block_cnn``), and their classifier.

Every model maps float (N, C, H, W) images to logits (N, num_classes) and works with
``channels_last`` memory and under ``torch.autocast``. ``final_linear(model)`` returns its
classifier layer, ``classifier_module(model)`` the layer with its LWS scales
(``add_classifier_scales``), ``use_normed_classifier`` makes it a cosine classifier;
``models.classifier_norms`` holds the MaxNorm projection and tau-normalisation of the
classifier's rows. This package imports only torch and the standard library, so ``from models
import *`` works with nothing else on the path; models are built by config name in
``engine.builders``.
"""
from models.block_cnn import (CNN, ResidualBlock, ResidualBottleneckBlock, ResNet,
                              build_block_model)
from models.classifier import (add_classifier_scales, classifier_module, final_linear,
                               use_normed_classifier)
from models.my_model import MyModel
from models.normed_linear import NormedLinear
from models.resnet_cifar import resnet20, resnet32, resnet44, resnet56, resnet110
from models.scaled_classifier import ScaledClassifier
from models.two_layer_net import TwoLayerNet
from models.vanilla_cnn import VanillaCNN

__all__ = ["TwoLayerNet", "VanillaCNN", "MyModel", "resnet20", "resnet32", "resnet44",
           "resnet56", "resnet110", "NormedLinear", "ScaledClassifier", "final_linear",
           "classifier_module", "add_classifier_scales", "use_normed_classifier", "CNN",
           "ResidualBlock", "ResidualBottleneckBlock", "ResNet", "build_block_model"]
