# BOTGATE_FUZZ=ON: the libFuzzer targets of fuzz/. Everything (the botgate libraries, Asio and
# Beast included) is compiled with coverage instrumentation for the fuzzer and with ASan and
# UBSan; only the fuzz targets link libFuzzer's main (fuzz/CMakeLists.txt).
if(BOTGATE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BOTGATE_FUZZ needs clang (CXX=clang++); libFuzzer is part of clang")
  endif()
  set(BOTGATE_SANITIZE address,undefined)
  # -O1 as OSS-Fuzz builds: several times the executions per second of -O0, asserts kept (Debug).
  add_compile_options(-fsanitize=fuzzer-no-link -O1)
endif()
