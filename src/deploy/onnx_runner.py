"""Run an exported I3D ONNX model (export.py --file_format ONNX) with onnxruntime, for eval_onnx.py.

Same contract as the MINDIR runner (fixed input shape, any batch size, errors naming the file): the
deployment format is evaluated on exactly eval.py's protocol.
"""
from src.deploy.mindir_runner import FixedShapeRunner, MindirError

PROVIDERS = {"GPU": ["CUDAExecutionProvider", "CPUExecutionProvider"], "CPU": ["CPUExecutionProvider"]}


class OnnxRunner(FixedShapeRunner):
    def __init__(self, path, flag="--rgb_path", device_target="CPU"):
        self.device_target = device_target if device_target in PROVIDERS else "CPU"
        super().__init__(path, flag)

    def io_shapes(self):
        import onnxruntime as ort

        available = set(ort.get_available_providers())
        providers = [p for p in PROVIDERS[self.device_target] if p in available]
        try:
            self._session = ort.InferenceSession(str(self.path), providers=providers)
        except Exception as exc:  # onnxruntime's own errors for a file that is not an ONNX model
            raise MindirError(f"{self.flag} {self.path}: not a readable ONNX model ({exc})") from exc
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        self._input = inputs[0].name
        return tuple(inputs[0].shape), tuple(outputs[0].shape)

    def run_batch(self, batch):
        return self._session.run(None, {self._input: batch})[0]
