// troupe-digits-ddp: trains an MLP (or, with --model cnn, a small CNN) on the digits data set (8x8 images, the
// copy that scikit-learn ships, exported as CSV: 64 pixel values then the
// label per line). Started by `troupe train --nproc N` it trains with DDP,
// each rank on its share of every global batch; started alone it trains
// locally on whole batches. Both print the same loss curve:
//   epoch E loss L accuracy A
// Rank 0 (or the local run) prints; the last line is "final accuracy A".
// Rank 0 may save the trained MLP as TorchScript (--save-torchscript) and as
// ONNX (--save-onnx, for `troupe compile`), both taking raw pixels 0..16.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <torch/script.h>
#include <fmt/core.h>
#include <onnx/onnx_pb.h>

#include "actors/training/distributed_data_parallel.hpp"
#include "messages/errors.hpp"
#include "runtime/collectives/make_process_group.hpp"
#include "runtime/node.hpp"

using namespace troupe;
using namespace troupe::training;

namespace {

struct options {
  std::string data;
  int epochs = 12;
  int64_t batch = 64;  // global: split over the ranks
  double lr = 0.05;
  int64_t hidden = 128;
  uint64_t seed = 7;
  std::string model = "mlp";
  std::string save_torchscript;  // rank 0 saves the trained MLP here
  std::string save_onnx;         // ... and here, as ONNX
  int64_t onnx_batch = 8;        // the ONNX model's fixed batch size
};

struct dataset {
  torch::Tensor x;  // [n, 64] float, scaled to 0..1
  torch::Tensor y;  // [n] int64
};

caf::expected<dataset> load_csv(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::not_found, "cannot read data file '" + path + "'");
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty())
      continue;
    std::stringstream fields{line};
    std::vector<float> row;
    for (std::string f; std::getline(fields, f, ',');)
      row.push_back(std::strtof(f.c_str(), nullptr));
    if (row.size() != 65)
      return make_error(errc::invalid_argument,
                        path + ":" + std::to_string(line_no) + ": expected 65 values, got "
                          + std::to_string(row.size()));
    for (int i = 0; i < 64; ++i)
      pixels.push_back(row[static_cast<size_t>(i)] / 16.0f);
    labels.push_back(static_cast<int64_t>(row[64]));
  }
  auto n = static_cast<int64_t>(labels.size());
  if (n < 100)
    return make_error(errc::invalid_argument, path + " holds only " + std::to_string(n) + " rows");
  return dataset{torch::from_blob(pixels.data(), {n, 64}).clone(),
                 torch::from_blob(labels.data(), {n}, torch::kInt64).clone()};
}

struct MlpImpl : torch::nn::Module {
  explicit MlpImpl(int64_t hidden) {
    fc1 = register_module("fc1", torch::nn::Linear(64, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, hidden));
    fc3 = register_module("fc3", torch::nn::Linear(hidden, 10));
  }
  torch::Tensor forward(torch::Tensor x) {
    return fc3->forward(torch::relu(fc2->forward(torch::relu(fc1->forward(x)))));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};
TORCH_MODULE(Mlp);

// A small CNN on the 8x8 images: two 3x3 convolutions, a 2x2 max-pool.
struct CnnImpl : torch::nn::Module {
  CnnImpl() {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)));
    fc1 = register_module("fc1", torch::nn::Linear(32 * 4 * 4, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 10));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = x.view({-1, 1, 8, 8});
    x = torch::relu(conv1->forward(x));
    x = torch::max_pool2d(torch::relu(conv2->forward(x)), 2);
    return fc2->forward(torch::relu(fc1->forward(x.flatten(1))));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Cnn);

// The trained MLP as a TorchScript module that the serving system's
// "torchscript" backend deploys: it takes the raw pixels (0..16), as the
// digits app receives them, and scales them as training did.
caf::error save_script(Mlp& mlp, const std::string& path) {
  torch::jit::Module m{"TroupeDigitsMlp"};
  std::string body = "def forward(self, x):\n    h = x * 0.0625\n";
  int n = 0;
  for (auto* layer : {&mlp->fc1, &mlp->fc2, &mlp->fc3}) {
    auto i = std::to_string(++n);
    m.register_parameter("w" + i, (*layer)->weight.detach().clone(), false);
    m.register_parameter("b" + i, (*layer)->bias.detach().clone(), false);
    body += "    h = torch.linear(h, self.w" + i + ", self.b" + i + ")\n";
    if (n < 3)
      body += "    h = torch.relu(h)\n";
  }
  body += "    return h\n";
  try {
    m.define(body);
    m.save(path);
  } catch (const std::exception& e) {
    return make_error(errc::io_failure, "cannot save TorchScript to '" + path + "': " + e.what());
  }
  return caf::none;
}

caf::error save_script(Cnn&, const std::string&) {
  return make_error(errc::invalid_argument, "--save-torchscript supports --model mlp only");
}

// The trained MLP as an ONNX model (opset 13) with a fixed batch, for
// `troupe compile`: the same computation as save_script, raw pixels in
// (Mul by 1/16, then Gemm with transB=1 and Relu per layer), logits out.
caf::error save_onnx(Mlp& mlp, int64_t batch, const std::string& path) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("troupe-digits-ddp");
  model.add_opset_import()->set_version(13);
  auto* g = model.mutable_graph();
  g->set_name("troupe_digits_mlp");
  auto add_value = [](onnx::ValueInfoProto* v, const std::string& name,
                      std::vector<int64_t> shape) {
    v->set_name(name);
    auto* type = v->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    for (auto d : shape)
      type->mutable_shape()->add_dim()->set_dim_value(d);
  };
  auto add_initializer = [&](const std::string& name, const torch::Tensor& t) {
    auto values = t.detach().to(torch::kFloat32).contiguous();
    auto* init = g->add_initializer();
    init->set_name(name);
    init->set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (auto d : values.sizes())
      init->add_dims(d);
    auto* p = values.data_ptr<float>();
    for (int64_t i = 0; i < values.numel(); ++i)
      init->add_float_data(p[i]);
  };
  auto add_node = [&](const std::string& op, std::vector<std::string> inputs,
                      const std::string& output) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (auto& in : inputs)
      n->add_input(in);
    n->add_output(output);
    return n;
  };
  add_value(g->add_input(), "pixels", {batch, 64});
  add_initializer("scale", torch::full({1}, 0.0625f));
  std::string h = add_node("Mul", {"pixels", "scale"}, "scaled")->output(0);
  int n = 0;
  for (auto* layer : {&mlp->fc1, &mlp->fc2, &mlp->fc3}) {
    auto i = std::to_string(++n);
    add_initializer("fc" + i + ".weight", (*layer)->weight);
    add_initializer("fc" + i + ".bias", (*layer)->bias);
    auto* gemm = add_node("Gemm", {h, "fc" + i + ".weight", "fc" + i + ".bias"},
                          n < 3 ? "fc" + i : "logits");
    auto* trans_b = gemm->add_attribute();
    trans_b->set_name("transB");
    trans_b->set_type(onnx::AttributeProto_AttributeType_INT);
    trans_b->set_i(1);
    h = gemm->output(0);
    if (n < 3)
      h = add_node("Relu", {h}, "relu" + i)->output(0);
  }
  add_value(g->add_output(), "logits", {batch, 10});
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !model.SerializeToOstream(&out))
    return make_error(errc::io_failure, "cannot write the ONNX model '" + path + "'");
  return caf::none;
}

caf::error save_onnx(Cnn&, int64_t, const std::string&) {
  return make_error(errc::invalid_argument, "--save-onnx supports --model mlp only");
}

// A permutation of 0..n-1 that every rank computes alike.
std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  std::mt19937_64 rng{seed};
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

torch::Tensor rows(const torch::Tensor& t, const std::vector<int64_t>& idx, size_t from, size_t to) {
  std::vector<int64_t> part(idx.begin() + static_cast<ptrdiff_t>(from),
                            idx.begin() + static_cast<ptrdiff_t>(to));
  return t.index_select(0, torch::tensor(part, torch::kInt64));
}

template <class Model>
int train(Model model, const options& o, const dataset& data,
          std::shared_ptr<collectives::process_group> group, caf::actor_system* sys) {
  int rank = group ? group->rank() : 0;
  int world = group ? group->size() : 1;
  if (o.batch % world != 0) {
    std::cerr << "troupe-digits-ddp: --batch " << o.batch << " is not divisible by " << world
              << " ranks\n";
    return 2;
  }
  std::unique_ptr<distributed_data_parallel<Model>> ddp;
  if (group) {
    auto made = distributed_data_parallel<Model>::make(model, group, *sys);
    if (!made) {
      std::cerr << "troupe-digits-ddp: " << describe(made.error()) << "\n";
      return 1;
    }
    ddp = std::move(*made);
  }
  auto forward = [&](const torch::Tensor& x) { return ddp ? ddp->forward(x) : model->forward(x); };
  auto n = data.x.size(0);
  auto split = permutation(n, o.seed);
  auto n_test = n / 5;
  std::vector<int64_t> test_idx(split.begin(), split.begin() + n_test);
  std::vector<int64_t> train_idx(split.begin() + n_test, split.end());
  auto test_x = rows(data.x, test_idx, 0, test_idx.size());
  auto test_y = rows(data.y, test_idx, 0, test_idx.size());
  torch::optim::SGD optimizer{model->parameters(), torch::optim::SGDOptions{o.lr}.momentum(0.9)};
  auto per_rank = static_cast<size_t>(o.batch / world);
  double accuracy = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    auto order = permutation(static_cast<int64_t>(train_idx.size()), o.seed + 1 + epoch);
    std::vector<int64_t> epoch_idx;
    for (auto i : order)
      epoch_idx.push_back(train_idx[static_cast<size_t>(i)]);
    double loss_sum = 0;
    int batches = 0;
    for (size_t start = 0; start + static_cast<size_t>(o.batch) <= epoch_idx.size();
         start += static_cast<size_t>(o.batch)) {
      auto from = start + static_cast<size_t>(rank) * per_rank;
      auto x = rows(data.x, epoch_idx, from, from + per_rank);
      auto y = rows(data.y, epoch_idx, from, from + per_rank);
      optimizer.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(forward(x), y);
      loss.backward();
      optimizer.step();
      loss_sum += loss.template item<double>();
      ++batches;
    }
    // The global loss: the mean over ranks of their local means.
    double mean_loss = loss_sum / batches;
    if (group) {
      auto w = group->allreduce(&mean_loss, 1, dtype::float64, collectives::reduce_op::average);
      if (auto err = w->wait()) {
        std::cerr << "troupe-digits-ddp: " << describe(err) << "\n";
        return 1;
      }
    }
    {
      torch::NoGradGuard no_grad;
      auto predicted = model->forward(test_x).argmax(1);
      accuracy = predicted.eq(test_y).to(torch::kFloat64).mean().template item<double>();
    }
    if (rank == 0)
      std::cout << fmt::format("epoch {} loss {:.6f} accuracy {:.4f}", epoch, mean_loss, accuracy)
                << std::endl;
  }
  if (rank == 0)
    std::cout << fmt::format("final accuracy {:.4f}", accuracy) << std::endl;
  if (rank == 0 && !o.save_torchscript.empty()) {
    if (auto err = save_script(model, o.save_torchscript)) {
      std::cerr << "troupe-digits-ddp: " << describe(err) << "\n";
      return 1;
    }
    std::cout << "saved TorchScript model " << o.save_torchscript << std::endl;
  }
  if (rank == 0 && !o.save_onnx.empty()) {
    if (auto err = save_onnx(model, o.onnx_batch, o.save_onnx)) {
      std::cerr << "troupe-digits-ddp: " << describe(err) << "\n";
      return 1;
    }
    std::cout << "saved ONNX model " << o.save_onnx << std::endl;
  }
  return 0;
}

// Builds the chosen model (seeded alike on every rank) and trains it.
int train_model(const options& o, const dataset& data,
                std::shared_ptr<collectives::process_group> group, caf::actor_system* sys) {
  torch::manual_seed(o.seed);
  if (o.model == "cnn")
    return train(Cnn{}, o, data, std::move(group), sys);
  return train(Mlp{o.hidden}, o, data, std::move(group), sys);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Train an MLP or a small CNN on the digits data set, with DDP under troupe train",
               "troupe-digits-ddp"};
  app.add_option("--data", o.data, "CSV: 64 pixel values (0..16) and the label per line")->required();
  app.add_option("--epochs", o.epochs, "passes over the training set")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--batch", o.batch, "global batch, split over the ranks")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--lr", o.lr, "SGD learning rate")->capture_default_str();
  app.add_option("--hidden", o.hidden, "hidden width of the MLP")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--seed", o.seed, "seed of the split, the weights and the shuffling")->capture_default_str();
  app.add_option("--model", o.model, "mlp or cnn")->capture_default_str()->check(CLI::IsMember({"mlp", "cnn"}));
  app.add_option("--save-torchscript", o.save_torchscript,
                 "rank 0 saves the trained MLP here as TorchScript (takes raw pixels 0..16), "
                 "for `troupe serve add-model --backend torchscript`");
  app.add_option("--save-onnx", o.save_onnx,
                 "rank 0 saves the trained MLP here as ONNX (opset 13, raw pixels 0..16 in, "
                 "logits out), for `troupe compile`");
  app.add_option("--onnx-batch", o.onnx_batch, "the batch size fixed in the ONNX model")
    ->capture_default_str()
    ->check(CLI::Range(1, 4096));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Bad usage exits 2, as every Troupe program does (CLI11's own codes
    // start at 100).
    return app.exit(e) == 0 ? 0 : 2;
  }
  torch::set_num_threads(1);
  auto data = load_csv(o.data);
  if (!data) {
    std::cerr << "troupe-digits-ddp: " << describe(data.error()) << "\n";
    return 2;
  }
  if (!std::getenv("TROUPE_RANK"))
    return train_model(o, *data, nullptr, nullptr);
  auto info = collectives::rendezvous_from_env();
  if (!info) {
    std::cerr << "troupe-digits-ddp: " << describe(info.error()) << "\n";
    return 2;
  }
  auto cfg = make_actor_system_config(node_config{});
  caf::actor_system sys{*cfg};
  auto group = collectives::make_process_group(sys, *info);
  if (!group) {
    std::cerr << "troupe-digits-ddp: " << describe(group.error()) << "\n";
    return 1;
  }
  return train_model(o, *data, std::move(*group), &sys);
}
