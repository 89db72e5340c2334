// Package lptest decodes the line protocol an agent wrote into plain
// points for tests to filter and compare, including a file still being
// written (its last, unfinished line is left out); it is not the agent's
// line-protocol encoder (agent/internal/lineproto) nor a validator.
package lptest
