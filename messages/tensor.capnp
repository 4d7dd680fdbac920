@0x96e00e6d1c47e5ba;
# Troupe's wire vocabulary for peers that do not speak CAF: model containers
# in other processes and languages, clients in other languages.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire");

enum DType {
  float32 @0;
  float64 @1;
  float16 @2;
  bfloat16 @3;
  int8 @4;
  int16 @5;
  int32 @6;
  int64 @7;
  uint8 @8;
  bool @9;
}

# A dense row-major tensor.
struct Tensor {
  dtype @0 :DType;
  shape @1 :List(Int64);
  data @2 :Data;
}

# One piece of a large tensor (see messages/tensor_chunks.hpp).
struct TensorChunk {
  transferId @0 :UInt64;
  index @1 :UInt32;
  count @2 :UInt32;
  dtype @3 :DType;
  shape @4 :List(Int64);
  totalBytes @5 :UInt64;
  offset @6 :UInt64;
  data @7 :Data;
}
