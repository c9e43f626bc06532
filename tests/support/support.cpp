// Test support: see support headers.
