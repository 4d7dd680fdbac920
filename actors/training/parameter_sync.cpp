#include "actors/training/parameter_sync.hpp"

#include <cstring>
#include <sstream>

#include "messages/errors.hpp"

namespace troupe::training {

namespace {

// "name:dtype:[d0, d1]" per tensor, one per line.
std::string describe_tensors(const torch::OrderedDict<std::string, torch::Tensor>& params,
                             const torch::OrderedDict<std::string, torch::Tensor>& buffers) {
  std::ostringstream out;
  for (auto* dict : {&params, &buffers})
    for (auto& item : *dict)
      out << item.key() << ":" << c10::toString(item.value().scalar_type()) << ":"
          << item.value().sizes() << "\n";
  return out.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::stringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

} // namespace

caf::error verify_same_parameters(collectives::process_group& group,
                                  const torch::OrderedDict<std::string, torch::Tensor>& params,
                                  const torch::OrderedDict<std::string, torch::Tensor>& buffers) {
  auto mine = describe_tensors(params, buffers);
  // Two rounds: everyone's length, then everyone's text padded to the longest.
  uint64_t my_length = mine.size();
  std::vector<uint64_t> lengths(static_cast<size_t>(group.size()));
  if (auto err = group.allgather(&my_length, lengths.data(), sizeof(uint64_t))->wait())
    return err;
  uint64_t longest = 0;
  for (auto n : lengths)
    longest = std::max(longest, n);
  std::string padded = mine;
  padded.resize(longest, '\0');
  std::string all(longest * lengths.size(), '\0');
  if (longest > 0)
    if (auto err = group.allgather(padded.data(), all.data(), longest)->wait())
      return err;
  auto reference = lines(all.substr(0, lengths[0]));
  for (size_t r = 1; r < lengths.size(); ++r) {
    auto theirs = lines(all.substr(r * longest, lengths[r]));
    for (size_t i = 0; i < std::max(reference.size(), theirs.size()); ++i) {
      auto a = i < reference.size() ? reference[i] : std::string{"nothing"};
      auto b = i < theirs.size() ? theirs[i] : std::string{"nothing"};
      if (a != b)
        return make_error(errc::invalid_argument,
                          "DDP: parameters differ across ranks: rank " + std::to_string(r)
                            + " has " + b + " where rank 0 has " + a);
    }
  }
  return caf::none;
}

caf::error broadcast_tensors(collectives::process_group& group,
                             std::vector<torch::Tensor>& tensors, int root) {
  size_t total = 0;
  for (auto& t : tensors)
    total += static_cast<size_t>(t.numel()) * t.element_size();
  if (total == 0)
    return caf::none;
  std::vector<uint8_t> buffer(total);
  if (group.rank() == root) {
    size_t offset = 0;
    for (auto& t : tensors) {
      auto c = t.detach().contiguous();
      auto n = static_cast<size_t>(c.numel()) * c.element_size();
      std::memcpy(buffer.data() + offset, c.data_ptr(), n);
      offset += n;
    }
  }
  if (auto err = group.broadcast(buffer.data(), total, root)->wait())
    return err;
  if (group.rank() != root) {
    torch::NoGradGuard no_grad;
    size_t offset = 0;
    for (auto& t : tensors) {
      auto n = static_cast<size_t>(t.numel()) * t.element_size();
      t.copy_(torch::from_blob(buffer.data() + offset, t.sizes(), t.options().requires_grad(false)));
      offset += n;
    }
  }
  return caf::none;
}

} // namespace troupe::training
