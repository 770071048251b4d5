"""TwoLayerNet: the course's fully connected baseline."""
from torch import nn


class TwoLayerNet(nn.Module):
    """Flatten -> linear -> sigmoid -> linear.

    Args:
        input_dim: values per image, C * H * W (3072 for 3x32x32).
        hidden_size: width of the hidden layer.
        num_classes: number of logits.

    Input (N, C, H, W) float with C * H * W == input_dim; output logits (N, num_classes).
    Parameters: input_dim * hidden_size + hidden_size + hidden_size * num_classes + num_classes.
    """

    def __init__(self, input_dim=3072, hidden_size=256, num_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        """x (N, C, H, W) -> logits (N, num_classes)."""
        hidden = self.fc1(x.flatten(1)).sigmoid()        # (N, hidden_size)
        return self.fc2(hidden)
