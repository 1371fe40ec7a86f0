"""numnet export: a saved model as an ONNX file, for any ONNX runtime (needs numnet[onnx])."""
from __future__ import annotations

from .common import Output, add_json_option, positive_int


def add_parser(sub):
    p = sub.add_parser("export", help="write a saved model as an ONNX graph (needs the onnx package)",
                       description="Export a saved model to ONNX: input 'input' of shape (batch, *input shape), "
                                   "outputs 'logits' and 'probabilities' (batch, classes); dynamic batch size.")
    p.add_argument("model", metavar="MODEL", help="model file from `numnet train --save model.npz`")
    p.add_argument("output", metavar="OUT", help="ONNX file to write, e.g. model.onnx (written atomically; never over MODEL or a special file)")
    p.add_argument("--input", default="pixels", choices=["pixels", "uint8", "scaled"],
                   help="what the graph's input holds: float pixels 0..255 (default; scaled by 1/255 in the "
                        "graph, as numnet does for uint8 images), uint8 pixels 0..255, or already scaled floats")
    p.add_argument("--opset", type=positive_int, default=None, metavar="N",
                   help="ONNX opset version (default 17; at least 13)")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None,
                   help="float type of the graph (default: the model's; onnxruntime has no float64 Conv, RNN, LSTM, GRU or Erf)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numnet
    from numnet.files import check_target
    from numnet.io.onnx_export import OPSET, export

    out = Output(args.json)
    check_target(args.output, "OUT", inputs=[args.model])                     # before any work
    model = numnet.load(args.model)
    info = export(model, args.output, input=args.input, opset=args.opset or OPSET, dtype=args.dtype,
                  what="OUT", inputs=[args.model])
    out.say(f"wrote {info['path']}: {info['bytes']:,} bytes, opset {info['opset']}, {info['nodes']} nodes; "
            f"input 'input' (batch, {', '.join(map(str, info['input_shape']))}) {info['input']}, {info['dtype']}, "
            f"outputs 'logits', 'probabilities'")
    out.emit({"onnx_path": info["path"], "bytes": info["bytes"], "opset": info["opset"], "input": info["input"],
              "input_shape": info["input_shape"], "dtype": info["dtype"], "nodes": info["nodes"], "seconds": info["seconds"]})
    return 0
