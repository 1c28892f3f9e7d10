"""Helpers shared by the test suites (real loopback servers, never mocks of mcprt)."""
