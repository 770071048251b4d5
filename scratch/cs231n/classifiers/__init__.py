"""CS231n's models: ``fc_net.FullyConnectedNet`` and ``cnn.ThreeLayerConvNet``."""
