// Package e2e tests bill-mcp end to end through real third-party MCP
// clients: the MCP Inspector CLI (`npx @modelcontextprotocol/inspector
// --cli`) and a script on the official TypeScript SDK (agent-day.mjs), both
// against `bill-mcp serve --emulator`, over stdio and streamable HTTP.
//
// The tests are ordinary Go tests, so `go test ./...` runs them. They need
// node on PATH and the locked npm packages installed with
//
//	npm ci --prefix e2e
//
// (.ci/run does this); without them the tests fail and say so.
package e2e
