"""Inception-v1 I3D (Carreira & Zisserman, CVPR 2017) in MindSpore, N,C,T,H,W input.

Numerics follow DeepMind's release: TF "SAME" padding (MindSpore's pad_mode='same' is TF-style,
extra pad at the end), BatchNorm eps 1e-3 without a learned scale, and the head AvgPool (2,7,7)
VALID -> dropout -> 1x1x1 conv with bias -> mean of the logits over time.

Parameter names are exactly the original MindSpore port's 287 names, so its checkpoints load:
MindSpore names a parameter after the attribute path that holds it, so one parameterised Unit3D
takes its attribute names as arguments, and endpoints are registered with insert_child_to_cell
(which adds no prefix).
"""
from mindspore import nn, ops
from mindspore.common.initializer import HeNormal, Zero

from src.data.layout import INPUT_CHANNELS, check_mode
from src.backend.conv3d import conv3d_same
from src.backend.max_pool import max_pool_3d
from src.model.dropout import SeededDropout
from src.model.network_input import rgb_to_bgr

BN_EPS = 1e-3
# MindSpore's momentum is the weight of the OLD running value (PyTorch 0.01 == MindSpore 0.99).
BN_MOMENTUM = 0.99

# (endpoint, output channels of the six units b0, b1a, b1b, b2a, b2b, b3b)
INCEPTION_CHANNELS = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
INCEPTION_UNITS = ("b0", "b1a", "b1b", "b2a", "b2b", "b3b")

VALID_ENDPOINTS = (
    "Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
    "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3",
    "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f", "MaxPool3d_5a_2x2",
    "Mixed_5b", "Mixed_5c", "logits",
)
HEADS = ("avg", "max")
HEAD_INITS = ("fan_in", "fan_out")
FEATURE_CHANNELS = 1024


# Stem units (output channels, kernel, stride) and max pools (kernel, stride), by endpoint name.
STEM_UNITS = {"Conv3d_1a_7x7": (64, (7, 7, 7), (2, 2, 2)),
              "Conv3d_2b_1x1": (64, (1, 1, 1), (1, 1, 1)),
              "Conv3d_2c_3x3": (192, (3, 3, 3), (1, 1, 1))}
POOLS = {"MaxPool3d_2a_3x3": ((1, 3, 3), (1, 2, 2)),
         "MaxPool3d_3a_3x3": ((1, 3, 3), (1, 2, 2)),
         "MaxPool3d_4a_3x3": ((3, 3, 3), (2, 2, 2)),
         "MaxPool3d_5a_2x2": ((2, 2, 2), (2, 2, 2))}


def inception_out_channels(channels):
    b0, _, b1b, _, b2b, b3b = channels
    return b0 + b1b + b2b + b3b


def inception_unit_specs(in_channels, channels):
    """{unit: (input channels, output channels, kernel)} of one Inception block's six Unit3Ds."""
    b0, b1a, b1b, b2a, b2b, b3b = channels
    return {"b0": (in_channels, b0, (1, 1, 1)), "b1a": (in_channels, b1a, (1, 1, 1)), "b1b": (b1a, b1b, (3, 3, 3)),
            "b2a": (in_channels, b2a, (1, 1, 1)), "b2b": (b2a, b2b, (3, 3, 3)), "b3b": (in_channels, b3b, (1, 1, 1))}


def unit_table(in_channels=3):
    """[(endpoint, unit or None, input channels, output channels, kernel, stride)] for every Unit3D in
    network order, and the channels that reach the head: the architecture in one list for the converter
    (tensor shapes) and the benchmarks (FLOPs)."""
    rows, cin = [], in_channels
    for name in VALID_ENDPOINTS:
        if name in STEM_UNITS:
            cout, kernel, stride = STEM_UNITS[name]
            rows.append((name, None, cin, cout, kernel, stride))
            cin = cout
        elif name in INCEPTION_CHANNELS:
            for unit, (ci, co, kernel) in inception_unit_specs(cin, INCEPTION_CHANNELS[name]).items():
                rows.append((name, unit, ci, co, kernel, (1, 1, 1)))
            cin = inception_out_channels(INCEPTION_CHANNELS[name])
    return rows, cin


class Unit3D(nn.Cell):
    """Conv3d (TF SAME) -> BatchNorm3d -> ReLU, with the attribute names that fix the checkpoint names."""

    def __init__(self, in_channels, out_channels, kernel_size=(1, 1, 1), stride=(1, 1, 1),
                 conv_name="conv3d", bn_name="bn", bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS, train_gamma=False):
        super().__init__()
        self.conv_name = conv_name
        self.bn_name = bn_name
        setattr(self, conv_name, conv3d_same(in_channels, out_channels, kernel_size, stride=stride,
                                             weight_init=HeNormal(mode="fan_out")))
        bn = nn.BatchNorm3d(out_channels, eps=bn_eps, momentum=bn_momentum, affine=True)
        # DeepMind's BN has no scale: keep gamma (ones) for the checkpoint names, never train it.
        bn.bn2d.gamma.requires_grad = train_gamma
        setattr(self, bn_name, bn)
        self.relu = nn.ReLU()

    def construct(self, x):
        x = getattr(self, self.conv_name)(x)
        x = getattr(self, self.bn_name)(x)
        return self.relu(x)

    def freeze(self, batch_statistics=False):
        """Fine-tuning freeze: no gradients, and BN normalises with (and keeps) its stored statistics,
        unless `batch_statistics` (arch original) leaves BN in training behaviour."""
        for param in self.get_parameters():
            param.requires_grad = False
        if not batch_statistics:
            getattr(self, self.bn_name).bn2d.use_batch_statistics = False


class InceptionBlock(nn.Cell):
    """Four branches (1x1 | 1x1-3x3 | 1x1-3x3 | maxpool-1x1) concatenated on channels."""

    def __init__(self, prefix, in_channels, channels, **bn_options):
        super().__init__()
        self.prefix = prefix
        for unit, (cin, cout, kernel) in inception_unit_specs(in_channels, channels).items():
            setattr(self, f"{prefix}_{unit}", Unit3D(cin, cout, kernel, **bn_options))
        setattr(self, f"{prefix}_b3a", max_pool_3d((3, 3, 3), (1, 1, 1)))
        self.concat = ops.Concat(axis=1)

    def construct(self, x):
        p = self.prefix
        y0 = getattr(self, p + "_b0")(x)
        y1 = getattr(self, p + "_b1b")(getattr(self, p + "_b1a")(x))
        y2 = getattr(self, p + "_b2b")(getattr(self, p + "_b2a")(x))
        y3 = getattr(self, p + "_b3b")(getattr(self, p + "_b3a")(x))
        return self.concat((y0, y1, y2, y3))

    def units(self):
        return [getattr(self, f"{self.prefix}_{u}") for u in INCEPTION_UNITS]


class I3DHead(nn.Cell):
    """Pool -> dropout -> 1x1x1 logits conv (bias) -> mean over the remaining positions -> (N, classes).

    `avg` is DeepMind's head: AvgPool (2,7,7) stride 1 VALID, the window shrunk to the feature map
    where the map is smaller (short clips, small frames). `max` is the original port's global max pool.
    The pooling is written with means and slices (identical to AvgPool3D to ~1e-8) so ONNX can export it;
    only maps larger than 7x7 (frames over 224) need a real window pool, see `window_mean`.
    """

    def __init__(self, num_classes, head="avg", dropout_keep_prob=1.0, init="fan_in"):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if init not in HEAD_INITS:
            raise ValueError(f"head init must be one of {HEAD_INITS}, got {init!r}")
        self.init = init
        self.head = head
        self.dropout = SeededDropout(dropout_keep_prob)
        self.num_classes = num_classes
        self.logits_conv3d = self._new_conv(num_classes)

    def _new_conv(self, num_classes):
        # fan_in: std 1/sqrt(1024), logits start near unit scale. fan_out (arch original): HeNormal with
        # std sqrt(2/num_classes), i.e. initial logits in the tens for 51 classes and a huge first loss.
        init = HeNormal(mode="fan_in", nonlinearity="linear") if self.init == "fan_in" else HeNormal(mode="fan_out")
        return nn.Conv3d(FEATURE_CHANNELS, num_classes, (1, 1, 1), pad_mode="same", has_bias=True,
                         weight_init=init, bias_init=Zero())

    def replace_classes(self, num_classes):
        # Assigned on this cell, so the names stay `logits_conv3d.*` (not `logits.logits_conv3d.*`).
        self.num_classes = num_classes
        self.logits_conv3d = self._new_conv(num_classes)

    def pool(self, x):
        _, _, t, h, w = x.shape
        if self.head == "max":
            return x.max(axis=(2, 3, 4), keepdims=True)
        if h <= 7 and w <= 7:
            x = x.mean(axis=(3, 4), keep_dims=True)
        else:
            x = self.window_mean(x)
        if t >= 2:
            x = (x[:, :, :-1] + x[:, :, 1:]) * 0.5
        return x

    def window_mean(self, x):
        """Mean of every 7x7 spatial window (stride 1, VALID); src/deploy/export.py swaps in an ONNX-exportable form."""
        return ops.avg_pool3d(x, (1, 7, 7), 1)

    def construct(self, x):
        x = self.logits_conv3d(self.dropout(self.pool(x)))
        return x.mean(axis=(2, 3, 4))


class InceptionI3D(nn.Cell):
    """I3D with named endpoints; builds and runs the layers up to `final_endpoint`.

    Output: (N, num_classes) logits for final_endpoint='logits', else that endpoint's feature map.
    """

    def __init__(self, num_classes=400, in_channels=3, head="avg", dropout_keep_prob=1.0,
                 final_endpoint="logits", bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS, train_gamma=False,
                 head_init="fan_in", bgr_input=False):
        super().__init__()
        if not 0.0 <= bn_momentum < 1.0:
            raise ValueError(f"bn_momentum (weight of the old running value) must be in [0, 1), got {bn_momentum}")
        if final_endpoint not in VALID_ENDPOINTS:
            raise ValueError(f"unknown final_endpoint {final_endpoint!r}; valid: {VALID_ENDPOINTS}")
        if in_channels not in (2, 3):
            raise ValueError(f"in_channels must be 3 (rgb) or 2 (flow), got {in_channels}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.in_channels = in_channels
        self.final_endpoint = final_endpoint
        self.bgr_input = bool(bgr_input) and in_channels == 3  # see src/model/arch.py
        bn_options = {"bn_momentum": bn_momentum, "bn_eps": bn_eps, "train_gamma": train_gamma}
        endpoints = []
        channels = in_channels
        for name in VALID_ENDPOINTS:
            cell, channels = self._make_endpoint(name, channels, num_classes, head, dropout_keep_prob, bn_options,
                                                 head_init)
            self.insert_child_to_cell(name, cell)
            endpoints.append(name)
            if name == final_endpoint:
                break
        self.endpoints = tuple(endpoints)

    @staticmethod
    def _make_endpoint(name, cin, num_classes, head, dropout_keep_prob, bn_options, head_init):
        if name in STEM_UNITS:
            cout, kernel, stride = STEM_UNITS[name]
            return Unit3D(cin, cout, kernel, stride, conv_name=name, bn_name=name + "_bn", **bn_options), cout
        if name in POOLS:
            kernel, stride = POOLS[name]
            return max_pool_3d(kernel, stride), cin
        if name in INCEPTION_CHANNELS:
            channels = INCEPTION_CHANNELS[name]
            return InceptionBlock(name, cin, channels, **bn_options), inception_out_channels(channels)
        return I3DHead(num_classes, head, dropout_keep_prob, head_init), num_classes

    def construct(self, x):
        if self.bgr_input:
            x = rgb_to_bgr(x)
        for name in self.endpoints:
            x = getattr(self, name)(x)
        return x

    @property
    def num_classes(self):
        return self.logits.num_classes

    def replace_logits(self, num_classes):
        """A new, randomly initialised classifier for fine-tuning (names stay `logits_conv3d.*`)."""
        if "logits" not in self.endpoints:
            raise ValueError(f"this network ends at {self.final_endpoint}: it has no logits to replace")
        self.logits.replace_classes(num_classes)

    def units(self):
        """Every Unit3D in network order, with the endpoint it belongs to."""
        found = []
        for name in self.endpoints:
            cell = getattr(self, name)
            if isinstance(cell, Unit3D):
                found.append((name, cell))
            elif isinstance(cell, InceptionBlock):
                found.extend((name, unit) for unit in cell.units())
        return found


def build_i3d(mode="rgb", num_classes=400, **kwargs):
    """InceptionI3D for a stream: `rgb` has 3 input channels, `flow` 2 (x, y)."""
    return InceptionI3D(num_classes=num_classes, in_channels=INPUT_CHANNELS[check_mode(mode)], **kwargs)


def parameter_names(net):
    """Checkpoint names in network order (the names load_param_into_net/save_checkpoint use)."""
    return [p.name for p in net.get_parameters()]
