// The library missing_dependency links against; deliberately left out of every search path.
extern "C" __attribute__((visibility("default"))) int cagr_test_helper_answer() { return 42; }
