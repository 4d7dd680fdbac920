# Finds every dependency of Troupe once, and papers over the packaging traps of
# Debian 12 (see README "Dependencies"). Everything here comes from Debian's
# packages; nothing is downloaded at build time.
#
# Defines (besides the packages' own targets):
#   troupe::caf      CAF core + io
#   troupe::torch    libtorch (only link it into the few TUs that need it)
#   troupe::llvm     LLVM 16 core, ORC JIT and the native target
#   TROUPE_HAVE_CUDA / TROUPE_HAVE_NCCL   when a CUDA toolkit with NCCL is found

# libtorch first: its bundled gflags target clashes with the one RocksDB pulls in.
find_package(Torch REQUIRED)
add_library(troupe_torch INTERFACE)
target_link_libraries(troupe_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(troupe_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
add_library(troupe::torch ALIAS troupe_torch)

find_package(CAF REQUIRED COMPONENTS core io)
add_library(troupe_caf INTERFACE)
target_link_libraries(troupe_caf INTERFACE CAF::core CAF::io)
add_library(troupe::caf ALIAS troupe_caf)

# Cap'n Proto's config needs the C language enabled (libatomic probe).
find_package(CapnProto REQUIRED)

find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
find_package(prometheus-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(nlohmann_json REQUIRED)

# RocksDB names zstd::zstd, which Debian's zstd config does not define.
find_package(zstd QUIET)
if(NOT TARGET zstd::zstd)
  add_library(zstd::zstd INTERFACE IMPORTED)
  set_target_properties(zstd::zstd PROPERTIES INTERFACE_LINK_LIBRARIES zstd)
endif()
find_package(RocksDB REQUIRED)

find_package(Gloo REQUIRED)
find_package(ucx REQUIRED)

# ONNX 1.12 (libonnx-dev): the protobuf classes of ONNX models, for the
# compiler's importer. Its targets (onnx_proto) are not namespaced and link
# protobuf::libprotobuf, which CMake's FindProtobuf defines.
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)

# XGBoost's package config names /usr/bin/xgboost (Debian package `xgboost`).
find_package(xgboost REQUIRED)

# LLVM 16: its folder goes first on the module path, else zstd::libzstd_shared
# is missing when LLVMExports is read.
set(TROUPE_LLVM_DIR /usr/lib/llvm-16/lib/cmake/llvm)
list(PREPEND CMAKE_MODULE_PATH ${TROUPE_LLVM_DIR})
find_package(LLVM 16 REQUIRED CONFIG PATHS ${TROUPE_LLVM_DIR} NO_DEFAULT_PATH)
llvm_map_components_to_libnames(TROUPE_LLVM_LIBS core orcjit native passes)
add_library(troupe_llvm INTERFACE)
target_include_directories(troupe_llvm SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})
target_compile_definitions(troupe_llvm INTERFACE ${LLVM_DEFINITIONS})
target_link_libraries(troupe_llvm INTERFACE ${TROUPE_LLVM_LIBS})
add_library(troupe::llvm ALIAS troupe_llvm)

# CUDA and NCCL are optional: used where a toolkit is present (GPU hosts).
include(CheckLanguage)
set(TROUPE_HAVE_CUDA OFF)
set(TROUPE_HAVE_NCCL OFF)
find_package(CUDAToolkit QUIET)
if(CUDAToolkit_FOUND)
  set(TROUPE_HAVE_CUDA ON)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(TROUPE_HAVE_NCCL ON)
    add_library(troupe_nccl INTERFACE)
    target_include_directories(troupe_nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(troupe_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
    add_library(troupe::nccl ALIAS troupe_nccl)
  endif()
endif()

message(STATUS "Troupe dependencies: CAF ${CAF_VERSION}, Cap'n Proto ${CapnProto_VERSION}, "
               "RocksDB ${RocksDB_VERSION}, LLVM ${LLVM_PACKAGE_VERSION}, "
               "XGBoost ${xgboost_VERSION}, Torch ${Torch_VERSION}, "
               "CUDA ${TROUPE_HAVE_CUDA}, NCCL ${TROUPE_HAVE_NCCL}")
