// Keeps botgate_test_support a valid library while it has few sources.
