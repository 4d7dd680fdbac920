#include "actors/training/comm_hook.hpp"

#include <map>

namespace troupe::training {

namespace {

class allreduce_hook : public comm_hook {
public:
  /// `prescaled`: the bucket holds gradients divided by the world size
  /// already, so their sum is the average.
  explicit allreduce_hook(bool prescaled) : prescaled_(prescaled) {}

  std::string name() const override { return "allreduce"; }

  collectives::work_ptr launch(size_t, torch::Tensor& bucket,
                               collectives::process_group& group) override {
    return group.allreduce(bucket.data_ptr(), static_cast<size_t>(bucket.numel()),
                           dtype::float32,
                           prescaled_ ? collectives::reduce_op::sum
                                      : collectives::reduce_op::average);
  }

  void finish(size_t, torch::Tensor&) override {
    // The average is already in place.
  }

private:
  bool prescaled_;
};

class fp16_compression_hook : public comm_hook {
public:
  std::string name() const override { return "fp16_compression"; }

  collectives::work_ptr launch(size_t index, torch::Tensor& bucket,
                               collectives::process_group& group) override {
    // Divide before summing in half precision: the sum of world_size
    // averaged gradients cannot overflow where the raw sum might.
    auto& half = compressed_[index];
    half = (bucket / static_cast<double>(group.size())).to(torch::kHalf).contiguous();
    return group.allreduce(half.data_ptr(), static_cast<size_t>(half.numel()),
                           dtype::float16, collectives::reduce_op::sum);
  }

  void finish(size_t index, torch::Tensor& bucket) override {
    bucket.copy_(compressed_[index]);
  }

private:
  std::map<size_t, torch::Tensor> compressed_;
};

} // namespace

std::shared_ptr<comm_hook> make_allreduce_hook() {
  return std::make_shared<allreduce_hook>(false);
}

std::shared_ptr<comm_hook> make_prescaled_allreduce_hook() {
  return std::make_shared<allreduce_hook>(true);
}

std::shared_ptr<comm_hook> make_fp16_compression_hook() {
  return std::make_shared<fp16_compression_hook>();
}

} // namespace troupe::training
