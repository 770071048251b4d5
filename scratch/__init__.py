"""A convolutional network written from scratch in NumPy, for learning how a CNN works inside.

``modules`` holds the layers (each with ``forward`` and ``backward``: convolution, pooling,
linear, activations, normalisation, dropout), ``ConvNet``, which chains them, and a builder of
networks from blocks; ``optimizer`` holds momentum and Nesterov SGD, RMSProp and Adam;
``trainer`` runs mini-batch epochs with validation; ``gradcheck`` checks any layer's or model's
gradients numerically; ``image_data`` loads CIFAR-10 or makes synthetic images. ``train.py``
overfits the course's network on 50 CIFAR-10 images; ``experiments.py`` shows what
normalisation, adaptive optimizers and dropout do. No torch here: NumPy only.
"""
