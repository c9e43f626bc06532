# Shell completion for oura-collector, generated at build time by the built program from its
# one table of commands and options (`oura-collector completion bash|zsh`, core/src/cli/help.cpp),
# and installed where Debian's bash-completion and zsh look for them.
set(OURA_COMPLETION_DIR ${CMAKE_BINARY_DIR}/completion)
add_custom_command(
  OUTPUT ${OURA_COMPLETION_DIR}/oura-collector ${OURA_COMPLETION_DIR}/_oura-collector
  COMMAND ${CMAKE_COMMAND} -E make_directory ${OURA_COMPLETION_DIR}
  COMMAND $<TARGET_FILE:oura-collector> completion bash > ${OURA_COMPLETION_DIR}/oura-collector
  COMMAND $<TARGET_FILE:oura-collector> completion zsh > ${OURA_COMPLETION_DIR}/_oura-collector
  DEPENDS oura-collector
  COMMENT "Generating the bash and zsh completion of oura-collector")
# (no VERBATIM: the ">" redirections are the shell's)
add_custom_target(oura-completion ALL
  DEPENDS ${OURA_COMPLETION_DIR}/oura-collector ${OURA_COMPLETION_DIR}/_oura-collector)
install(FILES ${OURA_COMPLETION_DIR}/oura-collector
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT runtime)
install(FILES ${OURA_COMPLETION_DIR}/_oura-collector
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions COMPONENT runtime)
