// troupe demo: a local cluster of three node processes on loopback, typed
// messages across them from a client actor, a chunked tensor upload, and a
// node killed with SIGKILL and seen down by the others, DDP training of a
// digits MLP (compiled to native code by `troupe compile`), and the digits
// models served over REST.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/core.h>

#include "actors/common/echo_load.hpp"
#include "apps/command.hpp"
#include "apps/compile_command.hpp"
#include "apps/demo_serving.hpp"
#include "messages/echo_protocol.hpp"
#include "messages/errors.hpp"
#include "messages/tensor_chunks.hpp"
#include "runtime/cluster_client.hpp"
#include "runtime/local_cluster.hpp"
#include "runtime/node.hpp"

namespace troupe {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct demo_options {
  size_t round_trips = 2000;
  size_t pipelined = 20000;
  size_t window = 64;
  size_t tensor_mib = 64;
  int train_epochs = 8;
  bool keep_dir = false;
};

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

// Polls until `pred(members)` holds; the time it took, or an error.
template <class Pred>
caf::expected<double> wait_for_members(cluster_client& client, Pred pred,
                                       std::chrono::milliseconds timeout) {
  auto start = clock_type::now();
  while (clock_type::now() - start < timeout) {
    if (auto members = client.members(); members && pred(*members))
      return ms_since(start);
    std::this_thread::sleep_for(10ms);
  }
  return make_error(errc::timeout, "membership did not reach the expected state");
}

bool has_member(const member_list& members, const std::string& name) {
  for (auto& m : members)
    if (m.name == name)
      return true;
  return false;
}

// Step 7: `troupe train --nproc 2` runs the DDP digits example on the
// training split that troupe-make-models writes (from Debian's
// python3-sklearn), and saves the trained MLP as TorchScript and as ONNX;
// `troupe compile` (called in process) turns the ONNX model into native
// code. Step 8 serves both.
caf::error train_digits(const std::string& dir, const demo_options& options) {
  std::cout << "[7/8] training an MLP on the digits data set with DDP over 2 ranks\n";
  auto apps = std::filesystem::path{self_executable()}.parent_path();
  auto trainer = (apps / "troupe-digits-ddp").string();
  auto models = dir + "/models";
  auto make_log = dir + "/make-models.log";
  auto make = child_process::spawn({(apps / "troupe-make-models").string(), "--out", models},
                                   make_log);
  if (!make)
    return make.error();
  if (make->wait_for(180s).value_or(-1) != 0)
    return make_error(errc::unavailable,
                      "troupe-make-models failed (is python3-sklearn installed?), see " +
                        make_log);
  auto csv = models + "/train.csv";
  auto train_log = dir + "/train.log";
  auto run = child_process::spawn({self_executable(), "train", "--nproc", "2", "--", trainer,
                                   "--data", csv, "--epochs",
                                   std::to_string(options.train_epochs), "--save-torchscript",
                                   dir + "/digits_ddp_mlp.pt", "--save-onnx",
                                   dir + "/digits_ddp_mlp.onnx"},
                                  train_log);
  if (!run)
    return run.error();
  auto status = run->wait_for(300s);
  std::ifstream in{train_log};
  double accuracy = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("epoch ", 0) == 0 || line.rfind("final ", 0) == 0)
      std::cout << "      " << line << "\n";
    if (line.rfind("final accuracy ", 0) == 0)
      accuracy = std::stod(line.substr(15));
  }
  if (status.value_or(-1) != 0)
    return make_error(errc::unavailable, "troupe train failed, see " + train_log);
  if (accuracy < 0.9)
    return make_error(errc::invalid_argument,
                      "held-out accuracy " + std::to_string(accuracy) + " is below 0.9");
  std::cout << "      troupe compile digits_ddp_mlp.onnx -o digits_ddp_mlp.troupe\n";
  std::ostringstream out, err;
  auto rc = compile_model({dir + "/digits_ddp_mlp.onnx", dir + "/digits_ddp_mlp.troupe"}, out, err);
  for (std::istringstream lines{out.str()}; std::getline(lines, line);)
    std::cout << "        " << line << "\n";
  if (rc != exit_ok)
    return make_error(errc::invalid_argument, err.str());
  return caf::none;
}

int fail(const std::string& step, const caf::error& err) {
  std::cerr << "troupe demo: " << step << " failed: " << describe(err) << "\n";
  return exit_failure;
}

int run_demo(const demo_options& options) {
  char tmpl[] = "/tmp/troupe-demo-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::cerr << "troupe demo: cannot create a temporary directory\n";
    return exit_failure;
  }
  std::string dir = tmpl;
  int rc = exit_failure;
  {
    local_cluster cluster{self_executable(), dir};
    std::cout << "[1/8] starting 3 node processes on loopback (logs in " << dir << ")\n";
    for (auto& [name, service] : {std::pair{"a", ""}, std::pair{"b", "echo"},
                                  std::pair{"c", "echo=echo-c"}}) {
      std::vector<std::string> args;
      if (*service)
        args = {"--service", service};
      auto info = cluster.start_node(name, args);
      if (!info)
        return fail("starting node " + std::string{name}, info.error());
      std::cout << fmt::format("      node {} at {}:{} (pid {}){}\n", name, info->host,
                               info->port, info->pid,
                               *service ? std::string{", service "} + service : "");
    }
    node_config client_defaults;
    auto sys_cfg = make_actor_system_config(client_defaults);
    caf::actor_system sys{*sys_cfg};
    auto client = cluster_client::connect(sys, cluster.seed_address(), 5s);
    if (!client)
      return fail("connecting to the seed", client.error());

    std::cout << "[2/8] membership as seen by the seed\n";
    auto formed = wait_for_members(
      *client, [](const member_list& m) { return m.size() == 3; }, 10s);
    if (!formed)
      return fail("forming the cluster", formed.error());
    auto members = client->members();
    if (!members)
      return fail("reading the membership", members.error());
    for (auto& m : *members)
      std::cout << fmt::format("      {} at {}:{}\n", m.name, m.host, m.port);

    std::cout << "[3/8] looking up 'echo' in the cluster directory\n";
    caf::expected<echo_actor> echo = make_error(errc::not_found, "not yet");
    for (auto start = clock_type::now(); clock_type::now() - start < 5s;
         std::this_thread::sleep_for(20ms))
      if ((echo = client->lookup_as<echo_actor>("echo")))
        break;
    if (!echo)
      return fail("looking up 'echo'", echo.error());
    {
      caf::scoped_actor self{sys};
      caf::error err;
      self->request(*echo, 5s, echo_atom::value, std::string{"hello, troupe"})
        .receive(
          [&](const std::string& text, const std::string& node) {
            std::cout << fmt::format("      echo(\"{}\") answered by node {}\n", text, node);
          },
          [&](caf::error& e) { err = e; });
      if (err)
        return fail("the typed echo request", err);
    }

    std::cout << "[4/8] typed round trips from a client actor to node b\n";
    auto target = caf::actor_cast<caf::actor>(*echo);
    auto sequential = run_echo_load(sys, target, options.round_trips, 1, 5s, 60s);
    if (!sequential || sequential->errors > 0)
      return fail("sequential round trips",
                  sequential ? make_error(errc::unavailable, "some requests failed")
                             : sequential.error());
    std::cout << fmt::format("      {} sequential: median {:.1f} us, p99 {:.1f} us\n",
                             sequential->completed, sequential->latency_quantile_us(0.5),
                             sequential->latency_quantile_us(0.99));
    auto pipelined = run_echo_load(sys, target, options.pipelined, options.window, 5s, 60s);
    if (!pipelined || pipelined->errors > 0)
      return fail("pipelined round trips",
                  pipelined ? make_error(errc::unavailable, "some requests failed")
                            : pipelined.error());
    std::cout << fmt::format("      {} pipelined (window {}): {:.0f} round trips/s\n",
                             pipelined->completed, options.window, pipelined->per_second());

    std::cout << fmt::format("[5/8] uploading a {} MiB tensor in {} MiB chunks\n",
                             options.tensor_mib, default_chunk_bytes >> 20);
    {
      auto elements = static_cast<int64_t>(options.tensor_mib << 20) / 4;
      std::vector<float> values(static_cast<size_t>(elements));
      for (size_t i = 0; i < values.size(); ++i)
        values[i] = static_cast<float>(i % 1000) * 0.5f;
      auto t = tensor::from_floats({elements}, values);
      auto expected_sum = fnv1a(t.bytes.data(), t.bytes.size());
      auto start = clock_type::now();
      caf::scoped_actor self{sys};
      chunk_ack last;
      caf::error err;
      for (auto& chunk : split_into_chunks(t, 1)) {
        self->request(*echo, 10s, echo_atom::value, std::move(chunk))
          .receive([&](const chunk_ack& ack) { last = ack; }, [&](caf::error& e) { err = e; });
        if (err)
          return fail("the tensor upload", err);
      }
      auto ms = ms_since(start);
      if (!last.complete || last.checksum != expected_sum)
        return fail("the tensor upload",
                    make_error(errc::invalid_argument, "checksum mismatch after upload"));
      std::cout << fmt::format("      {} chunks in {:.0f} ms ({:.0f} MiB/s), checksum matches\n",
                               last.received, ms, options.tensor_mib / (ms / 1000.0));
    }

    std::cout << "[6/8] killing node c with SIGKILL\n";
    cluster.signal("c", SIGKILL);
    auto noticed = wait_for_members(
      *client, [](const member_list& m) { return !has_member(m, "c"); }, 10s);
    if (!noticed)
      return fail("noticing the dead node", noticed.error());
    auto names = client->directory();
    bool echo_c_gone = names && std::none_of(names->begin(), names->end(), [](auto& e) {
                         return e.name == "echo-c";
                       });
    std::cout << fmt::format("      seed saw c down after {:.0f} ms; its name echo-c {}\n",
                             *noticed, echo_c_gone ? "is gone" : "is STILL listed");
    if (!echo_c_gone)
      return fail("dropping the dead node's names", make_error(errc::invalid_argument, "echo-c listed"));
    if (auto err = train_digits(dir, options))
      return fail("training the digits MLP", err);
    if (auto err = serve_digits(self_executable(), dir))
      return fail("serving the digits models", err);
    std::cout << "demo finished: all steps passed\n";
    rc = exit_ok;
  }
  if (!options.keep_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return rc;
}

} // namespace

command_runner add_demo_command(CLI::App& app) {
  auto options = std::make_shared<demo_options>();
  auto* cmd = app.add_subcommand("demo", "Start a local 3-node cluster and show it at work");
  cmd->add_option("--round-trips", options->round_trips, "sequential round trips to time")
    ->capture_default_str()
    ->check(CLI::Range(1, 10000000));
  cmd->add_option("--pipelined", options->pipelined, "pipelined round trips to time")
    ->capture_default_str()
    ->check(CLI::Range(1, 100000000));
  cmd->add_option("--window", options->window, "requests in flight when pipelined")
    ->capture_default_str()
    ->check(CLI::Range(1, 100000));
  cmd->add_option("--tensor-mib", options->tensor_mib, "size of the uploaded tensor in MiB")
    ->capture_default_str()
    ->check(CLI::Range(1, 4096));
  cmd->add_option("--train-epochs", options->train_epochs, "epochs of the digits training step")
    ->capture_default_str()
    ->check(CLI::Range(1, 1000));
  cmd->add_flag("--keep-dir", options->keep_dir, "keep the nodes' logs after the demo");
  return [options] { return run_demo(*options); };
}

} // namespace troupe
