// troupe node: runs one node until SIGINT or SIGTERM.
#include <csignal>
#include <thread>
#include <iostream>

#include <sys/prctl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "actors/builtin_services.hpp"
#include "apps/command.hpp"
#include "messages/errors.hpp"
#include "runtime/logging.hpp"
#include "runtime/node.hpp"
#include "runtime/node_config.hpp"

namespace troupe {

namespace {

struct node_options {
  std::string config_file;
  std::string name;
  std::string host;
  int port = -1;
  std::string seed;
  std::vector<std::string> services;
  std::string store;
  int metrics_port = -2;
  std::string ready_file;
  std::string log_level;
  std::vector<std::string> settings;
  bool help_config = false;
  int parent_pid = 0;
};

// Turns the dedicated flags into section.key=value overrides, applied after
// the file and before --set (so --set wins).
std::vector<std::string> overrides_of(const node_options& o) {
  std::vector<std::string> result;
  auto quoted = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\')
        q += '\\';
      q += c;
    }
    return q + "\"";
  };
  if (!o.name.empty())
    result.push_back("node.name=" + quoted(o.name));
  if (!o.host.empty())
    result.push_back("node.host=" + quoted(o.host));
  if (o.port >= 0)
    result.push_back("node.port=" + std::to_string(o.port));
  if (!o.seed.empty())
    result.push_back("node.seed=" + quoted(o.seed));
  if (!o.services.empty()) {
    std::string list = "node.services=[";
    for (size_t i = 0; i < o.services.size(); ++i)
      list += (i ? "," : "") + quoted(o.services[i]);
    result.push_back(list + "]");
  }
  if (!o.store.empty())
    result.push_back("store.path=" + quoted(o.store));
  if (o.metrics_port >= -1)
    result.push_back("metrics.port=" + std::to_string(o.metrics_port));
  if (!o.ready_file.empty())
    result.push_back("node.ready_file=" + quoted(o.ready_file));
  if (!o.log_level.empty())
    result.push_back("log.level=" + quoted(o.log_level));
  result.insert(result.end(), o.settings.begin(), o.settings.end());
  return result;
}

void print_config_keys() {
  std::cout << "Keys of a node configuration file (TOML; also --set section.key=value):\n";
  for (auto& key : node_config_keys())
    std::cout << "  " << key.key << " (" << key.type << ")\n      " << key.help << "\n";
  std::cout << "Service kinds for node.services:\n";
  for (auto* entry : builtin_services().entries())
    std::cout << "  " << entry->kind << ": " << entry->help << "\n";
}

int run_node(const node_options& options) {
  if (options.help_config) {
    print_config_keys();
    return exit_ok;
  }
  if (options.parent_pid > 0) {
    // Die with the launcher (demo, test, benchmark), even if it is killed:
    // the kernel sends SIGTERM, which the loop below turns into a clean stop.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != options.parent_pid) {
      std::cerr << "troupe node: parent process " << options.parent_pid << " is gone\n";
      return exit_failure;
    }
  }
  auto cfg = load_node_config(options.config_file, overrides_of(options));
  if (!cfg) {
    std::cerr << "troupe node: " << describe(cfg.error()) << "\n";
    return exit_bad_usage;
  }
  init_logging(cfg->name, cfg->log_level);
  // Block the stop signals before CAF starts its threads, so that only
  // sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto started = node::start(*cfg, builtin_services());
  if (!started) {
    std::cerr << "troupe node: " << describe(started.error()) << "\n";
    auto& err = started.error();
    return is(err, errc::invalid_config) ? exit_bad_usage : exit_failure;
  }
  auto& n = **started;
  std::cout << "troupe node " << n.info().name << " listening on " << n.info().host << ":"
            << n.info().port << std::endl;
  int signo = 0;
  sigwait(&stop_signals, &signo);
  spdlog::info("stopping signal={}", signo);
  // CAF 0.17 can wait forever for a detached actor that a vanished peer
  // still references. By then every actor has processed its exit (the store
  // has closed RocksDB), so a bounded wait loses nothing.
  // The watchdog only watches; the system is torn down on this thread (CAF
  // does not finish its shutdown when it runs elsewhere).
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds{5});
    spdlog::warn("actor system did not stop within 5 s; exiting anyway");
    spdlog::default_logger()->flush();
    std::_Exit(exit_ok);
  }).detach();
  started->reset();
  return exit_ok;
}

} // namespace

command_runner add_node_command(CLI::App& app) {
  auto options = std::make_shared<node_options>();
  auto* cmd = app.add_subcommand("node", "Run one node of a Troupe cluster until SIGINT/SIGTERM");
  cmd->add_option("-c,--config", options->config_file, "TOML configuration file (config/node.toml)");
  cmd->add_option("--name", options->name, "unique node name (node.name)");
  cmd->add_option("--host", options->host, "address to listen on and advertise (node.host)");
  cmd->add_option("-p,--port", options->port, "port; 0 picks a free one (node.port)");
  cmd->add_option("--seed", options->seed, "host:port of a member to join (node.seed)");
  cmd->add_option("--service", options->services,
                  "built-in actor to start, kind[=name]: echo, model_host or tuning_measurer; "
                  "repeatable (node.services)");
  cmd->add_option("--store", options->store, "RocksDB directory of the state store (store.path)");
  cmd->add_option("--metrics-port", options->metrics_port,
                  "Prometheus endpoint port, 0 any, -1 off (metrics.port)");
  cmd->add_option("--ready-file", options->ready_file,
                  "write JSON {name,host,port,pid,metrics_port} here once serving");
  cmd->add_option("--log-level", options->log_level, "trace|debug|info|warn|error|off (log.level)");
  cmd->add_option("--set", options->settings, "override any key: section.key=value; repeatable");
  cmd->add_option("--parent-pid", options->parent_pid,
                  "stop when this process (the launcher) exits");
  cmd->add_flag("--help-config", options->help_config, "list every configuration key and exit");
  // Later flags win: launchers append their own after the user's.
  for (auto* opt : cmd->get_options())
    if (opt->get_expected_max() == 1)
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  return [options] { return run_node(*options); };
}

} // namespace troupe
