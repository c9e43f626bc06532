// A shared library without the oura_plugin_v1 alias.
extern "C" __attribute__((visibility("default"))) int oura_test_not_a_plugin() { return 7; }
