"""The kernel every app shares: error codes and the API's error handler, HTTP helpers, request parsers, guess limits."""
