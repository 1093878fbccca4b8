# Warnings are errors for the project's own code; third-party headers come in as system includes.
add_library(wo_warnings INTERFACE)
target_compile_options(wo_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow=local -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string at -O3 (GCC bug 105651),
  # which broke Release builds (the images); the warning stays off until the compiler is fixed.
  -Wno-restrict)

# wo_add_test(NAME LABEL SOURCES ... LIBS ... [PROPERTIES ...]): one GoogleTest executable whose tests
# ctest runs under LABEL (unit, integration or e2e); PROPERTIES are extra ctest properties for each test
# (e.g. RUN_SERIAL TRUE, TIMEOUT 300, FIXTURES_REQUIRED cluster).
function(wo_add_test name label)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main wo_warnings)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  gtest_discover_tests(${name} PROPERTIES LABELS ${label} ${ARG_PROPERTIES} DISCOVERY_TIMEOUT 30)
endfunction()
