"""VanillaCNN: the course's one-convolution baseline."""
from torch import nn


class VanillaCNN(nn.Module):
    """Conv 7x7 (stride 1, no padding) -> ReLU -> max-pool 2/2 -> linear.

    Args:
        in_channels: image channels C.
        image_size: H == W as an int, or (H, W); each at least ``min_image_size``.
        num_classes: number of logits.

    Input (N, C, H, W); after the convolution (N, 32, H - 6, W - 6), after pooling
    (N, 32, (H - 6) // 2, (W - 6) // 2) -- 32x13x13 for 32x32 images; output logits
    (N, num_classes). Parameters for 3x32x32 and 10 classes: 3*32*49 + 32 + 32*13*13*10 + 10
    = 58,826.
    """

    min_image_size = 8      # smallest side that leaves one pooled pixel: (8 - 6) // 2 = 1
    channels = 32
    kernel_size = 7

    def __init__(self, in_channels=3, image_size=32, num_classes=10):
        super().__init__()
        height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
        if min(height, width) < self.min_image_size:
            raise ValueError(f"VanillaCNN needs images of at least {self.min_image_size}x"
                             f"{self.min_image_size}; got {height}x{width}")
        self.conv = nn.Conv2d(in_channels, self.channels, self.kernel_size, stride=1, padding=0)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2, 2)
        pooled = ((height - self.kernel_size + 1) // 2) * ((width - self.kernel_size + 1) // 2)
        self.fc = nn.Linear(self.channels * pooled, num_classes)

    def forward(self, x):
        """x (N, C, H, W) -> logits (N, num_classes)."""
        features = self.pool(self.relu(self.conv(x)))     # (N, 32, (H-6)//2, (W-6)//2)
        return self.fc(features.flatten(1))
