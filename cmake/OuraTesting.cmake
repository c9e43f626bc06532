# oura_add_test(<name> SOURCES <files...> [LIBS <libs...>])
#
# One GoogleTest executable = one ctest entry. Every test gets in its environment:
#   OURA_BINARY          the built oura-collector program
#   OURA_PLUGIN_DIR      the folder the built plugins land in
#   OURA_TEST_PLUGIN_DIR the folder test-only plugins land in (loader tests)
#   OURA_FAKE_SERVER     the fake Oura API server script (tests/fakes/fake_oura.py)
#   OURA_FIXTURES        tests/fixtures (recorded responses, openapi.json)
#   OURA_SOURCE_DIR      the source tree
function(oura_add_test name)
  if(NOT OURA_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE oura_core oura_test_support GTest::gtest GTest::gtest_main ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES
    TIMEOUT 600
    ENVIRONMENT "OURA_BINARY=$<TARGET_FILE:oura-collector>;OURA_PLUGIN_DIR=${OURA_PLUGIN_BUILD_DIR};OURA_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/test-plugins;OURA_FAKE_SERVER=${PROJECT_SOURCE_DIR}/tests/fakes/fake_oura.py;OURA_FIXTURES=${PROJECT_SOURCE_DIR}/tests/fixtures;OURA_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
