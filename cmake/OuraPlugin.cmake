# oura_add_plugin(<target> KIND endpoint|sink|auth NAME <name> SOURCES <files...> [LIBS <libs...>])
#
# Builds one plugin as a shared library named oura-<kind>-<name>.so, the file name the loader
# looks for. Links the shared SDK library with --no-undefined, hidden visibility, and installs it
# into the plugin directory.
function(oura_add_plugin target)
  cmake_parse_arguments(P "" "KIND;NAME" "SOURCES;LIBS" ${ARGN})
  if(NOT P_KIND OR NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "oura_add_plugin(${target}): KIND, NAME and SOURCES are required")
  endif()
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "oura-${P_KIND}-${P_NAME}"
    LIBRARY_OUTPUT_DIRECTORY "${OURA_PLUGIN_BUILD_DIR}")
  target_link_libraries(${target} PRIVATE oura_sdk ${P_LIBS})
  if(NOT OURA_SANITIZE)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION ${OURA_PLUGIN_INSTALL_DIR})
  # Tests that load every built plugin (contract, end to end) depend on this list.
  set_property(GLOBAL APPEND PROPERTY OURA_PLUGIN_TARGETS ${target})
endfunction()
