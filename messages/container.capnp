@0xfd0adaa8d4b0f0b7;
# Clipper's narrow model-container interface, for containers in other
# processes and languages (C++: troupe-container; Python:
# apps/python/troupe_container.py). A container serves one model: predict a
# batch, one output per input, in order.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire");

# One query's input (troupe::query_input). `kind` is troupe::input_kind:
# 0 doubles, 1 floats, 2 ints, 3 strings, 4 bytes. Numeric kinds carry
# `numbers`; strings and bytes carry `text`.
struct Input {
  kind @0 :UInt8;
  numbers @1 :List(Float64);
  text @2 :Data;
}

interface ModelContainer {
  # What the container serves. inputLength 0: any length.
  info @0 () -> (name :Text, version :UInt32, inputKind :UInt8,
                 inputLength :UInt64, pid :UInt32);

  # One output per input, in order. A batch the model refuses fails as a
  # whole with an exception whose description is "<errc>: <sentence>",
  # e.g. "invalid_argument: input 2 has 3 numbers, the model takes 64".
  predict @1 (inputs :List(Input)) -> (outputs :List(Text));

  # Answers at once while the container's event loop is alive.
  heartbeat @2 () -> ();
}
