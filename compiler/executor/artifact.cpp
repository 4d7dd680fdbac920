#include "compiler/executor/artifact.hpp"

#include "compiler/codegen/jit.hpp"
#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace troupe::compiler {

namespace {

using json = nlohmann::json;

constexpr char magic[8] = {'T', 'R', 'P', 'C', 'M', 'D', 'L', '\0'};
constexpr size_t header_bytes = sizeof(magic) + sizeof(uint32_t) + sizeof(uint64_t);

uint64_t fnv1a(const char* data, size_t size) {
  uint64_t hash = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(data[i]);
    hash *= 1099511628211ull;
  }
  return hash;
}

template <class T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

void put_section(std::string& out, const std::string& bytes) {
  put<uint64_t>(out, bytes.size());
  out += bytes;
}

// JSON has no NaN or infinities (clip bounds may be infinite): those travel
// as strings.
json encode_double(double value) {
  if (std::isfinite(value))
    return value;
  return std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf";
}

double decode_double(const json& value) {
  if (value.is_number())
    return value.get<double>();
  auto text = value.get<std::string>();
  if (text == "nan")
    return NAN;
  if (text == "inf")
    return INFINITY;
  if (text == "-inf")
    return -INFINITY;
  throw compile_error("'" + text + "' is not a number");
}

json describe(const graph_executor& compiled, std::string& constants) {
  auto& g = compiled.model();
  json nodes = json::array();
  for (auto& n : g.nodes) {
    json floats = json::object();
    for (auto& [key, value] : n.floats)
      floats[key] = encode_double(value);
    json node = {{"name", n.name},     {"op", n.op},         {"inputs", n.inputs},
                 {"shape", n.shape},   {"type", static_cast<int>(n.type)},
                 {"ints", n.ints},     {"floats", floats},   {"strings", n.strings},
                 {"group", n.fusion_group}};
    if (n.op == "constant") {
      size_t count = n.data ? n.data->size() : 0;
      node["data"] = {constants.size() / sizeof(float), count};
      if (count)
        constants.append(reinterpret_cast<const char*>(n.data->data()), count * sizeof(float));
    }
    nodes.push_back(std::move(node));
  }
  json functions = json::array();
  for (auto& signature : compiled.signatures())
    functions.push_back({{"name", signature.name}, {"args", signature.arg_nodes}});
  return {{"target", host_target()}, {"nodes", nodes},         {"inputs", g.inputs},
          {"outputs", g.outputs},     {"functions", functions}};
}

// Reads the sections of an artifact's bytes; `what` names the file in errors.
class reader {
public:
  reader(const std::string& bytes, const std::string& what) : bytes_(bytes), what_(what) {}

  std::string section(const char* name) {
    auto size = get<uint64_t>(name);
    if (size > bytes_.size() - at_)
      fail(fmt::format("truncated: the {} needs {} bytes, {} are left", name, size,
                       bytes_.size() - at_));
    auto result = bytes_.substr(at_, size);
    at_ += size;
    return result;
  }

  template <class T>
  T get(const char* name) {
    if (bytes_.size() - at_ < sizeof(T))
      fail(fmt::format("truncated: the file ends before the {}", name));
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }

  size_t left() const { return bytes_.size() - at_; }

  [[noreturn]] void fail(const std::string& problem) const {
    throw compile_error(fmt::format("compiled model '{}': {}", what_, problem));
  }

private:
  const std::string& bytes_;
  const std::string& what_;
  size_t at_ = 0;
};

graph read_graph(const json& description, const std::string& constants, const reader& in) {
  graph g;
  size_t floats = constants.size() / sizeof(float);
  for (auto& node : description.at("nodes")) {
    graph_node n;
    n.name = node.at("name").get<std::string>();
    n.op = node.at("op").get<std::string>();
    n.inputs = node.at("inputs").get<std::vector<int>>();
    n.shape = node.at("shape").get<std::vector<int64_t>>();
    auto type = node.at("type").get<int>();
    if (type < 0 || type > static_cast<int>(dtype::boolean))
      in.fail(fmt::format("node '{}' has an unknown element type {}", n.name, type));
    n.type = static_cast<dtype>(type);
    n.ints = node.at("ints").get<std::map<std::string, std::vector<int64_t>>>();
    for (auto& [key, value] : node.at("floats").items())
      n.floats[key] = decode_double(value);
    n.strings = node.at("strings").get<std::map<std::string, std::string>>();
    n.fusion_group = node.at("group").get<int>();
    if (n.op == "constant") {
      auto range = node.at("data").get<std::vector<size_t>>();
      if (range.size() != 2 || range[0] > floats || range[1] > floats - range[0])
        in.fail(fmt::format("constant '{}' lies outside the constants section", n.name));
      auto begin = reinterpret_cast<const float*>(constants.data()) + range[0];
      n.data = std::make_shared<const std::vector<float>>(begin, begin + range[1]);
    }
    g.nodes.push_back(std::move(n));
  }
  g.inputs = description.at("inputs").get<std::vector<int>>();
  g.outputs = description.at("outputs").get<std::vector<int>>();
  for (auto* list : {&g.inputs, &g.outputs})
    for (int id : *list)
      if (id < 0 || static_cast<size_t>(id) >= g.nodes.size())
        in.fail(fmt::format("the model's inputs or outputs name node {} of {}", id,
                            g.nodes.size()));
  try {
    g.validate();
  } catch (const compile_error& e) {
    in.fail(e.what());
  }
  for (size_t id = 0; id < g.nodes.size(); ++id) {
    auto& n = g.nodes[id];
    if (n.op == "constant" && static_cast<int64_t>(n.data->size()) != g.elements(static_cast<int>(id)))
      in.fail(fmt::format("constant '{}' holds {} values for shape {}", n.name, n.data->size(),
                          n.shape));
  }
  return g;
}

} // namespace

void save_artifact(const graph_executor& compiled, const std::string& path) {
  if (compiled.lowered_functions().size() != compiled.function_count())
    throw compile_error(fmt::format(
        "cannot save '{}': the model was loaded from an artifact (copy its file instead)", path));
  std::string constants;
  auto description = describe(compiled, constants).dump();
  std::string payload;
  put_section(payload, description);
  put_section(payload, constants);
  put_section(payload, object_code(compiled.lowered_functions()));
  std::string file(magic, sizeof(magic));
  put<uint32_t>(file, artifact_version);
  put<uint64_t>(file, fnv1a(payload.data(), payload.size()));
  file += payload;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  out.close();
  if (!out)
    throw compile_error(fmt::format("cannot write the compiled model '{}'", path));
}

std::unique_ptr<graph_executor> load_artifact(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw compile_error(fmt::format("compiled model '{}': cannot open the file", path));
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad())
    throw compile_error(fmt::format("compiled model '{}': cannot read the file", path));
  reader in(bytes, path);
  if (bytes.size() < sizeof(magic) || std::memcmp(bytes.data(), magic, sizeof(magic)) != 0)
    in.fail("not a compiled model (no TRPCMDL magic; write one with `troupe compile`)");
  in.get<std::array<char, sizeof(magic)>>("magic");
  auto version = in.get<uint32_t>("format version");
  if (version != artifact_version)
    in.fail(fmt::format("format version {}, but this build reads version {} (recompile the model)",
                        version, artifact_version));
  auto hash = in.get<uint64_t>("checksum");
  auto text = in.section("graph section");
  auto constants = in.section("constants section");
  auto object = in.section("object code section");
  if (in.left() != 0)
    in.fail(fmt::format("{} bytes of trailing garbage", in.left()));
  if (hash != fnv1a(bytes.data() + header_bytes, bytes.size() - header_bytes))
    in.fail("corrupt: the checksum does not match the contents");
  graph g;
  std::vector<group_signature> functions;
  try {
    auto description = json::parse(text);
    auto target = description.at("target").get<std::string>();
    auto missing = missing_features(target);
    if (!missing.empty())
      in.fail(fmt::format("compiled for '{}'; this CPU lacks {}", target.substr(0, target.rfind(' ')),
                          fmt::join(missing, " ")));
    g = read_graph(description, constants, in);
    for (auto& function : description.at("functions"))
      functions.push_back({function.at("name").get<std::string>(),
                           function.at("args").get<std::vector<int>>()});
  } catch (const json::exception& e) {
    in.fail(std::string("corrupt graph description: ") + e.what());
  }
  try {
    return std::make_unique<graph_executor>(g, std::move(functions), object);
  } catch (const compile_error& e) {
    in.fail(e.what());
  }
}

} // namespace troupe::compiler
