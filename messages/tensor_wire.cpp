#include "messages/tensor_wire.hpp"

#include <cstring>

#include <capnp/serialize.h>
#include <kj/exception.h>

#include "messages/errors.hpp"

namespace troupe {

void to_wire(const tensor& x, wire::Tensor::Builder out) {
  out.setDtype(static_cast<wire::DType>(x.type));
  auto shape = out.initShape(static_cast<unsigned>(x.shape.size()));
  for (size_t i = 0; i < x.shape.size(); ++i)
    shape.set(static_cast<unsigned>(i), x.shape[i]);
  out.setData(kj::arrayPtr(x.bytes.data(), x.bytes.size()));
}

caf::expected<tensor> from_wire(wire::Tensor::Reader in) {
  auto code = static_cast<uint16_t>(in.getDtype());
  if (code >= dtype_count)
    return make_error(errc::invalid_argument,
                      "tensor has an unknown dtype code " + std::to_string(code));
  tensor x;
  x.type = static_cast<dtype>(code);
  for (auto extent : in.getShape())
    x.shape.push_back(extent);
  auto data = in.getData();
  x.bytes.assign(data.begin(), data.end());
  if (auto err = validate(x))
    return err;
  return x;
}

std::vector<uint8_t> serialize_tensor(const tensor& x) {
  capnp::MallocMessageBuilder message;
  to_wire(x, message.initRoot<wire::Tensor>());
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

caf::expected<tensor> deserialize_tensor(const std::vector<uint8_t>& bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0)
    return make_error(errc::invalid_argument,
                      "a serialized tensor must be a whole number of 8-byte words, got "
                        + std::to_string(bytes.size()) + " bytes");
  // Copy into word-aligned storage; the input vector need not be aligned.
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  if (!bytes.empty())
    std::memcpy(words.begin(), bytes.data(), bytes.size());
  caf::expected<tensor> result = make_error(errc::invalid_argument, "empty message");
  auto failure = kj::runCatchingExceptions([&] {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() + 64;
    capnp::FlatArrayMessageReader reader(words, options);
    result = from_wire(reader.getRoot<wire::Tensor>());
  });
  KJ_IF_MAYBE (e, failure)
    return make_error(errc::invalid_argument,
                      std::string{"malformed tensor message: "} + e->getDescription().cStr());
  return result;
}

} // namespace troupe
