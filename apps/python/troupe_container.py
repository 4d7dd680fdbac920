"""Troupe's model-container SDK for Python: serve a predict function over
Cap'n Proto RPC (messages/container.capnp), so that Troupe's serving system
(a container supervisor and proxy) can batch queries to a Python model.

    import troupe_container
    troupe_container.serve(lambda inputs: [str(len(x)) for x in inputs],
                           name="my-model", version=1, input_kind="doubles")

Each input reaches `predict_fn` as a numpy float64 array (numeric kinds),
a str (strings) or bytes (bytes); it returns one string per input. An
exception fails the batch; raise ContainerError(code, sentence) to choose the
Troupe error code the caller gets (default: invalid_argument).

Needs pycapnp (apps/setup.sh installs it into /opt/troupe/venv).
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import traceback

import capnp  # pycapnp

INPUT_KINDS = ["doubles", "floats", "ints", "strings", "bytes"]
_NUMERIC = {0, 1, 2}
_SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                            "messages", "container.capnp")


class ContainerError(Exception):
    """Fails a batch with a Troupe error code (errors.hpp) and a sentence.

    pycapnp sends a failed call's Python traceback as the exception's
    description; its last line, "...ContainerError: <code>: <sentence>", is
    what the C++ side (container_wire.cpp, from_exception) reads back."""

    def __init__(self, code, sentence):
        super().__init__(f"{code}: {sentence}")
        self.code = code
        self.sentence = sentence


def load_schema(path=None):
    """The ModelContainer schema (messages/container.capnp of this checkout)."""
    # "/capnp/c++.capnp" resolves against pycapnp's own copy, else the system's.
    imports = [os.path.dirname(os.path.dirname(os.path.abspath(capnp.__file__))), "/usr/include"]
    return capnp.load(os.path.normpath(path or _SCHEMA_PATH), imports=imports)


def check_batch(inputs, name, input_kind, input_length):
    """The checks troupe-container applies, with the same sentences."""
    want_numbers = input_kind in _NUMERIC
    for i, x in enumerate(inputs):
        where = f"input {i} of the batch"
        if (x.kind in _NUMERIC) != want_numbers:
            kind = INPUT_KINDS[x.kind] if x.kind < len(INPUT_KINDS) else str(x.kind)
            raise ContainerError("invalid_argument",
                                 f"{where} is of kind {kind}, but model '{name}' takes "
                                 f"{INPUT_KINDS[input_kind]}")
        if want_numbers and input_length and len(x.numbers) != input_length:
            raise ContainerError("invalid_argument",
                                 f"{where} has {len(x.numbers)} numbers, but model '{name}' "
                                 f"takes {input_length}")


def _to_python(x):
    if x.kind in _NUMERIC:
        import numpy as np
        return np.array(list(x.numbers), dtype=np.float64)
    data = bytes(x.text)
    return data.decode("utf-8", errors="replace") if x.kind == 3 else data


def _make_server(schema, predict_fn, name, version, input_kind, input_length):
    class Container(schema.ModelContainer.Server):
        async def info(self, _context, **kwargs):
            r = _context.results
            r.name = name
            r.version = version
            r.inputKind = input_kind
            r.inputLength = input_length
            r.pid = os.getpid()

        async def predict(self, inputs, _context, **kwargs):
            try:
                check_batch(inputs, name, input_kind, input_length)
                outputs = [str(o) for o in predict_fn([_to_python(x) for x in inputs])]
            except ContainerError:
                raise
            except Exception as e:  # the model failed the batch, not the container
                traceback.print_exc()  # the whole story goes to the container's log
                raise ContainerError("invalid_argument",
                                     f"model '{name}' threw on the batch: "
                                     f"{type(e).__name__}: {e}") from None
            out = _context.results.init("outputs", len(outputs))
            for i, o in enumerate(outputs):
                out[i] = o

        async def heartbeat(self, _context, **kwargs):
            pass

    return Container()


def _write_ready_file(path, name, host, port):
    # Same JSON as runtime/ready_file.cpp, written atomically.
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"name": name, "host": host, "port": port, "metrics_port": -1,
                   "pid": os.getpid()}, f)
        f.write("\n")
    os.replace(tmp, path)


def _exit_with_supervisor():
    """Exits once the supervisor that started this container (its pid is in
    TROUPE_CONTAINER_PARENT_PID) is no longer our parent: no orphans."""
    parent = int(os.environ.get("TROUPE_CONTAINER_PARENT_PID", "0") or 0)
    if parent <= 0:
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        sys.stderr.write(f"container: supervisor {parent} is gone; exiting\n")
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def serve(predict_fn, name, version, input_kind, input_length=0, port=0, ready_file=None,
          host="127.0.0.1"):
    """Serves `predict_fn` until the process ends. `input_kind` is a name of
    INPUT_KINDS or its index; `input_length` the numbers per input (0: any);
    port 0 takes a free one, announced in `ready_file` (JSON) once serving."""
    if isinstance(input_kind, str):
        if input_kind not in INPUT_KINDS:
            raise ValueError(f"unknown input kind '{input_kind}' (there are: "
                             f"{', '.join(INPUT_KINDS)})")
        input_kind = INPUT_KINDS.index(input_kind)
    schema = load_schema()
    _exit_with_supervisor()

    async def main():
        async def on_connection(stream):
            server = capnp.TwoPartyServer(
                stream, bootstrap=_make_server(schema, predict_fn, name, version, input_kind,
                                               input_length))
            await server.on_disconnect()

        listener = await capnp.AsyncIoStream.create_server(on_connection, host, port)
        bound = listener.sockets[0].getsockname()[1]
        if ready_file:
            _write_ready_file(ready_file, name, host, bound)
        async with listener:
            await listener.serve_forever()

    asyncio.run(capnp.run(main()))  # pycapnp 2: a kj loop on top of asyncio


def add_arguments(parser):
    """The options a supervisor passes: --port, --ready-file, --host."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", default=None)
    return parser


if __name__ == "__main__":
    # A smoke container: outputs the number of numbers (or bytes) of each input.
    args = add_arguments(argparse.ArgumentParser(description=__doc__)).parse_args()
    serve(lambda xs: [len(x) for x in xs], "py-length", 1, "doubles", port=args.port,
          ready_file=args.ready_file, host=args.host)
