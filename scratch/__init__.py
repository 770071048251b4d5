"""A convolutional network written from scratch in NumPy, for learning how a CNN works inside.

``modules`` holds the layers (each with ``forward`` and ``backward``) and ``ConvNet``;
``optimizer`` holds momentum SGD; ``trainer`` runs mini-batch epochs; ``train.py`` overfits the
course's network on 50 CIFAR-10 images. No torch here: NumPy only.
"""
